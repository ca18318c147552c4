"""The passage index's search graph (HNSW), built in a child process on a copy of the shard, then swapped in.

Why: without a graph every passage query scans all windows (Turbo8 codes, then a float32 rescore of
the best). That is linear in the library: measured on a quiet 2-core machine at 1M windows (260-d),
p50 46.6 / p99 69.0 ms against the targets of 20 / 50 ms (bench/README.md "Passage search"). Edge
builds an HNSW graph only in `optimize()`, which holds the GIL for minutes (STACK.md), so it never
runs in the app's process: a low-priority child process optimizes a copy of the shard while queries go on
against the live one, and the finished copy replaces it in one short step (close, two renames,
reopen). Measured on 260-d clustered windows (bench/passages.py, bench/README.md "Passage search"), on
the shared machine under load 13-17, alternated: 300k windows scan p50 42.9-48.5 ms, graph (m 16, ef 256)
1.1-1.2 ms, recall@10 1.000 both; the child's build took 642 s. At 1M, nearly quiet (load 0.2-1): scan
p50 46-52 / p99 60-70 ms, graph 1.1-1.2 / 3.3-15.7 ms, recall 1.000; build 319 s at load 6.
Also measured and not chosen: binary quantization (optimize() without a graph; 1M under load:
p50 56-81 ms against the scan's 144-180 ms, recall 1.000 at oversampling 4) is only 2-3x faster than the
scan, the graph 35-40x.

Safe against kill -9 at any moment: the copy is built in `<shard>.graph/` and marked ready (a file
written after the child closed the shard); the swap renames `<shard>` to `<shard>.old`, then
`<shard>.graph` to `<shard>`, then deletes `.old`. `recover()` (run before the shard is opened)
finishes or undoes a swap a kill interrupted and deletes leftovers, so the app always opens a whole
shard: the graphed one, or the plain one it was copied from. A write to the live shard after the copy
was taken (the passage pass, a removed track) makes the copy stale: it is thrown away and built again
at the end of the next pass. The passage index is derived data anyway (the catalog keeps the raw
windows and `passages.rebuild` rewrites it without decoding).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

from desktop.core.diskspace import DiskFull, ensure_space
from desktop.core.events import Progress
from desktop.core.faults import crash_point

READY = "graph-ready"  # written into the copy once the child has optimized and closed it
# Windows not yet in a graph (scanned one by one) before a graph is worth building. The scan costs about
# 47 ns a window on a quiet 2-core machine (100k: p50 7.0 ms, 1M: 46.6 ms), so up to 300k it stays near
# 14 ms, inside the 20 / 50 ms targets, also beside a graph over a million. Below it a graph is not worth
# its price: a graphed shard reopens about 10x slower than a plain one, with the GIL held (measured under
# load 8-15: 300k windows 6.4-19 s against 0.6-1.6 s plain; 1M at load 1: 5.5 s against 1.6 s), and the
# app opens the passage index on the first passage query after each start, or a pass that has work.
GRAPH_MIN_PLAIN = 300_000
HNSW_M, HNSW_EF_CONSTRUCT = 16, 100
QUERY_EF = 256  # candidates the graph search keeps (Qdrant takes max(ef, the prefetch limit)); 100k: recall 1.000


def graph_dir(path: str) -> str:
    return path + ".graph"


def old_dir(path: str) -> str:
    return path + ".old"


def _is_shard(path: str) -> bool:
    return os.path.exists(os.path.join(path, "edge_config.json"))


def recover(path: str) -> None:
    """Before the shard at `path` is opened: finish or undo a swap that a kill interrupted, delete leftovers."""
    graph, old = graph_dir(path), old_dir(path)
    if not _is_shard(path):
        if os.path.isdir(path) and not os.listdir(path):
            os.rmdir(path)
        if not os.path.exists(path):
            if _is_shard(graph) and os.path.exists(os.path.join(graph, READY)):
                os.replace(graph, path)  # killed between the two renames: the graphed copy was complete
            elif _is_shard(old):
                os.replace(old, path)  # (not reachable by our own order of steps, but never lose a shard)
    for leftover in (graph, old):
        if os.path.exists(leftover):
            shutil.rmtree(leftover, ignore_errors=True)


def _optimize_child(path: str, dim: int) -> None:
    """In the child: open the copy with the graph settings, build the graph, close, mark it ready."""
    from desktop.core.passage_store import open_graph_shard  # lazy: passage_store imports this module

    shard = open_graph_shard(path, dim)
    crash_point("graph-child-optimize")
    shard.optimize()
    shard.close()
    fd = os.open(os.path.join(path, READY), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.fsync(fd)
    os.close(fd)


def _disk_bytes(path: str) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(folder, f)).st_blocks * 512
            except OSError:
                pass
    return total


def build_graph(store, cancel=None, *, min_plain: int = GRAPH_MIN_PLAIN, poll: float = 0.5) -> Iterator:
    """Give the passage store `store` a search graph when `min_plain` or more windows lack one. Yields
    Progress("passages") while the child works, then one line saying what happened ("" when nothing was
    due). Stops (and throws the copy away) as soon as `cancel.is_set()`; never raises for a failed build:
    the index keeps working as it is."""
    if store.plain_windows() < max(1, min_plain):
        yield ""
        return
    path, graph = store.path, graph_dir(store.path)
    try:
        ensure_space(os.path.dirname(path), 2 * _disk_bytes(path) / 2**20)
    except DiskFull as e:
        yield f"search graph not built: {e}"
        return
    shutil.rmtree(graph, ignore_errors=True)
    yield Progress("passages", 0, 0, message="copying the passage index for its search graph")
    stamp = store.write_stamp()
    store.flush()
    try:
        shutil.copytree(path, graph)
    except OSError as e:
        shutil.rmtree(graph, ignore_errors=True)
        yield f"search graph not built: cannot copy {path}: {e.strerror or e}"
        return
    crash_point("graph-copied")
    if store.write_stamp() != stamp:
        shutil.rmtree(graph, ignore_errors=True)
        yield "search graph not built: the index changed while it was copied (next pass)"
        return
    # lazy: passage_store (on the window's start-up path) imports this module, and this brings multiprocessing
    from desktop.core.low_priority import LowPriorityProcess

    # Below the app, the player and the first pass from its start (low_priority.py says why).
    child = LowPriorityProcess(target=_optimize_child, args=(graph, store.dim), daemon=True)
    child.start()
    yield Progress("passages", 0, 0, message="building the passage search graph")
    while child.is_alive():
        child.join(poll)
        if cancel is not None and cancel.is_set() and child.is_alive():
            child.kill()
            child.join()
            shutil.rmtree(graph, ignore_errors=True)
            yield "search graph: stopped (built again after the next pass)"
            return
    if child.exitcode != 0 or not os.path.exists(os.path.join(graph, READY)):
        shutil.rmtree(graph, ignore_errors=True)
        yield f"search graph not built: the process building it ended with code {child.exitcode}"
        return
    crash_point("graph-built")
    if not store.swap_in(graph, stamp):
        shutil.rmtree(graph, ignore_errors=True)
        yield "search graph not built: the index changed meanwhile (next pass)"
        return
    yield f"search graph built over {store.count()} windows"
