"""Index what is missing: plan -> decode + embed -> store + catalog, one track at a time, resumable.

This module schedules and writes; what happens to one file is `analysis.analyze_file`.

Resuming is just planning again: the plan is every track without a vector of the active embedder,
and each result is written the moment it arrives (store first, then the catalog row in one
transaction), so a crash loses at most the tracks in flight and never duplicates a point (point id =
track id). A broken file becomes a failed row with its cause, and the run goes on.

Feature embedders (spectral) run in worker processes, one per core: decode dominates and is
CPU-bound. Model embedders (wav2vec2) run in this process: torch already uses every core, and a
thread decodes the next files' windows while the model works on this one. Cancel is checked between
tracks.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

from desktop.core.analysis import Analysis, analyze_file, checked, failure_reason
from desktop.core.backup import backup_path, make_backup
from desktop.core.diskspace import MIN_FREE_MB, ensure_space, free_mb
from desktop.core.embedders import create
from desktop.core.events import IndexSummary, Progress, ScanSummary, TrackDone
from desktop.core.faults import crash_on_file, crash_point
from desktop.core.library import Library
from desktop.core.ranged import use_audio
from desktop.core.scan import scan

# -- worker processes (spectral) ------------------------------------------------------------------
_worker_embedder = None


def _worker_init(name: str, options: dict, parent: int) -> None:
    global _worker_embedder

    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="parent-watch").start()
    _worker_embedder = create(name, **options)


def _exit_with_parent(parent: int) -> None:
    """A worker whose app was killed (SIGKILL, crash) must not go on decoding as an orphan."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _worker_analyze(path: str):
    crash_on_file(path)
    return analyze_file(_worker_embedder, path)


CRASHED = "the decoder crashed on this file"


def _pool(name: str, options: dict, workers: int) -> cf.ProcessPoolExecutor:
    # spawn, not fork: forking a process that runs Qt or torch threads can deadlock the child.
    ctx = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init,
                                  initargs=(name, options, os.getpid()))


