"""A local OpenSearch cluster for Fahras's OpenSearch backend: node JVMs assembled from Maven Central jars.

No OpenSearch distribution can be downloaded on Fahras's machines (nor a container run), but Maven Central
serves the server jar and the two plugins Fahras needs, and node/ holds a small Java launcher that embeds a
real node from them. This module builds that launcher once (the jars are cached and reused; a change to
node/ rebuilds it), starts N node JVMs on 127.0.0.1, records them in a JSON state file, and stops them.

Each node runs in its own session, so a ^C in the shell that started it (or in a test run) does not reach
it; only ``stop`` does, by recorded PID, after checking through /proc that the PID is still one of our node
JVMs, so a PID recycled by another program is never signalled. Linux only, for that reason.

Folders: the jars live in ``cluster_home()/lib`` (``$FAHRAS_CLUSTER_HOME``, else
``$XDG_DATA_HOME/fahras/cluster``), shared by every cluster of this account; a cluster's nodes (config,
data, logs) and its state file live in its own home, the same folder unless another is given.

Only the standard library is used, HTTP included, so this works without the optional opensearch-py client.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

NODE_PROJECT = Path(__file__).resolve().parent / "node"
MAIN_CLASS = "fahras.node.EmbeddedNode"
LAUNCHER_JAR = "fahras-node.jar"  # <finalName> in node/pom.xml
CLUSTER_NAME = "fahras"
STATE_FILE = "cluster.json"
LAYOUT_FILE = "layout.json"  # in nodes/: how many nodes the data there belongs to
START_TIMEOUT = 180.0  # three JVMs starting at once on two cores take about half a minute
STOP_GRACE = 40.0  # the launcher gives the node 30 s to close its shards
# A node that runs out of heap is dead weight: it exits, and the next start or status says so.
JVM_OPTIONS = ("-XX:+ExitOnOutOfMemoryError", "-Dfile.encoding=UTF-8", "-Djava.awt.headless=true")
# Maven's words when it could not reach the repository at all (as opposed to a jar that is not there).
_UNREACHABLE = re.compile(
    r"Could not transfer|UnknownHostException|Connection refused|Connect timed out|"
    r"Network is unreachable|No route to host|Temporary failure in name resolution"
)

Progress = Callable[[str], None]

# Nodes started by this Python process: reaped as soon as they end, since a zombie would keep its PID.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class ClusterError(Exception):
    """Something the user can fix or must know (a port taken, a node that died): one line, no traceback."""


class ToolMissing(ClusterError):
    """``java`` or ``mvn`` is not installed, so the cluster cannot be built or run on this machine."""


class CentralUnreachable(ClusterError):
    """Maven could not download the jars: no way to Maven Central, and nothing cached."""


@dataclass(frozen=True)
class NodeInfo:
    """One node JVM: its name, PID (0 before it is started), ports and ``path.home``."""

    name: str
    pid: int
    http_port: int
    transport_port: int
    folder: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log(self) -> Path:
        return self.folder / "node.log"


@dataclass(frozen=True)
class ClusterInfo:
    """What the state file records: the cluster's home, heap per node, and its nodes."""

    home: Path
    heap_mb: int
    nodes: tuple[NodeInfo, ...]

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def node(self, name: str) -> NodeInfo:
        for node in self.nodes:
            if node.name == name:
                return node
        raise ClusterError(f"no node named {name} in the cluster at {self.home}")


@dataclass(frozen=True)
class ClusterStatus:
    """A recorded cluster (None when there is none), which of its nodes run, and its health if one answers."""

    info: ClusterInfo | None
    running: tuple[str, ...]
    health: dict | None


def cluster_home(home: str | Path | None = None) -> Path:
    """``home``, else ``$FAHRAS_CLUSTER_HOME``, else ``$XDG_DATA_HOME/fahras/cluster`` (~/.local/share)."""
    if home:
        return Path(home).expanduser().resolve()
    if os.environ.get("FAHRAS_CLUSTER_HOME"):
        return Path(os.environ["FAHRAS_CLUSTER_HOME"]).expanduser().resolve()
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data).expanduser().resolve() / "fahras" / "cluster"


