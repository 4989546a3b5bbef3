"""Where ``fahras index`` and ``fahras rebuild`` write an index on a cluster: all of a run, or none of it.

The location's name is an alias; what it points at is a physical index that
is never written to once published (its ``index.blocks.write`` is set).
Every run writes a new physical index and, only when it has read it back
complete, moves the alias to it in one ``_aliases`` request, which the
cluster applies atomically:

- ``fahras rebuild`` (and the first ``fahras index``) fills an empty index;
- ``fahras index`` clones the live one (``_clone`` hard-links its segments on
  each node, as the embedded index links the files of its live generation)
  and applies the run's additions, replacements and deletions to the clone.
  Sending the changes to the live index in one ``_bulk`` once everything is
  read would not do: a bulk request is not a transaction, and a writer
  killed half-way through it would leave half a run live.

A run killed at any point (``kill -9`` included) leaves the alias on the last
complete index; the unpublished one it leaves is deleted by the next run.
The previous index is kept for searches that have it in hand, older ones are
deleted. What ``fahras index`` must know to work incrementally lives in the
cluster, so any machine can run it: every document carries its id, the file
it was read from and its fingerprint (the embedded index's inventory), and
the index's mapping ``_meta`` records its folders, its build and the format
and analysis it was written with. One writer at a time holds a lease in the
``fahras-locks`` index, renewed while it runs: a writer that dies leaves a
lease that expires (at once when it ran on this machine and its process is
gone).

Documents are analysed here, by Fahras's chains (:mod:`.fields`), in up to
``procs`` forked workers (:class:`index.workers.WorkerPool`: analysis costs
about 380 documents a second per core), and sent in bounded ``_bulk``
batches by a thread, retried when the cluster rejects them for load (429).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from index.documents import Document
from index.indexer import IndexingError, IndexReport, PublishRefused, RebuildNeeded, Recorded
from index.progress import Progress
from index.schema import default_fingerprint
from index.store import NoIndex, StoreError, WriterBusy
from index.workers import WorkerPool
from search.backend import default_analysis

from .backend import FORMAT, ClusterRefused, ClusterUnavailable, OpenSearchBackend
from .fields import INVENTORY_FIELDS, ORDER, Serialiser, document_id, mappings, settings

LOCKS = "fahras-locks"
LEASE_SECONDS = 60.0  # a lease not renewed for this long is free
RENEW_SECONDS = 10.0
BATCH_DOCUMENTS = 250  # documents analysed per task and sent per _bulk request
BATCH_CHARS = 4_000_000  # ... or fewer, when they are long
QUEUED_BATCHES = 4  # analysed batches waiting to be sent (bounds the memory they hold)
BULK_RETRIES = 8  # tries of a batch the cluster rejects for load (429), waiting longer each time
INVENTORY_PAGE = 5000


class OpenSearchTarget:
    """The cluster index of one location, as indexing sees it (:class:`index.indexer.Target`)."""

    def __init__(self, backend: OpenSearchBackend, workers: int | None = None) -> None:
        self.backend = backend
        self.cluster = backend.cluster
        self.alias = backend.where.alias
        self.location = backend.where.url  # in messages: never the credentials
        self.workers = workers  # analysing processes, when a benchmark fixes them (else as the run asks)

    def _call(self, action, **kwargs):
        return self.cluster.call(action, **kwargs)

    # ------------------------------------------------------------- Target

    @contextmanager
    def write_lock(self, timeout: float) -> Iterator[None]:
        lease = Lease(self, timeout)
        with lease:
            self._lease = lease
            try:
                yield
            finally:
                del self._lease

    def exists(self) -> bool:
        try:
            self.backend.live_index(fresh=True)
        except NoIndex:
            return False
        return True

    def refuse_unusable(self) -> None:
        found = self.backend.check()
        RebuildNeeded.unless_usable(found.error, found.warning)

    def recorded(self) -> Recorded:
        meta = self.backend.meta()
        roots = tuple((Path(root["path"]), root["prefix"]) for root in meta.get("roots", []))
        return Recorded(roots, tuple(meta.get("indexed") or ()), meta.get("source"))

    @contextmanager
    def update(self, procs: int, progress: Progress) -> Iterator[_Run]:
        """A run on a clone of the live index, published in its place."""
        live = self.backend.live_index(fresh=True)
        meta = self.backend.meta(live)
        new = self._new_name()
        with self._removed_on_error(new):
            self._call(lambda c: c.indices.put_settings(index=live, body={"index.blocks.write": True}))
            self._call(
                lambda c: c.indices.clone(
                    index=live, target=new, body={"settings": {"index.blocks.write": False}},
                    wait_for_active_shards=1,
                )
            )  # fmt: skip
            self._call(
                lambda c: c.cluster.health(
                    index=new, wait_for_status="yellow", timeout="60s", request_timeout=70
                )
            )
            run = _Run(self, new, progress, self._procs(procs), fresh=False, previous=live)
            run.inventory = self._inventory(new)
            run.next_order = int(meta.get("next_order", 0))
            with run.writer:
                yield run

    @contextmanager
    def rebuild(self, procs: int, progress: Progress, expected_bytes: int) -> Iterator[_Run]:
        """A run into a new, empty index, published in place of the live one (if any)."""
        try:
            live = self.backend.live_index(fresh=True)
        except NoIndex:
            live = None
        new = self._new_name()
        with self._removed_on_error(new):
            body = {"settings": settings(self.backend.where.shards, "0-1"), "mappings": mappings({})}
            self._call(lambda c: c.indices.create(index=new, body=body))
            run = _Run(self, new, progress, self._procs(procs), fresh=True, previous=live)
            with run.writer:
                yield run

    # ------------------------------------------------------------- physical indexes

    def _procs(self, procs: int) -> int:
        return self.workers or procs

    def _new_name(self) -> str:
        """A new physical index's name (leftovers of interrupted runs are removed first)."""
        self._remove_leftovers()
        return f"{self.alias}-gen-{datetime.now(timezone.utc):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"

    def physical(self) -> list[str]:
        """Every physical index this location has made."""
        answer = self._call(
            lambda c: c.indices.get(
                index=f"{self.alias}-gen-*", allow_no_indices=True, expand_wildcards="all"
            )
        )
        return sorted(answer)

    def _kept(self) -> set[str]:
        try:
            live = self.backend.live_index(fresh=True)
        except NoIndex:
            return set()
        previous = self.backend.meta(live).get("previous")
        return {live, previous} if previous else {live}

    def leftovers(self) -> list[str]:
        """Physical indexes of runs that did not finish (removed by the next run)."""
        kept = self._kept()
        return [name for name in self.physical() if name not in kept]

    def _remove_leftovers(self) -> None:
        for name in self.leftovers():
            self._call(lambda c, name=name: c.indices.delete(index=name, ignore_unavailable=True))

    @contextmanager
    def _removed_on_error(self, index: str) -> Iterator[None]:
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):
                self._call(lambda c: c.indices.delete(index=index, ignore_unavailable=True))
            raise

    def _inventory(self, index: str) -> dict[str, tuple[str, str]]:
        """``{id: (origin, fingerprint)}`` of every document of ``index``, read in pages."""
        inventory: dict[str, tuple[str, str]] = {}
        after = None
        while True:
            body = {"size": INVENTORY_PAGE, "sort": [{ORDER: "asc"}], "_source": list(INVENTORY_FIELDS)}
            if after is not None:
                body["search_after"] = after
            hits = self._call(lambda c, body=body: c.search(index=index, body=body), retry=True)["hits"][
                "hits"
            ]
            for hit in hits:
                source = hit["_source"]
                inventory[source["id"]] = (source["origin"], source["fingerprint"])
            if len(hits) < INVENTORY_PAGE:
                return inventory
            after = hits[-1]["sort"]

    def publish(self, run: _Run, recorded: Recorded, report: IndexReport) -> None:
        """Read the new index back, record its build, block its writes and move the alias to it."""
        new = run.index
        self._call(lambda c: c.indices.refresh(index=new))
        counted = self._call(lambda c: c.count(index=new), retry=True)["count"]
        expected = report.added if run.fresh else len(run.inventory) + report.added - report.deleted
        if counted != expected:
            raise PublishRefused(
                f"the new index {new} holds {counted:,} documents where {expected:,} were written: it was not "
                "published and the live index is unchanged"
            )
        meta = {
            "format": FORMAT,
            "analysis": default_fingerprint(),
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "source": recorded.source,
            "indexed": list(recorded.indexed),
            "roots": [{"path": str(folder), "prefix": prefix} for folder, prefix in recorded.roots],
            "documents": counted,
            "next_order": run.next_order,
            "previous": run.previous,
        }
        self._call(lambda c: c.indices.put_mapping(index=new, body={"_meta": meta}))
        self._call(lambda c: c.indices.put_settings(index=new, body={"index.blocks.write": True}))
        self._lease.renew()  # still ours: no other writer took it over meanwhile
        actions = [{"add": {"index": new, "alias": self.alias}}]
        if run.previous:
            actions.insert(0, {"remove": {"index": run.previous, "alias": self.alias}})
        self._call(lambda c: c.indices.update_aliases(body={"actions": actions}))
        self.backend.forget()
        report.total_docs = counted
        with contextlib.suppress(StoreError):  # the old versions go; the one before is kept for searches
            for name in self.physical():
                if name not in {new, run.previous}:
                    self._call(lambda c, name=name: c.indices.delete(index=name, ignore_unavailable=True))


