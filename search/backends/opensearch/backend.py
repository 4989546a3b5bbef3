"""The OpenSearch backend: an index location that is a cluster's URL, searched by the cluster.

``http://127.0.0.1:9200/news`` names an alias, ``news``, on the cluster at
``127.0.0.1:9200`` (several nodes: ``http://host1:9200,host2:9200/news``;
``?shards=N`` sets a new index's primary shards). The alias points at one
physical index, written once by ``fahras index`` or ``fahras rebuild``
(:mod:`.target`) and never changed afterwards, so a :class:`Snapshot` is that
physical index: every call of one search reads the same version, and what a
snapshot learns (statistics, document frequencies, the vocabulary it was
asked about) stays true for its life. The alias is looked up again at most
every :data:`ALIAS_SECONDS`, so a running server serves a new index without
a restart.

The cluster does the sharding, the replication and the gathering of results;
this module plans nothing (the engine does) and scores nothing itself: it
sends the plan as DSL (:mod:`.query`) and reads back the page. Errors become
:class:`~index.store.StoreError` lines: a cluster that does not answer is
:class:`ClusterUnavailable` (``/healthz`` 503, one line on the command line).
``opensearch-py`` is an optional dependency: without it the URL form says what
to install.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import parse_qs, urlsplit

from index.schema import BODY, EXACT, FACETS, TITLE, default_fingerprint
from index.store import IndexDamaged, NoIndex, StoreError
from search import budget
from search.backend import (
    NEWER_WARNING,
    OLDER_WARNING,
    Analysis,
    Health,
    Identity,
    IndexStats,
    Ranked,
    StoredDocument,
    default_analysis,
)
from search.plan import EVERYTHING, PhraseMatch, Plan, Slot
from search.ranking import Ranking
from search.syntax import QueryError

from . import query as dsl
from .fields import NEAR, ORDER, STORED, TEXT, document_id, near_value, total_field

if TYPE_CHECKING:  # search.names reads search.suggest, which reads search.backend
    from search.names import Vocabulary

# How documents are laid out in the cluster (fields.py); a change needs `fahras rebuild`.
# 2: each document's near-duplicate fingerprint (an index of format 1 answers unfolded).
FORMAT = 2
ALIAS_SECONDS = 1.0  # how stale a server's idea of the live index may be
RETRY_SECONDS = 20.0  # how long a search keeps trying while the cluster fails over (a node lost, an election)
TIMEOUT_SECONDS = 30.0
CACHED_FREQUENCIES = 200_000  # document frequencies remembered per snapshot
VOCABULARY_BATCHES = (128, 4096, 65_000)  # terms fetched for a prefix, more each time more are read
VOCABULARY_PAGE = 10_000  # terms per request when the whole vocabulary is read (names across scripts)
INSTALL = "pip install 'fahras[opensearch]'"
FETCHED_TOGETHER = 25  # documents of one ranking fetched in one request when a folded page shows them
CACHED_NEIGHBOURS = 20_000  # ranked ids remembered per snapshot for that
CACHED_DOCUMENT_CHARS = 20_000_000  # stored bodies kept per snapshot (the index never changes)
HELD = "held"  # the aggregation that counts a keyword query's matches by the words they hold

T = TypeVar("T")


class ClusterUnavailable(StoreError):
    """The cluster does not answer, or cannot serve the index now (its shards are lost)."""


class TooManyClauses(StoreError):
    """A query past the cluster's ``indices.query.bool.max_clause_count`` (``limit``)."""

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class ClusterRefused(StoreError):
    """The cluster answered a request with an error that is not the query's fault (``status``: its HTTP status)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------- the location


@dataclass(frozen=True)
class Location:
    """A cluster URL split into what the client needs: the nodes, the alias, a new index's shape."""

    url: str
    hosts: tuple[str, ...]
    alias: str
    shards: int = 1

    @classmethod
    def parse(cls, url: str) -> Location:
        parts = urlsplit(url)
        alias = parts.path.strip("/")
        if not alias or "/" in alias or alias != alias.lower() or alias.startswith(("-", "_", "+", ".")):
            raise StoreError(
                f"{url}: an OpenSearch index location ends with the index's name, in lower case "
                "(e.g. http://127.0.0.1:9200/news)"
            )
        credentials, _, nodes = parts.netloc.rpartition("@")
        prefix = f"{credentials}@" if credentials else ""
        hosts = tuple(f"{parts.scheme}://{prefix}{node}" for node in nodes.split(",") if node)
        options = parse_qs(parts.query)
        try:
            shards = int(options.get("shards", ["1"])[0])
        except ValueError:
            shards = 0
        if shards < 1:
            raise StoreError(f"{url}: shards= takes a whole number of at least 1")
        shown = f"{parts.scheme}://{nodes}/{alias}"  # never the credentials
        return cls(shown, hosts, alias, shards)