# Building -----------------------------------------------------------------------------------------------

# (what the user is told, Maven's goals): copying the dependencies is what downloads them the first time.
_BUILD_PHASES = (
    ("fetching the OpenSearch jars (from Maven Central the first time, about 45 MB)",
     ["dependency:copy-dependencies", "-DincludeScope=runtime"]),
    ("compiling the node launcher", ["package", "-Dmaven.test.skip=true"]),
)  # fmt: skip


def build_node(progress: Progress = print, *, cache: str | Path | None = None) -> Path:
    """The folder of jars a node runs from (``java -cp 'LIB/*'``), built by Maven when node/ changed.

    The build is keyed by a hash of node/'s files, kept beside the jars, so an upgrade of Fahras that changes
    the launcher or the OpenSearch version rebuilds it, and nothing else does. Maven writes only under the
    cache folder (the package folder may be read-only); the new jars replace the old ones in one rename.
    """
    cache = cluster_home(cache)
    lib, want = cache / "lib", _source_hash()
    cache.mkdir(parents=True, exist_ok=True)
    with _locked(cache / ".build.lock"):  # two starts at once build once
        if _read_text(lib / "SOURCE-SHA256") == want:
            return lib
        _require("mvn", "to build the OpenSearch node")
        started, fresh = time.monotonic(), cache / "lib.new"
        shutil.rmtree(fresh, ignore_errors=True)
        (cache / "build.log").write_text("")  # the last build's output only
        for step, (phase, goals) in enumerate(_BUILD_PHASES, 1):
            progress(f"[{step}/{len(_BUILD_PHASES)}] {phase}")
            _maven(goals, cache, fresh, phase)
        shutil.copy2(cache / "build" / LAUNCHER_JAR, fresh / LAUNCHER_JAR)
        (fresh / "SOURCE-SHA256").write_text(want)
        shutil.rmtree(lib, ignore_errors=True)
        fresh.rename(lib)
        progress(f"built the OpenSearch node in {time.monotonic() - started:.0f} s: {lib}")
    return lib