# --------------------------------------------------------------------------- one run


class _Run:
    """One run into a new physical index: its inventory, its writer, and how it ends."""

    def __init__(self, target: OpenSearchTarget, index: str, progress: Progress, procs: int, fresh: bool,
                 previous: str | None) -> None:  # fmt: skip
        self.target = target
        self.index = index
        self.fresh = fresh
        self.previous = previous
        self.inventory: dict[str, tuple[str, str]] = {}
        self.next_order = 0
        self.writer = _Writer(self, progress, procs)

    def take_order(self) -> int:
        """The next document's place in index order (the contract's tie-break)."""
        order = self.next_order
        self.next_order += 1
        return order

    def finish(self, recorded: Recorded, report: IndexReport) -> None:
        """Send what is left, read the index back and publish it; an update without changes publishes nothing."""
        if not self.fresh and not report.changed:
            self.writer.cancel()
            report.total_docs = len(self.inventory)
            self.target._call(lambda c: c.indices.delete(index=self.index, ignore_unavailable=True))
            return
        self.writer.flush()
        self.target.publish(self, recorded, report)


class _Writer:
    """A run's writer: documents analysed (in workers when there are several) and sent in bounded batches."""

    def __init__(self, run: _Run, progress: Progress, procs: int) -> None:
        self.run = run
        self.progress = progress
        self.batch: list[tuple[Document, int]] = []
        self.batch_chars = 0
        self.sender = _Sender(run.target, run.index)
        self.pool = WorkerPool(procs, _analyse_task, on_start=_load_analysis) if procs > 1 else None
        self.serialiser = None if self.pool else Serialiser(default_analysis())
        self.tasks = 0
        self.shown = 0

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if error is not None:
            self.cancel()

    def add(self, document: Document, read_to: int) -> None:
        self.batch.append((document, self.run.take_order()))
        self.batch_chars += len(document.body) + len(document.title)
        if len(self.batch) >= BATCH_DOCUMENTS or self.batch_chars >= BATCH_CHARS:
            self._hand_over()
        self._show()

    def replace(self, document: Document, read_to: int) -> None:
        self.add(document, read_to)  # the same _id: the clone's old version is replaced

    def delete(self, doc_id: str) -> None:
        self.sender.put(json.dumps({"delete": {"_id": document_id(doc_id)}}).encode() + b"\n", 0)

    def _hand_over(self) -> None:
        batch, self.batch, self.batch_chars = self.batch, [], 0
        if not batch:
            return
        if self.pool is None:
            self.sender.put(_lines(self.serialiser, batch), len(batch))
            return
        self.tasks += 1
        finished = self.pool.begin(self.tasks, batch)
        self.pool.end(self.tasks)  # the batch is the whole task: no parts follow
        for _key, (lines, count) in finished:
            self.sender.put(lines, count)

    def _show(self) -> None:
        done = self.sender.acknowledged
        if done > self.shown:
            self.progress.advance(done - self.shown)
            self.shown = done

    def flush(self) -> None:
        """Everything analysed and acknowledged by the cluster (raises the first failure)."""
        self._hand_over()
        if self.pool is not None:
            for _key, (lines, count) in self.pool.drain():
                self.sender.put(lines, count)
            self.pool.close()
        self.sender.close()
        self._show()

    def cancel(self) -> None:
        if self.pool is not None:
            self.pool.close(kill=True)
        self.sender.abandon()


