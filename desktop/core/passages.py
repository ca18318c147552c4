"""The passage pass: every indexed track read whole, cut into windows, stored for passage search. For spectral
spaces it also keeps each track's whole-track parts, which similar queries compare (desktop.core.late_interaction).

Why a second pass: reading whole tracks costs more than the excerpts the first pass reads, so the
library becomes searchable at the first pass's speed and the passage index follows, in the
background, at a lower priority (worker processes run `nice`d; the window cancels this pass whenever
a first-pass job is queued and starts it again afterwards).

Resuming is planning again, as in the first pass: a track's windows go to the passage store first
(point ids derived from track id and window number, so writing them again replaces them), then its
catalog row in one statement, so a kill -9 at any point leaves no duplicate windows and redoes at
most the tracks in flight.

The windows are standardised with the library's statistics of the track vectors. When those are
refitted, the passage index is rewritten from the raw windows in the catalog (`rebuild`), without
decoding anything; the catalog remembers which fit the index was written with.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from desktop.core import workers
from desktop.core.analysis import failure_reason
from desktop.core.decode import open_audio
from desktop.core.events import Progress
from desktop.core.faults import crash_point
from desktop.core.passage_catalog import rows_of
from desktop.core.passage_store import index_exists
from desktop.core.passage_windows import embed_source
from desktop.core.workers import _results_in_pool

STAMP = "passage_stats:"  # meta key: the fit (standardizer fitted_at) the passage index was written with
# meta key: "1" once a pass over space `key` ended with nothing left to do (every track done, the search
# graph built or not due); any new track, refit or lost index makes a pass open the index again.
SETTLED = "passage_settled:"
GRAPHED = "passage_graphed:"  # meta key: how many windows the embedded index's search graph held after the last pass
NICE = 10  # worker processes' priority: below the first pass and the player


@dataclass
class PassageSummary:
    tracks: int = 0
    windows: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    rebuilt: int = 0  # tracks rewritten from stored raw windows (statistics changed)
    cancelled: bool = False
    seconds: float = 0.0
    audio_seconds: float = 0.0
    skipped: str = ""  # why the pass did not run (no index yet, another embedder configured)
    graph: str = ""  # what became of the search graph at the end of the pass ("" when none was due)


class WindowsResult(NamedTuple):
    raw: np.ndarray | None  # n x dim raw window vectors; None: failed, `error` says why
    error: str = ""
    seconds: float = 0.0
    starts: np.ndarray | None = None
    ends: np.ndarray | None = None
    levels: np.ndarray | None = None  # the track's outline (RMS level a second) for the hits' mini-waveform
    parts: np.ndarray | None = None  # whole-track parts for late interaction (spectral; None for other embedders)


def analyze_windows(embedder, path: str) -> WindowsResult:
    """The windows of a whole file, or the reason it failed: never raises for a bad file."""
    levels: list[float] = []
    parts: list[np.ndarray] = []
    try:
        with open_audio(path) as source:
            starts, ends, raws = embed_source(embedder, source, levels=levels, parts=parts)
    except Exception as e:
        return WindowsResult(None, failure_reason(e))
    if not len(raws):
        return WindowsResult(None, "no audio to cut into windows")
    if raws.ndim != 2 or raws.shape[1] != embedder.dim or not np.isfinite(raws).all():
        return WindowsResult(None, "the embedder produced invalid window vectors")
    return WindowsResult(raws, "", float(ends[-1]), starts, ends, np.asarray(levels, np.float32),
                         np.stack(parts).astype(np.float32) if parts else None)


_niced = False


def _windows_in_worker(path: str) -> WindowsResult:
    """Runs in an indexer worker process (its embedder built by the pool's initializer)."""
    global _niced

    if not _niced:
        try:
            os.nice(NICE)
        except OSError:
            pass
        _niced = True
    return analyze_windows(workers._worker_embedder, path)


def _results_here(embedder, jobs, cancel) -> Iterator:
    for tid, path in jobs:
        if cancel.is_set():
            return
        yield tid, path, analyze_windows(embedder, path)


def stats_stamp(library, key: str | None = None) -> str:
    """Which fit of the statistics of vector space `key` (default: the active one) windows are written with."""
    key = key or library.active_key
    row = library.catalog._one("SELECT fitted_at FROM standardizers WHERE embedder=?", (key,))
    return repr(row[0]) if row else "none"


def index_passages(library, *, cancel: threading.Event | None = None, workers: int | None = None,
                   in_process: bool = False) -> Iterator:
    """Make the windows of every indexed track that lacks them; yields Progress("passages"), then PassageSummary.
    `in_process`: analyse here, one track at a time, instead of in worker processes."""
    cancel = cancel or threading.Event()
    started = time.monotonic()
    summary = PassageSummary()
    key = library.active_key
    if key is None:
        summary.skipped = "the library has no indexed tracks yet"
        yield summary
        return
    embedder = library.embedder
    if embedder.key != key:
        summary.skipped = f"the library's vectors were made by {key}, the embedder now is {embedder.key}"
        yield summary
        return
    rows = rows_of(library.catalog)
    # (a rebuild below rewrites the index from the rows; it changes no plan)
    plan = rows.plan(key)
    if not plan and _settled(library, key):
        # The window runs this pass at every start. Opening a large embedded index holds Python's GIL
        # (about 5 s for a million windows with a search graph, the whole window frozen meanwhile), so it
        # is opened only when there is work, or when the user searches passages.
        yield summary
        return
    library.catalog.set_meta(SETTLED + key, "")
    store = library.passages()
    if library.catalog.meta(STAMP + key) != stats_stamp(library) or (store.count() == 0 and rows.written(key)):
        # new statistics, or the index was lost: rewrite it from the stored raw windows
        for ev in rebuild(library):
            if isinstance(ev, int):
                summary.rebuilt = ev
            else:
                yield ev
    tracks = library.catalog.many(plan)
    jobs = [(tid, tracks[tid].path) for tid in plan if tid in tracks]
    written = rows.written(key)
    total = len(jobs)
    yield Progress("passages", 0, total, message="passage index")
    cores = os.cpu_count() or 1
    workers = min(workers or library.settings.workers or cores, cores)  # more processes than cores only thrash
    if getattr(embedder, "parallel", False) and total > 1 and not in_process:
        results = _results_in_pool(embedder, jobs, min(workers, total), cancel, task=_windows_in_worker)
    else:
        results = _results_here(embedder, jobs, cancel)
    done = 0
    for tid, path, result in results:
        done += 1
        track = tracks[tid]
        if result.raw is not None:
            store.replace_track(tid, result.starts, result.ends, library.space().to_unit(result.raw),
                                had_windows=tid in written)
            crash_point("after-passage-store")
            rows.save(tid, key, track.size, track.mtime, result.starts, result.ends, result.raw, result.levels,
                      result.parts)
            crash_point("after-passage-commit")
            summary.tracks += 1
            summary.windows += len(result.raw)
            summary.audio_seconds += result.seconds
        else:
            if tid in written:
                store.remove_tracks([tid])
            rows.save_failed(tid, key, track.size, track.mtime, result.error)
            summary.failed.append((path, result.error))
        yield Progress("passages", done, total, path)
    summary.cancelled = cancel.is_set() and done < total
    summary.seconds = time.monotonic() - started  # the pass itself (its speed is reported as x realtime)
    if not cancel.is_set() and hasattr(store, "swap_in"):  # an embedded shard (a server builds its own graph)
        from desktop.core.passage_graph import GRAPH_MIN_PLAIN, build_graph  # lazy: only when a graph is built

        for ev in build_graph(store, cancel):
            if isinstance(ev, str):
                summary.graph = ev
            else:
                yield ev
        if not cancel.is_set():
            plain = store.plain_windows()
            library.catalog.set_meta(GRAPHED + key, str(max(0, store.count() - plain)))  # for `status`
            if plain < GRAPH_MIN_PLAIN:  # built, or not due
                library.catalog.set_meta(SETTLED + key, "1")
    yield summary


def _settled(library, key: str) -> bool:
    """True when the last pass over `key` finished everything and nothing changed since: the same
    statistics, the embedded index still on disk (a server's is cheap to open)."""
    return (not library.settings.qdrant_url and library.catalog.meta(SETTLED + key) == "1"
            and library.catalog.meta(STAMP + key) == stats_stamp(library)
            and index_exists(str(library.settings.vectors_dir), key))


def rebuild(library) -> Iterator:
    """Rewrite the passage index from the raw windows in the catalog with the current statistics (no
    decoding); also drops windows of tracks the catalog no longer has. Yields Progress, then the count."""
    key = library.active_key
    rows = rows_of(library.catalog)
    store = library.passages()
    stamp = stats_stamp(library)
    total = rows.counts(key)["tracks"]
    keep = set()
    for done, (tid, starts, ends, raws) in enumerate(rows.windows(key), 1):
        store.replace_track(tid, starts, ends, library.space().to_unit(raws))
        keep.add(tid)
        if done % 50 == 0 or done == total:
            yield Progress("passages", done, total, message="rewriting the passage index")
    gone = store.track_ids() - keep
    store.remove_tracks(gone)
    library.catalog.set_meta(STAMP + key, stamp)
    yield len(keep)


def status(library) -> dict | None:
    """Both passes' standing for `status` and the window: tracks done of tracks to do."""
    key = library.active_key
    if key is None:
        return None
    rows = rows_of(library.catalog)
    counts = rows.counts(key)
    counts["pending"] = len(rows.plan(key))
    counts["indexed"] = library.catalog.vector_count(key)
    # windows in the embedded index's search graph after the last pass (None: a server's index, or no pass yet)
    graphed = library.catalog.meta(GRAPHED + key)
    counts["graphed"] = None if library.settings.qdrant_url or graphed is None else int(graphed)
    return counts