def _source_hash() -> str:
    pom = NODE_PROJECT / "pom.xml"
    if not pom.is_file():
        raise ClusterError(f"the OpenSearch node's sources are missing from this install: {pom}")
    digest = hashlib.sha256()
    for path in sorted(path for path in NODE_PROJECT.rglob("*") if path.is_file()):
        digest.update(path.relative_to(NODE_PROJECT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _maven(goals: list[str], cache: Path, lib: Path, phase: str) -> None:
    """One Maven run, its output appended to cache/build.log; a failure says why in one line."""
    log = cache / "build.log"
    command = [
        "mvn", "-B", "--no-transfer-progress", "-f", str(NODE_PROJECT / "pom.xml"),
        f"-DbuildDirectory={cache / 'build'}", f"-DoutputDirectory={lib}", *goals,
    ]  # fmt: skip
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=cache
        )
    if done.returncode == 0:
        return
    lines = log.read_text(encoding="utf-8").splitlines()  # this build's only: build_node empties it
    unreachable = [line for line in lines if _UNREACHABLE.search(line)]
    if unreachable:  # often only a warning, before an error that does not say why
        reason = unreachable[0].removeprefix("[WARNING]").removeprefix("[ERROR]").strip()
        raise CentralUnreachable(
            f"Maven could not reach Maven Central, and the jars are not cached: {reason} (log: {log})"
        )
    errors = [line.removeprefix("[ERROR]").strip() for line in lines if line.startswith("[ERROR]")]
    reason = errors[0] if errors else f"exit status {done.returncode}"
    raise ClusterError(f"Maven failed while {phase}: {reason} (log: {log})")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# Starting -----------------------------------------------------------------------------------------------


def start_cluster(
    nodes: int = 1,
    *,
    home: str | Path | None = None,
    heap_mb: int = 512,
    http_port: int = 9200,
    transport_port: int = 9300,
    timeout: float = START_TIMEOUT,
    progress: Progress | None = None,
) -> ClusterInfo:
    """Start ``nodes`` node JVMs (node i on ports ``http_port + i`` and ``transport_port + i``) and wait.

    Returns once every node answers ``_cluster/health`` as green with all nodes joined (yellow for one
    node, whose replicas can never be assigned). All or nothing: if a node dies or the wait times out,
    the nodes started are stopped again and a ClusterError says which node and why.
    """
    say = progress or (lambda _message: None)
    home = cluster_home(home)
    _check_can_start(home, nodes, http_port, transport_port)
    lib = build_node(say)
    planned = _plan(home, nodes, http_port, transport_port)
    for node in planned:
        _write_config(node, planned)
    (home / "nodes" / LAYOUT_FILE).write_text(json.dumps({"nodes": nodes}))
    say(f"starting {nodes} node{'s' if nodes > 1 else ''} ({heap_mb} MB heap each) in {home}")
    started: list[NodeInfo] = []
    try:
        for node in planned:
            started.append(replace(node, pid=_spawn(node, lib, heap_mb)))
        info = ClusterInfo(home, heap_mb, tuple(started))
        _save_state(info)  # before the wait: a `stop` from another shell finds the nodes
        _wait_healthy(info, timeout)
    except BaseException:  # ^C too: no half-started cluster is left behind
        _stop_nodes(started)
        (home / STATE_FILE).unlink(missing_ok=True)
        raise
    return info


def restart_node(name: str, *, home: str | Path | None = None, timeout: float = START_TIMEOUT) -> ClusterInfo:
    """Start again one recorded node that is not running (it rejoins with its data), and wait for health."""
    info = _load_state(cluster_home(home))
    if info is None:
        raise ClusterError(f"no cluster is recorded in {cluster_home(home)}")
    node = info.node(name)
    if _is_our_node(node):
        raise ClusterError(f"node {name} is already running (pid {node.pid})")
    restarted = replace(node, pid=_spawn(node, build_node(lambda _message: None), info.heap_mb))
    info = replace(info, nodes=tuple(restarted if other.name == name else other for other in info.nodes))
    _save_state(info)
    _wait_healthy(info, timeout)
    return info


def _check_can_start(home: Path, nodes: int, http_port: int, transport_port: int) -> None:
    """Refuse what could only fail later and more obscurely: a live cluster, taken or clashing ports."""
    if not Path("/proc/self/cmdline").exists():
        raise ClusterError("fahras cluster needs Linux: it tells its node processes apart through /proc")
    if nodes < 1:
        raise ClusterError(f"a cluster needs at least one node, not {nodes}")
    recorded = _load_state(home)
    if recorded is not None and any(_is_our_node(node) for node in recorded.nodes):
        raise ClusterError(f"a cluster is already running in {home} ({recorded.urls[0]}): stop it first")
    _check_layout(home, nodes)
    http, transport = range(http_port, http_port + nodes), range(transport_port, transport_port + nodes)
    if max(http[-1], transport[-1]) > 65535:
        raise ClusterError(f"ports {_span(http)} and {_span(transport)} go past 65535, the last port")
    if set(http) & set(transport):
        raise ClusterError(
            f"HTTP ports {_span(http)} and transport ports {_span(transport)} must not overlap"
        )
    taken = [port for port in (*http, *transport) if not port_free(port)]
    if taken:
        raise ClusterError(
            f"port {taken[0]} on 127.0.0.1 is in use: choose other ports (--port, --transport-port)"
        )
    _require("java", "to run the OpenSearch node")


def _check_layout(home: Path, nodes: int) -> None:
    """Data written by a cluster of another size cannot form this one (its voting configuration differs)."""
    layout = home / "nodes" / LAYOUT_FILE
    recorded = json.loads(_read_text(layout) or "null")
    if recorded is not None and recorded["nodes"] != nodes:
        raise ClusterError(
            f"{home} holds the data of a {recorded['nodes']}-node cluster: start it with "
            f"{recorded['nodes']} node(s), or delete {home / 'nodes'} to start afresh"
        )


def _plan(home: Path, nodes: int, http_port: int, transport_port: int) -> list[NodeInfo]:
    return [
        NodeInfo(
            f"{CLUSTER_NAME}-{i + 1}",
            0,
            http_port + i,
            transport_port + i,
            home / "nodes" / f"{CLUSTER_NAME}-{i + 1}",
        )
        for i in range(nodes)
    ]


def _write_config(node: NodeInfo, peers: Sequence[NodeInfo]) -> None:
    """HOME/config/opensearch.yml, which the launcher reads: ports pinned, so a clash fails instead of drifting."""
    settings: dict[str, object] = {
        "cluster.name": CLUSTER_NAME,
        "node.name": node.name,
        "network.host": "127.0.0.1",
        "http.port": node.http_port,
        "transport.port": node.transport_port,
        "path.data": str(node.folder / "data"),
        "path.logs": str(node.folder / "logs"),
        "bootstrap.memory_lock": False,
        # A developer's nearly full disk must not leave replicas unassigned and the cluster yellow.
        "cluster.routing.allocation.disk.threshold_enabled": False,
    }
    if len(peers) == 1:
        settings["discovery.type"] = "single-node"
    else:
        settings["discovery.seed_hosts"] = [f"127.0.0.1:{peer.transport_port}" for peer in peers]
        settings["cluster.initial_cluster_manager_nodes"] = [peer.name for peer in peers]
    config = node.folder / "config"
    config.mkdir(parents=True, exist_ok=True)
    # JSON values are valid YAML, and quote whatever a path may hold.
    (config / "opensearch.yml").write_text(
        "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items())
    )


def _spawn(node: NodeInfo, lib: Path, heap_mb: int) -> int:
    """The node's JVM in a session of its own (no ^C reaches it), logging to node.log; returns its PID."""
    command = [
        "java",
        f"-Xms{heap_mb}m",
        f"-Xmx{heap_mb}m",
        *JVM_OPTIONS,
        "-cp",
        f"{lib}/*",
        MAIN_CLASS,
        str(node.folder),
    ]
    with node.log.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=node.folder,
            start_new_session=True,
        )
    _CHILDREN[process.pid] = process
    return process.pid