def connect(location: Location):
    """An ``OpenSearch`` client for the location's nodes (retries go to the next node)."""
    try:
        from opensearchpy import OpenSearch
    except ImportError:
        raise StoreError(
            f"{location.url} is an OpenSearch cluster, and talking to one needs the opensearch-py client: {INSTALL}"
        ) from None
    return OpenSearch(
        hosts=list(location.hosts),
        timeout=TIMEOUT_SECONDS,
        max_retries=len(location.hosts) + 1,
        retry_on_timeout=True,
        http_compress=False,
    )


class Cluster:
    """One location's client, made in the process that uses it (a server's workers are forked)."""

    def __init__(self, location: Location) -> None:
        self.location = location
        self._client = None
        self._pid = 0
        self._lock = threading.Lock()

    @property
    def client(self):
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                self._client = connect(self.location)
                self._pid = os.getpid()
            return self._client

    def call(self, action: Callable[..., T], *args, retry: bool = False, **kwargs) -> T:
        """``action(client, ...)``, its errors as StoreErrors; ``retry``: keep trying through a failover."""
        client = self.client  # without opensearch-py: the one line that says what to install
        from opensearchpy import exceptions

        deadline = time.monotonic() + (RETRY_SECONDS if retry else 0)
        pause = 0.1
        while True:
            try:
                return action(client, *args, **kwargs)
            except exceptions.ConnectionError as error:  # refused, reset, timed out: every node tried
                failure: StoreError = ClusterUnavailable(
                    f"the OpenSearch cluster at {self.location.url} does not answer ({_reason(error)})"
                )
            except exceptions.TransportError as error:
                failure = self._translated(error)
            if time.monotonic() + pause > deadline or not isinstance(failure, ClusterUnavailable):
                raise failure
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def _translated(self, error) -> StoreError:
        status = error.status_code if isinstance(error.status_code, int) else 0
        reason = _reason(error)
        if "too_many_clauses" in reason or "maxClauseCount" in reason:
            limit = re.search(r"maxClauseCount is set to (\d+)", reason)
            return TooManyClauses(reason, int(limit.group(1)) if limit else 1024)
        if status == 404 and "index_not_found" in reason:
            return NoIndex(
                f"no index at {self.location.url} (create one with: fahras index FOLDER --index URL)"
            )
        if status >= 500 or status == 429:
            return ClusterUnavailable(
                f"the OpenSearch cluster at {self.location.url} cannot answer now: {reason}"
            )
        return ClusterRefused(
            f"the OpenSearch cluster at {self.location.url} refused a request: {reason}", status
        )


def _reason(error) -> str:
    """The one line that says why a request failed (OpenSearch's root cause, or the client's)."""
    info = getattr(error, "info", None)
    if isinstance(info, dict) and isinstance(info.get("error"), dict):
        causes = info["error"].get("root_cause") or [info["error"]]
        cause = causes[0]
        return f"{cause.get('type')}: {cause.get('reason')}"
    text = str(getattr(error, "error", "") or error)
    return " ".join(text.split())[:300]


# --------------------------------------------------------------------------- one index version