def _load_analysis() -> None:
    """In a worker: the chains, loaded once before its first task."""
    global _SERIALISER
    _SERIALISER = Serialiser(default_analysis())


_SERIALISER: Serialiser | None = None


def _analyse_task(task: list[tuple[Document, int]], _parts, _counters) -> tuple[bytes, int]:
    """In a worker: one batch analysed into the lines of a ``_bulk`` request."""
    return _lines(_SERIALISER, task), len(task)


def _lines(serialiser: Serialiser, batch: list[tuple[Document, int]]) -> bytes:
    out = []
    for document, order in batch:
        out.append(json.dumps({"index": {"_id": document_id(document.id)}}))
        out.append(json.dumps(serialiser.source(document, order), ensure_ascii=False))
    return ("\n".join(out) + "\n").encode("utf-8", "surrogatepass")


class _Sender:
    """A thread sending ``_bulk`` requests, one batch at a time, so that analysis goes on meanwhile."""

    def __init__(self, target: OpenSearchTarget, index: str) -> None:
        self.target = target
        self.index = index
        self.queue: queue.Queue = queue.Queue(QUEUED_BATCHES)
        self.acknowledged = 0  # documents the cluster has taken
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="fahras-bulk", daemon=True)
        self.thread.start()

    def put(self, lines: bytes, documents: int) -> None:
        self._raise()
        while True:
            try:
                self.queue.put((lines, documents), timeout=0.5)
                return
            except queue.Full:
                self._raise()

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        self._raise()

    def abandon(self) -> None:
        self.failure = self.failure or IndexingError("abandoned")
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(None)

    def _raise(self) -> None:
        if self.failure is not None:
            raise self.failure

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None or self.failure is not None:
                return
            try:
                self._send(*item)
            except BaseException as error:
                self.failure = error
                return

    def _send(self, lines: bytes, documents: int) -> None:
        """One batch, its rejected items sent again (with growing pauses) until the cluster takes them all."""
        pending = lines.splitlines(keepends=True)
        for attempt in range(BULK_RETRIES):
            body = b"".join(pending)
            try:
                answer = self.target._call(lambda c, body=body: c.bulk(body=body, index=self.index))
            except ClusterUnavailable:
                if attempt == BULK_RETRIES - 1:
                    raise
                time.sleep(min(2**attempt * 0.5, 15))
                continue
            retry = []
            for index, item in enumerate(answer["items"]):
                (result,) = item.values()
                if result["status"] == 429:
                    retry.extend(
                        pending[2 * index : 2 * index + 2] if "index" in item else [pending[2 * index]]
                    )
                elif result["status"] >= 300 and not ("delete" in item and result["status"] == 404):
                    reason = result.get("error", {})
                    raise IndexingError(
                        f"the cluster refused a document ({reason.get('type')}: {reason.get('reason')}); "
                        "the index is unchanged"
                    )
            if not retry:
                self.acknowledged += documents
                return
            pending = retry
            time.sleep(min(2**attempt * 0.5, 15))
        raise IndexingError(
            f"the cluster kept rejecting documents for load after {BULK_RETRIES} tries; the index is unchanged"
        )