def _wait_healthy(info: ClusterInfo, timeout: float) -> None:
    """Until every node says the cluster has all its nodes and is green (yellow for one node)."""
    want = "yellow" if len(info.nodes) == 1 else "green"
    query = f"/_cluster/health?wait_for_status={want}&wait_for_nodes={len(info.nodes)}&timeout=1s"
    deadline, waiting = time.monotonic() + timeout, list(info.nodes)
    while waiting:
        for node in info.nodes:
            if not _is_our_node(node):
                raise ClusterError(
                    f"node {node.name} exited during start: {_last_words(node.log)} (log: {node.log})"
                )
        waiting = [node for node in waiting if _health(node.url + query) is None]
        if waiting and time.monotonic() > deadline:
            raise ClusterError(
                f"node {waiting[0].name} was not {want} within {timeout:.0f} s (log: {waiting[0].log})"
            )
        if waiting:
            time.sleep(0.5)


def _last_words(log: Path) -> str:
    """What the log says last: the JVM's uncaught exception if any, else its last line but stack frames."""
    lines = [line.strip() for line in _read_text(log).splitlines() if line.strip()]
    uncaught = [line for line in lines if line.startswith("Exception in thread")]
    telling = uncaught or [line for line in lines if not line.startswith(("at ", "...", "Suppressed:"))]
    return telling[-1][:400] if telling else "its log is empty"


# Status and stopping ------------------------------------------------------------------------------------


def cluster_status(home: str | Path | None = None) -> ClusterStatus:
    """The recorded cluster, which nodes run, and ``_cluster/health`` from the first node that answers."""
    info = _load_state(cluster_home(home))
    if info is None:
        return ClusterStatus(None, (), None)
    running = tuple(node.name for node in info.nodes if _is_our_node(node))
    health = next(
        (h for h in (_health(info.node(name).url + "/_cluster/health") for name in running) if h), None
    )
    return ClusterStatus(info, running, health)