class OpenSearchLexicon:
    """What the planner and the suggestions ask of one physical index's vocabulary, remembered."""

    def __init__(self, snapshot: OpenSearchSnapshot) -> None:
        self.snapshot = snapshot
        self._frequencies: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._prefixes: dict[tuple[str, str, int], list[tuple[str, int]]] = {}
        self._lock = threading.Lock()
        self._vocabularies: dict[str, Vocabulary] | None = None
        self._vocabulary_lock = threading.Lock()  # one build per index version, however many threads ask

    def document_frequency(self, field: str, term: str) -> int:
        # The planner asks of a word in the title, then in the body, and its scores need every field:
        # one request asks of them all.
        return self.frequencies([(field, term), *((name, term) for name in TEXT)])[(field, term)]

    def frequencies(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Document frequencies of many (field, term) pairs: the unknown ones in one request."""
        pairs = list(dict.fromkeys(pairs))
        with self._lock:
            known = {pair: self._frequencies.get(pair) for pair in pairs}
        missing = [pair for pair, count in known.items() if count is None]
        if missing:
            filters = {str(i): {"term": {field: term}} for i, (field, term) in enumerate(missing)}
            answer = self.snapshot.search(
                {"size": 0, "track_total_hits": False, "aggs": {"df": {"filters": {"filters": filters}}}}
            )
            buckets = answer["aggregations"]["df"]["buckets"]
            with self._lock:
                for i, pair in enumerate(missing):
                    known[pair] = self._frequencies[pair] = buckets[str(i)]["doc_count"]
                while len(self._frequencies) > CACHED_FREQUENCIES:
                    self._frequencies.popitem(last=False)
        return {pair: int(count or 0) for pair, count in known.items()}

    def expand_prefix(self, field: str, prefix: str) -> Iterator[str]:
        """The field's terms from ``prefix`` on, in order: a terms aggregation, larger batches as more are read."""
        given = 0
        for size in VOCABULARY_BATCHES:
            terms = self._terms(field, prefix, size)
            for term, _count in terms[given:]:
                yield term
            given = len(terms)
            if len(terms) < size:
                return

    def _terms(self, field: str, prefix: str, size: int) -> list[tuple[str, int]]:
        key = (field, prefix, size)
        found = self._prefixes.get(key)
        if found is None:
            include = "".join(char if char.isalnum() else "\\" + char for char in prefix) + ".*"
            aggregation = {
                "terms": {"field": field, "include": include, "size": size, "order": {"_key": "asc"}}
            }
            answer = self.snapshot.search({"size": 0, "track_total_hits": False, "aggs": {"t": aggregation}})
            found = [
                (bucket["key"], bucket["doc_count"]) for bucket in answer["aggregations"]["t"]["buckets"]
            ]
            with self._lock:
                self._prefixes[key] = found
                for term, count in found:  # a term's bucket counts every document holding it: its frequency
                    self._frequencies[(field, term)] = count
        return found

    def most_frequent(self, field: str, limit: int) -> list[tuple[str, int]]:
        """The field's most frequent terms: a terms aggregation (ties as the embedded index breaks them)."""
        if field not in TEXT or limit < 1:
            return []
        aggregation = {
            "terms": {"field": field, "size": limit, "shard_size": max(limit * 4, 1000),
                      "order": [{"_count": "desc"}, {"_key": "desc"}]}
        }  # fmt: skip
        answer = self.snapshot.search({"size": 0, "track_total_hits": False, "aggs": {"t": aggregation}})
        return [(bucket["key"], bucket["doc_count"]) for bucket in answer["aggregations"]["t"]["buckets"]]

    def vocabulary(self, script: str) -> Vocabulary | None:
        """The words of one script of the exact fields, filed by sound (:mod:`search.names`).

        Built once per physical index (a snapshot's life) from every term of the exact
        fields, read in pages of a composite aggregation; a word's frequency is the larger
        of its title's and body's document frequencies, as in the embedded index.
        """
        with self._vocabulary_lock:
            if self._vocabularies is None:
                self._vocabularies = self._built_vocabularies()
        return self._vocabularies.get(script)

    def _built_vocabularies(self) -> dict[str, Vocabulary]:
        from search.names import SCRIPTS, KeyedVocabulary  # here: see the import of Vocabulary above

        fields = [name for name in (TITLE + EXACT, BODY + EXACT) if name in self.snapshot.analysis.fields]
        if not fields:
            return {}
        counted: dict[str, int] = {}
        for name in fields:
            for word, frequency in self._every_term(name):
                if frequency > counted.get(word, 0):
                    counted[word] = frequency
        return {script: KeyedVocabulary.of_script(counted.items(), script) for script in SCRIPTS}

    def _every_term(self, field: str) -> Iterator[tuple[str, int]]:
        """Every term of ``field`` with its document frequency, in pages (not bounded by a query's time)."""
        after = None
        while True:
            source = {"composite": {"size": VOCABULARY_PAGE, "sources": [{"t": {"terms": {"field": field}}}]}}
            if after is not None:
                source["composite"]["after"] = after
            answer = self.snapshot.search(
                {"size": 0, "track_total_hits": False, "aggs": {"v": source}}, budgeted=False
            )
            found = answer["aggregations"]["v"]
            for bucket in found["buckets"]:
                yield bucket["key"]["t"], bucket["doc_count"]
            after = found.get("after_key")
            if after is None or len(found["buckets"]) < VOCABULARY_PAGE:
                return

    def side_by_side(self, field: str, slots: tuple[Slot, ...], limit: int) -> int:
        query = dsl.phrase_query(PhraseMatch(field, slots))
        return min(limit, self.snapshot.count_query(query))

    def stored_text(self, field: str, term: str) -> str | None:
        answer = self.snapshot.search(
            {"size": 1, "query": {"term": {field: term}}, "sort": [{ORDER: "asc"}], "_source": [STORED, "id"]}
        )
        hits = answer["hits"]["hits"]
        if not hits:
            return None
        stored = hits[0]["_source"][STORED]
        return stored["title"] if field.startswith(TITLE) else stored["body"]


class OpenSearchSnapshot:
    """One physical index behind the alias: plans executed there, under the ranking contract."""

    def __init__(self, cluster: Cluster, index: str, analysis: Analysis) -> None:
        self.cluster = cluster
        self.index = index
        self.generation = index
        self.analysis = analysis
        self.lexicon = OpenSearchLexicon(self)
        self._statistics: dsl.Statistics | None = None
        self._stats: IndexStats | None = None
        self._lock = threading.Lock()
        self._documents: OrderedDict[str, StoredDocument] = OrderedDict()  # fetched for pages (see document)
        self._document_chars = 0
        self._neighbours: OrderedDict[str, tuple[str, ...]] = OrderedDict()

    def search(self, body: dict, budgeted: bool = True, **params) -> dict:
        """One search request, once the query's time limit (:mod:`search.budget`) allows it.

        Only the time before the request counts: a request that waits while the cluster fails over (a node
        lost, a new cluster manager elected) is answered when it can be, rather than failed. ``budgeted``
        False: a step of a build that serves every later query (the vocabulary), never cut short.
        """
        if budgeted:
            budget.check()
        # A shard that fails must fail the search (and be retried on its other copy), never drop its hits.
        return self.cluster.call(
            lambda client: client.search(
                index=self.index, body=body, allow_partial_search_results=False, **params
            ),
            retry=True,
        )

    def count_query(self, query: dict) -> int:
        answer = self.search({"size": 0, "track_total_hits": True, "query": query})
        return answer["hits"]["total"]["value"]

    def statistics(self) -> dsl.Statistics:
        """The number of documents and each field's mean length, once per index version."""
        if self._statistics is None:
            sums = {name: {"sum": {"field": total_field(name)}} for name in TEXT}
            answer = self.search({"size": 0, "track_total_hits": True, "aggs": sums})
            documents = answer["hits"]["total"]["value"]
            means = {
                name: answer["aggregations"][name]["value"] / documents if documents else 0.0 for name in TEXT
            }
            self._statistics = dsl.Statistics(documents, means)
        return self._statistics

    def execute(
        self, plan: Plan, ranking: Ranking, sort: str, start: int, size: int, documents: bool = True
    ) -> Ranked:
        """The page ``[start, start + size)`` in the contract's order; without ``documents``, as identities.

        A keyword query (``plan.words``) ranks the documents holding all its words first, then
        those holding one fewer, and so on, each group by score (:func:`search.backends.embedded.scoring.rank`).
        Scores cannot say that (a score is a 32-bit float), so each group is a ``post_filter`` of
        the same scored query: one request gives the aggregations (facets, and how many
        matches hold at least k words, for every k) and the first group's part of the page;
        a page that runs past a group asks the next groups for the rest.
        """
        lexicon = self.lexicon
        frequency = lexicon.frequencies(dsl.needed_frequencies(plan, ranking))
        query = dsl.Scorer(ranking, self.statistics(), frequency).query(plan)
        words = [dsl.match_query(word) for word in plan.words]
        aggregations = dsl.facet_aggregations(FACETS)
        if words:  # "0": every match; "k": the matches holding at least k of the words
            held = {str(k): dsl.holding(words, k) if k else {"match_all": {}} for k in range(len(words) + 1)}
            aggregations[HELD] = {"filters": {"filters": held}}
        grouped = bool(words) and sort != "date"  # by date, the order is the date's alone
        body = {
            "query": query,
            "from": start,
            "size": size,
            "sort": dsl.sort_order(sort),
            "track_scores": True,
            "track_total_hits": True,
            "_source": [STORED, "id", NEAR] if documents else ["id", NEAR],
            "aggs": aggregations,
        }
        if grouped:
            body["post_filter"] = dsl.holding_exactly(words, len(words))
        answer = self._answer(body, plan)
        facets = dsl.facet_counts(answer["aggregations"], FACETS)
        hits = list(answer["hits"]["hits"])
        total, total_all = answer["hits"]["total"]["value"], None
        if words:
            counts = [
                answer["aggregations"][HELD]["buckets"][str(k)]["doc_count"] for k in range(len(words) + 1)
            ]
            total, total_all = counts[0], counts[-1]
        if grouped:
            hits += self._later_groups(body, words, counts, start, size)
        if not documents:
            identities = [
                Identity(_id_of(hit), float(hit["_score"] or 0.0), near_value(hit["_source"].get(NEAR)))
                for hit in hits
            ]
            self._remember_neighbours(identities)
            return Ranked(total, [], facets, total_all, identities)
        return Ranked(total, [(_stored(hit), float(hit["_score"] or 0.0)) for hit in hits], facets, total_all)

    def _later_groups(
        self, body: dict, words: list[dict], counts: list[int], start: int, size: int
    ) -> list[dict]:
        """The rest of a page that runs past the first group of the words rule, from the groups after it."""
        found: list[dict] = []
        end = start + size
        low = counts[-1]  # the groups before this one hold the first `low` places
        for count in range(len(words) - 1, -1, -1):
            high = low + counts[count] - counts[count + 1]
            first, last = max(start, low), min(end, high)
            if first < last:
                request = {key: value for key, value in body.items() if key != "aggs"}
                request.update(
                    {"from": first - low, "size": last - first, "track_total_hits": False,
                     "post_filter": dsl.holding_exactly(words, count)}
                )  # fmt: skip
                found += self._answer(request, None)["hits"]["hits"]
            low = high
            if low >= end:
                break
        return found

    def _answer(self, body: dict, plan: Plan | None) -> dict:
        try:
            return self.search(body)
        except TooManyClauses as error:  # the planner's own bound is higher than this cluster's
            raise QueryError(
                "The query stands for too many words (%(count)s; at most %(most)s):"
                " use fewer prefixes and fuzzy terms, or make them longer.",
                count=f"{len(plan.scoring) if plan else 0:,}",
                most=f"{error.limit:,}",
            ) from None

    def count(self, plan: Plan) -> int:
        return self.count_query(dsl.selection(plan))

    def document(self, doc_id: str) -> StoredDocument | None:
        """A stored document; after a ranking by identities, with the ones ranked beside it in one request.

        A folded page (:meth:`search.engine._Answer._page`) asks for its documents one by one,
        in ranked order: each is fetched with the next :data:`FETCHED_TOGETHER` of the ranking
        it came from, and kept (the index never changes), so a page is one request or a few,
        not one per hit. Like the embedded index's reads of stored fields, not bounded by the
        query's time: the page is decided by then.
        """
        with self._lock:
            found = self._documents.get(doc_id)
            wanted = self._neighbours.get(doc_id, (doc_id,))
        if found is not None:
            return found
        ids = [document_id(one) for one in wanted]
        body = {"size": len(ids), "query": {"ids": {"values": ids}}, "_source": [STORED, "id"]}
        fetched = {
            stored.id: stored for stored in map(_stored, self.search(body, budgeted=False)["hits"]["hits"])
        }
        with self._lock:
            for stored in fetched.values():
                self._documents[stored.id] = stored
                self._document_chars += len(stored.body)
            while self._document_chars > CACHED_DOCUMENT_CHARS and len(self._documents) > 1:
                self._document_chars -= len(self._documents.popitem(last=False)[1].body)
        return fetched.get(doc_id)

    def _remember_neighbours(self, identities: list[Identity]) -> None:
        """Which documents :meth:`document` fetches together: those ranked side by side."""
        ids = [identity.id for identity in identities]
        with self._lock:
            for at in range(0, len(ids), FETCHED_TOGETHER):
                chunk = tuple(ids[at : at + FETCHED_TOGETHER])
                for one in chunk:
                    self._neighbours[one] = chunk
                    self._neighbours.move_to_end(one)
            while len(self._neighbours) > CACHED_NEIGHBOURS:
                self._neighbours.popitem(last=False)

    def stats(self) -> IndexStats:
        if self._stats is None:
            body = {"size": 0, "track_total_hits": True, "aggs": dsl.facet_aggregations(FACETS)}
            answer = self.search(body)
            facets = dsl.facet_counts(answer["aggregations"], FACETS)
            self._stats = IndexStats(answer["hits"]["total"]["value"], *(facets[name] for name in FACETS))
        return self._stats


def _id_of(hit: dict) -> str:
    return hit["_source"].get("id") or ""


def _stored(hit: dict) -> StoredDocument:
    stored = hit["_source"][STORED]
    return StoredDocument(
        id=hit["_source"].get("id") or stored.get("id") or "",
        title=stored.get("title") or "",
        body=stored.get("body") or "",
        lang=stored.get("lang") or "",
        source=stored.get("source") or "",
        date=stored.get("date"),
        url=stored.get("url"),
        path=stored.get("path"),
        origin=stored.get("origin"),
        pages=tuple(stored.get("pages") or ()),
        ocr_pages=tuple(stored.get("ocr_pages") or ()),
    )


# --------------------------------------------------------------------------- the backend


@dataclass
class ClusterCheck:
    """What ``fahras check`` and ``fahras stats`` found of an index on a cluster."""

    error: StoreError | None = None
    warning: str | None = None
    damaged_files: list[str] = field(default_factory=list)
    checked_files: int = 0  # shard copies found serving
    unrecorded_files: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None and self.warning is None

    def summary(self) -> str:
        if self.error is not None:
            return f"unusable: {self.error}"
        if self.warning is not None:
            return f"works, but should be rebuilt: {self.warning}"
        return f"ok: {self.note}"


class OpenSearchBackend:
    """An index on an OpenSearch cluster, named by its URL; safe to share between threads."""

    def __init__(self, url: str) -> None:
        self.where = Location.parse(url)
        self.location = url  # as given: a server's workers reopen it (messages show where.url, no password)
        self.cluster = Cluster(self.where)
        self._snapshots: OrderedDict[str, OpenSearchSnapshot] = OrderedDict()
        self._live: tuple[float, str] | None = None
        self._lock = threading.Lock()
        self._analysis = default_analysis()

    # ------------------------------------------------------------- the live index

    def live_index(self, fresh: bool = False) -> str:
        """The physical index the alias points at (looked up at most every ALIAS_SECONDS)."""
        with self._lock:
            live = self._live
        if live is not None and not fresh and time.monotonic() - live[0] < ALIAS_SECONDS:
            return live[1]
        name = self._resolve()
        with self._lock:
            self._live = (time.monotonic(), name)
        return name

    def _resolve(self) -> str:
        alias = self.where.alias

        def lookup(client) -> dict:
            return client.indices.get_alias(name=alias, ignore_unavailable=True, allow_no_indices=True)

        try:
            found = self.cluster.call(lookup, retry=True)
        except NoIndex:
            found = {}
        except ClusterRefused as error:
            if error.status != 404:  # 404: "alias [name] missing"
                raise
            found = {}
        if not found:
            raise NoIndex(
                f"no index at {self.where.url} yet (create one with: fahras index FOLDER --index {self.where.url})"
            )
        if alias in found:
            raise StoreError(f"{self.where.url}: {alias} is an index Fahras did not make (it makes an alias)")
        return next(iter(found))

    def forget(self) -> None:
        """Look the alias up again at the next search (after this process published a new index)."""
        with self._lock:
            self._live = None

    def meta(self, index: str | None = None) -> dict:
        """What the index records about itself (its build, folders and format): its mapping's ``_meta``."""
        index = index or self.live_index()
        answer = self.cluster.call(lambda client: client.indices.get_mapping(index=index), retry=True)
        return answer[index]["mappings"].get("_meta", {})

    # ------------------------------------------------------------- the Backend protocol

    def snapshot(self, fresh: bool = False) -> OpenSearchSnapshot:
        index = self.live_index(fresh)
        with self._lock:
            found = self._snapshots.get(index)
            if found is None:
                found = self._snapshots[index] = OpenSearchSnapshot(self.cluster, index, self._analysis)
                while len(self._snapshots) > 4:
                    self._snapshots.popitem(last=False)
            return found

    def warm_up(self) -> None:
        self.snapshot().statistics()

    def guard(self) -> None:
        """Nothing to check ahead of a request: a cluster that fails says so on the request itself."""

    def health(self) -> Health:
        return Health(self.snapshot().stats().documents, self.warning())

    def diagnose(self, error: Exception) -> StoreError | None:
        return error if isinstance(error, StoreError) else None

    def warning(self) -> str | None:
        try:
            meta = self.meta()
        except StoreError:
            return None
        recorded = meta.get("format")
        if recorded == FORMAT and meta.get("analysis") == default_fingerprint():
            return None
        return NEWER_WARNING if isinstance(recorded, int) and recorded > FORMAT else OLDER_WARNING

    def target(self):
        from .target import OpenSearchTarget

        return OpenSearchTarget(self)

    def check(self, checksums: bool = False) -> ClusterCheck:
        """The index's shards (all serving?), its build record and, with ``checksums``, its document count."""
        found = ClusterCheck()
        try:
            index = self.live_index(fresh=True)
            meta = self.meta(index)
            health = self.cluster.call(
                lambda client: client.cluster.health(
                    index=index, level="indices", timeout="5s", request_timeout=10
                ),
                retry=True,
            )
        except StoreError as error:
            found.error = error
            return found
        active = health.get("active_shards", 0)
        found.checked_files = active
        if health["status"] == "red":
            found.error = IndexDamaged(
                f"{self.where.url}: {health.get('unassigned_shards', 0)} shard(s) of {index} are not serving "
                "(a node holding their only copy is down): searches would miss documents"
            )
            found.damaged_files.append(str(found.error))
            return found
        found.warning = self.warning()
        found.note = f"{active} shard copies of {index} serving ({health['status']})"
        if checksums:
            counted = self.snapshot().count(EVERYTHING)
            if counted != meta.get("documents"):
                found.error = IndexDamaged(
                    f"{self.where.url}: {index} holds {counted:,} documents where its build recorded "
                    f"{meta.get('documents')!s}"
                )
                found.damaged_files.append(str(found.error))
            else:
                found.note += f", {counted:,} documents as recorded"
        return found

    def describe(self) -> dict:
        try:
            index = self.live_index()
            meta = self.meta(index)
            store = self.cluster.call(
                lambda client: client.indices.stats(index=index, metric="store"), retry=True
            )
            size = store["_all"]["total"]["store"]["size_in_bytes"]
        except StoreError:
            index, meta, size = None, {}, 0
        return {
            "index": self.where.url,
            "physical_index": index,
            "size_bytes": size,
            "last_build": meta.get("built_at"),
            "indexed_from": meta.get("source"),
            "roots": [root["path"] for root in meta.get("roots", [])],
            "format": meta.get("format"),
            "analysis": meta.get("analysis"),
            "leftovers": self.target().leftovers() if index else [],
            "failed": [],
        }