# --------------------------------------------------------------------------- one writer at a time


class Lease:
    """The writers' lock of one location: a document in ``fahras-locks``, renewed while held.

    Taking it is a create (it fails if the document exists); a holder's
    renewals and its release are conditional on the version it wrote, so a
    writer whose lease was taken over (it stopped renewing for a minute)
    notices before it publishes.
    """

    def __init__(self, target: OpenSearchTarget, timeout: float) -> None:
        self.target = target
        self.timeout = timeout
        self.version: tuple[int, int] | None = None  # (seq_no, primary_term) of our last write
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._writing = threading.Lock()  # the renewing thread and the publishing one

    def _holder(self) -> dict:
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "expires": time.time() + LEASE_SECONDS,
            "token": secrets.token_hex(8),
        }

    def __enter__(self) -> Lease:
        call, alias = self.target._call, self.target.alias
        with contextlib.suppress(StoreError):  # already there (or being made by another writer)
            body = {"settings": {"number_of_shards": 1, "auto_expand_replicas": "0-all"}}
            call(lambda c: c.indices.create(index=LOCKS, body=body))
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                written = call(lambda c: c.create(index=LOCKS, id=alias, body=self._holder(), refresh=True))
                break
            except ClusterRefused as error:
                if error.status != 409:  # 409: the document exists, another writer holds (or held) it
                    raise
            held = call(lambda c: c.get(index=LOCKS, id=alias), retry=True)
            if _stale(held["_source"]):
                try:
                    written = call(
                        lambda c, held=held: c.index(
                            index=LOCKS, id=alias, body=self._holder(), if_seq_no=held["_seq_no"],
                            if_primary_term=held["_primary_term"], refresh=True,
                        )
                    )  # fmt: skip
                    break
                except StoreError:
                    continue  # another writer took it over first
            if time.monotonic() >= deadline:
                holder = held["_source"]
                raise WriterBusy(
                    f"another fahras index/rebuild (pid {holder.get('pid')} on {holder.get('host')}) is writing "
                    f"to {self.target.location}; gave up after waiting {self.timeout:g} s"
                )
            time.sleep(0.5)
        self.version = (written["_seq_no"], written["_primary_term"])
        self._thread = threading.Thread(target=self._keep, name="fahras-lease", daemon=True)
        self._thread.start()
        return self

    def renew(self) -> None:
        """Write the lease again, on condition that it is still ours (raises if it was taken over)."""
        with self._writing:
            self._renew()

    def _renew(self) -> None:
        if self.lost or self.version is None:
            raise IndexingError(
                f"the write lock on {self.target.location} was taken over; the index is unchanged"
            )
        seq_no, term = self.version
        try:
            written = self.target._call(
                lambda c: c.index(
                    index=LOCKS,
                    id=self.target.alias,
                    body=self._holder(),
                    if_seq_no=seq_no,
                    if_primary_term=term,
                )
            )
        except StoreError as error:
            self.lost = True
            raise IndexingError(
                f"the write lock on {self.target.location} was lost ({error}); the index is unchanged"
            ) from error
        self.version = (written["_seq_no"], written["_primary_term"])

    def _keep(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            with contextlib.suppress(IndexingError):
                self.renew()

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.version is not None and not self.lost:
            seq_no, term = self.version
            with contextlib.suppress(StoreError):
                self.target._call(
                    lambda c: c.delete(
                        index=LOCKS,
                        id=self.target.alias,
                        if_seq_no=seq_no,
                        if_primary_term=term,
                        refresh=True,
                    )
                )


def _stale(holder: dict) -> bool:
    """A lease that expired, or whose holder ran on this machine and is gone."""
    if holder.get("expires", 0) < time.time():
        return True
    if holder.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(holder.get("pid", 0)), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False