def stop_cluster(home: str | Path | None = None, *, grace: float = STOP_GRACE) -> ClusterInfo | None:
    """Stop every recorded node (SIGTERM, then SIGKILL past ``grace`` s); the cluster stopped, or None."""
    home = cluster_home(home)
    info = _load_state(home)
    if info is None:
        return None
    _stop_nodes(info.nodes, grace)
    (home / STATE_FILE).unlink()
    return info


def _stop_nodes(nodes: Iterable[NodeInfo], grace: float = STOP_GRACE) -> None:
    live = list(nodes)
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        for node in live:
            _signal(node, signum)
        live = _wait_gone(live, wait)
    if live:
        raise ClusterError(f"node {live[0].name} (pid {live[0].pid}) survived SIGKILL")


def _signal(node: NodeInfo, signum: int) -> None:
    """Signal the node's JVM if the PID is still it: the pidfd pins the process that was checked."""
    try:
        pidfd = os.pidfd_open(node.pid)
    except ProcessLookupError:
        return
    try:
        if _is_our_node(node):
            signal.pidfd_send_signal(pidfd, signum)
    except ProcessLookupError:  # it ended between the check and the signal
        pass
    finally:
        os.close(pidfd)


def _wait_gone(nodes: list[NodeInfo], seconds: float) -> list[NodeInfo]:
    deadline = time.monotonic() + seconds
    while nodes and time.monotonic() < deadline:
        time.sleep(0.1)
        nodes = [node for node in nodes if _is_our_node(node)]
    return nodes