def _results_in_pool(embedder, jobs: list[tuple[int, str]], workers: int, cancel, task=_worker_analyze) -> Iterator:
    """(track_id, path, task(path)) in completion order, `2 * workers` files in flight. `task` is a
    module-level function run in the workers (default: the track's Analysis; the passage pass reads windows)."""
    options = embedder.options
    todo = list(reversed(jobs))
    while todo:
        pool = _pool(embedder.name, options, workers)
        inflight: dict[cf.Future, tuple[int, str]] = {}
        try:
            while todo or inflight:
                while todo and len(inflight) < 2 * workers and not cancel.is_set():
                    tid, path = todo[-1]
                    future = pool.submit(task, path)  # raises BrokenProcessPool once a worker died
                    inflight[future] = todo.pop()  # so a file leaves `todo` only when it is in flight
                if not inflight:
                    return
                done, _ = cf.wait(inflight, timeout=0.25, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    result = fut.result()  # raises BrokenProcessPool while the file is still in `inflight`
                    tid, path = inflight.pop(fut)
                    yield tid, path, result
                if cancel.is_set():
                    return
        except BrokenProcessPool:
            # A worker died (a decoder's native crash, the OOM killer): we cannot tell which in-flight
            # file did it, so each of them is retried alone in a fresh process; the one that crashes
            # twice is recorded as failed. Every file that was in flight is accounted for.
            suspects = list(inflight.values())
            pool.shutdown(wait=True, cancel_futures=True)
            for tid, path in suspects:
                if cancel.is_set():
                    return
                yield tid, path, analyze_isolated(embedder, path, task)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def analyze_isolated(embedder, path: str, task=_worker_analyze, attempts: int = 2) -> Analysis:
    """Analyse one file in a fresh child process: a native crash costs this file, never the caller; a file
    that crashes its process `attempts` times is failed."""
    options = getattr(embedder, "options", {})
    for _ in range(attempts):
        pool = _pool(embedder.name, options, 1)
        try:
            return pool.submit(task, path).result()
        except BrokenProcessPool:
            continue
        finally:
            pool.shutdown(wait=True)
    return Analysis(None, CRASHED)


def _results_in_process(embedder, jobs: list[tuple[int, str]], cancel) -> Iterator:
    """Model embedders: analyse here, one file at a time (the model keeps every core busy). One that
    reads its input separately (wav2vec2's windows) gets the next files decoded in a thread meanwhile."""
    if not embedder.reads_windows:
        for tid, path in jobs:
            if cancel.is_set():
                return
            yield tid, path, analyze_file(embedder, path)
        return
    decoded: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                decoded.put(item, timeout=0.2)
                return True
            except queue.Full:
                pass
        return False

    def decode() -> None:  # PyAV and libsndfile release the GIL while they decode
        for tid, path in jobs:
            if stop.is_set() or cancel.is_set():
                break
            try:
                windows, seconds, note = use_audio(path, embedder.read_windows)
                item = (tid, path, windows, seconds, note)
            except Exception as e:
                item = (tid, path, None, 0.0, failure_reason(e))
            if not put(item):
                return
        put(None)

    reader = threading.Thread(target=decode, daemon=True, name="decode-ahead")
    reader.start()
    try:
        while (item := decoded.get()) is not None and not cancel.is_set():
            tid, path, windows, seconds, error = item
            if windows is None:
                yield tid, path, Analysis(None, error)
                continue
            try:
                result = checked(embedder, *embedder.embed_window_parts(windows), seconds)
                result = result._replace(error=error) if result.raw is not None else result
            except Exception as e:
                result = Analysis(None, failure_reason(e))
            yield tid, path, result
    finally:
        stop.set()
        reader.join()


def index(library: Library, *, retry_failed: bool = False, cancel: threading.Event | None = None,
          workers: int | None = None, refresh=()) -> Iterator:
    """Index every track that lacks a vector of the library's embedder; yields events, then IndexSummary.

    First the store is brought in step with the catalog (`Library.sync_store`): restored points, points
    of missing files hidden, `refresh` (moved tracks) rewritten with their new path."""
    cancel = cancel or threading.Event()
    started = time.monotonic()
    embedder = library.embedder
    key = embedder.key
    summary = IndexSummary(embedder=embedder.label, notice=library.notice)
    restored_before = library.restored_points
    library.activate(embedder)
    if getattr(embedder, "model_id", None):  # `soundalike model list` says which libraries use a model
        from desktop.core.models import record_use
        from desktop.core.text_search import remember_model

        record_use(embedder.model_id, library.settings.home)
        remember_model(library, embedder)  # text queries need the model that made the space
    catalog = library.catalog
    catalog.adopt_existing(key)
    _, summary.hidden = library.sync_store(refresh)
    summary.restored = library.restored_points - restored_before
    plan = catalog.plan(key, retry_failed=retry_failed)
    summary.unchanged = catalog.counts()["total"] - len(plan)
    tracks = catalog.many(plan)
    jobs = [(tid, tracks[tid].path) for tid in plan if tid in tracks]
    total = len(jobs)
    yield Progress("index", 0, total, message=embedder.label)
    store = library.store()
    cores = os.cpu_count() or 1
    workers = min(workers or library.settings.workers or cores, cores)  # more processes than cores only thrash
    parallel = embedder.parallel  # even one file: a native crash must cost only that file
    summary.workers = min(workers, total) if parallel else 0
    results = _results_in_pool(embedder, jobs, min(workers, total), cancel) if parallel else \
        _results_in_process(embedder, jobs, cancel)
    done, finished = 0, set()
    for tid, path, (raw, error, seconds, parts) in results:
        done += 1
        finished.add(tid)
        if raw is not None and raw.shape != (embedder.dim,):  # a worker running other code than ours
            raw, error = None, f"the embedder returned {raw.shape[0]} values instead of {embedder.dim}"
        if raw is not None:
            track = catalog.get(tid)
            if seconds and abs(track.duration - seconds) > 0.5:  # the decoder's length beats the header's claim
                catalog.set_duration(tid, seconds)
                track.duration = seconds
            ensure_space(library.settings.home)  # a full disk stops here cleanly, never with SIGBUS
            crash_point("before-store")
            store.upsert([(tid, library.to_unit(raw), track.payload())])
            crash_point("after-store")
            catalog.set_indexed(tid, key, raw, parts, note=error)
            crash_point("after-commit")
            summary.indexed += 1
            summary.audio_seconds += seconds
            if error:
                summary.notes.append((path, error))
        else:
            store.delete([tid])  # a changed file that now fails must not keep its old point
            catalog.set_failed(tid, key, error)
            summary.failed.append((path, error))
        yield TrackDone(tid, path, raw is not None, error, seconds)
        yield Progress("index", done, total, path)
        if summary.indexed and done % 25 == 0:
            yield from library.maybe_refit(final=False)
    summary.cancelled = cancel.is_set() and done < total
    why = "cancelled: indexed on the next run" if summary.cancelled else "not analysed: indexed on the next run"
    summary.pending = [(path, why) for tid, path in jobs if tid not in finished]
    yield from library.maybe_refit(final=True)
    # No flush here: every write is already in the store's WAL (durable), and a flush syncs segments
    # to disk while holding the GIL (100-270 ms measured), a visible stall in the window. close() flushes.
    if not summary.cancelled and (done or summary.restored or summary.hidden or refresh
                                  or not backup_path(catalog.path).exists()):
        if free_mb(catalog.path.parent) > MIN_FREE_MB + catalog.path.stat().st_size / 2**20:
            make_backup(catalog)  # the last good copy of the catalog, for `check --repair`
    summary.seconds = time.monotonic() - started
    yield summary


def scan_and_index(library: Library, roots, *, retry_failed: bool = False, cancel: threading.Event | None = None,
                   workers: int | None = None) -> Iterator:
    """Add `roots` (folders or files) to the library, mark vanished files missing, index what is missing.

    Yields the scan's events and ScanSummary, then the index run's events and IndexSummary.
    """
    cancel = cancel or threading.Event()
    ensure_space(library.settings.home)
    moved = []
    for event in scan(library.catalog, roots):
        if isinstance(event, ScanSummary):
            moved = event.moved
            library.remove_tracks(event.removed)
            library.refresh_payloads(event.retagged)
        yield event
        if cancel.is_set():
            return
    yield from index(library, retry_failed=retry_failed, cancel=cancel, workers=workers, refresh=moved)