def _is_our_node(node: NodeInfo) -> bool:
    """Whether node.pid is, right now, our launcher running that node's folder (not a recycled PID)."""
    child = _CHILDREN.get(node.pid)
    if child is not None:  # our own child: its PID cannot be reused before we reap it, as poll() does
        if child.poll() is None:
            return True  # (its /proc cmdline is briefly empty while it execs)
        del _CHILDREN[node.pid]
        return False
    try:
        argv = Path(f"/proc/{node.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return MAIN_CLASS.encode() in argv and str(node.folder).encode() in argv


def node_rss_mb(node: NodeInfo) -> int | None:
    """The node's resident memory in MB (from /proc), or None when it does not run."""
    if not _is_our_node(node):
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", _read_text(Path(f"/proc/{node.pid}/status")), re.MULTILINE)
    return int(match.group(1)) // 1024 if match else None


# State, ports and HTTP ----------------------------------------------------------------------------------


def _save_state(info: ClusterInfo) -> None:
    nodes = [
        {
            "name": n.name,
            "pid": n.pid,
            "http_port": n.http_port,
            "transport_port": n.transport_port,
            "folder": str(n.folder),
        }
        for n in info.nodes
    ]
    path = info.home / STATE_FILE
    path.with_suffix(".tmp").write_text(json.dumps({"heap_mb": info.heap_mb, "nodes": nodes}, indent=2))
    path.with_suffix(".tmp").replace(path)  # a reader never sees half a file


def _load_state(home: Path) -> ClusterInfo | None:
    text = _read_text(home / STATE_FILE)
    if not text:
        return None
    try:
        state = json.loads(text)
        nodes = tuple(NodeInfo(**{**node, "folder": Path(node["folder"])}) for node in state["nodes"])
        return ClusterInfo(home, state["heap_mb"], nodes)
    except (ValueError, KeyError, TypeError) as error:
        raise ClusterError(
            f"{home / STATE_FILE} is damaged ({error}): stop the nodes by hand and delete it"
        ) from None


def port_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:port now (SO_REUSEADDR, as OpenSearch binds)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _health(url: str) -> dict | None:
    """The JSON of a health request, or None when the node does not answer it with 200 (yet)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)
    except (OSError, ValueError):  # refused, reset, 408 on a wait that timed out, a node still starting
        return None


def _require(tool: str, purpose: str) -> None:
    if shutil.which(tool) is None:
        raise ToolMissing(f"`{tool}` is not installed; it is needed {purpose} (Java 17 and Maven 3.8)")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _span(ports: range) -> str:
    return f"{ports[0]}-{ports[-1]}" if len(ports) > 1 else str(ports[0])


# The command line ---------------------------------------------------------------------------------------


def add_cluster_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``fahras cluster start|status|stop``, added to the ``fahras`` command's subparsers."""
    text = "a local OpenSearch cluster for the OpenSearch backend (node JVMs built from Maven Central jars)"
    parser = subparsers.add_parser("cluster", help=text, description=text)
    parser.set_defaults(func=cmd_cluster)
    actions = parser.add_subparsers(dest="cluster_action", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", metavar="DIR", default=None,
                        help=f"the cluster's folder: nodes, logs, state (default: $FAHRAS_CLUSTER_HOME or {cluster_home()})")  # fmt: skip
    start = actions.add_parser(
        "start", parents=[common], help="build the node if needed, start the nodes, wait until healthy"
    )
    start.add_argument("--nodes", type=_positive, default=1, metavar="N", help="number of nodes (default 1)")
    start.add_argument(
        "--heap", type=_positive, default=512, metavar="MB", help="heap per node in MB (default 512)"
    )
    start.add_argument("--port", type=_positive, default=9200, metavar="P", help="HTTP port of the first node; node i uses P+i-1 (default 9200)")  # fmt: skip
    start.add_argument("--transport-port", type=_positive, default=9300, metavar="P", help="transport port of the first node (default 9300)")  # fmt: skip
    start.add_argument("--timeout", type=float, default=START_TIMEOUT, metavar="SECONDS", help=f"how long to wait for health (default {START_TIMEOUT:.0f})")  # fmt: skip
    actions.add_parser(
        "status", parents=[common], help="the recorded nodes, which run, and the cluster's health"
    )
    actions.add_parser(
        "stop", parents=[common], help="stop every node of the cluster (SIGTERM, then SIGKILL)"
    )
    return parser


def cmd_cluster(args: argparse.Namespace) -> int:
    """Run ``fahras cluster ACTION``: 0 on success, 1 when status finds nodes down, 2 on a ClusterError."""
    try:
        return {"start": _cmd_start, "status": _cmd_status, "stop": _cmd_stop}[args.cluster_action](args)
    except ClusterError as error:
        print(f"fahras cluster {args.cluster_action}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        left = "; the nodes it had started were stopped" if args.cluster_action == "start" else ""
        print(f"fahras cluster {args.cluster_action}: interrupted{left}", file=sys.stderr)
        return 130


def _cmd_start(args: argparse.Namespace) -> int:
    started = time.monotonic()
    info = start_cluster(
        args.nodes, home=args.home, heap_mb=args.heap, http_port=args.port, transport_port=args.transport_port,
        timeout=args.timeout, progress=lambda message: print(message, file=sys.stderr, flush=True),
    )  # fmt: skip
    print(f"cluster {CLUSTER_NAME} is up in {time.monotonic() - started:.1f} s: {' '.join(info.urls)}")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    status = cluster_status(args.home)
    if status.info is None:
        print(f"no cluster is recorded in {cluster_home(args.home)}")
        return 1
    health = status.health["status"] if status.health else "not answering"
    print(
        f"cluster {CLUSTER_NAME} in {status.info.home}: {health}, {len(status.running)} of {len(status.info.nodes)} nodes running"
    )
    for node in status.info.nodes:
        rss = node_rss_mb(node)
        state = f"pid {node.pid}, RSS {rss} MB" if rss is not None else f"not running (log: {node.log})"
        print(f"  {node.name}  {node.url}  transport 127.0.0.1:{node.transport_port}  {state}")
    return 0 if len(status.running) == len(status.info.nodes) else 1


def _cmd_stop(args: argparse.Namespace) -> int:
    info = stop_cluster(args.home)
    if info is None:
        print(f"no cluster is recorded in {cluster_home(args.home)}")
    else:
        print(
            f"stopped {len(info.nodes)} node{'s' if len(info.nodes) > 1 else ''} of the cluster in {info.home}"
        )
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m search.backends.opensearch.cluster ACTION``, until the lead wires ``fahras cluster``."""
    parser = argparse.ArgumentParser(prog="fahras")
    add_cluster_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
