"""Index what is missing: plan -> decode + embed -> store + catalog, one track at a time, resumable.

This module schedules and writes; what happens to one file is `analysis.analyze_file`.

Resuming is just planning again: the plan is every track without a vector of the run's embedder,
and each result is written the moment it arrives (store first, then the catalog row in one
transaction), so a crash loses at most the tracks in flight and never duplicates a point (point id =
track id). A broken file becomes a failed row with its cause, and the run goes on.

Feature embedders (spectral) run in worker processes, one per core: decode dominates and is
CPU-bound. Model embedders (wav2vec2) run in this process: torch already uses every core, and a
child process decodes the next files' windows while the model works on this one (so a decoder's
native crash costs that file only, see workers.py). Cancel is checked between tracks.

A run with another embedder than the library's active one (a new model) fills the new vector space
beside the old, which stays the one searched until the run completes: similar tracks never vanish.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

from desktop.core.analysis import analyze_file, embed_decoded_many
from desktop.core.backup import backup_path, make_backup
from desktop.core.diskspace import MIN_FREE_MB, ensure_space, free_mb
from desktop.core.events import IndexSummary, Progress, ScanSummary, TrackDone
from desktop.core.faults import crash_point
from desktop.core.library import Library
from desktop.core.model_cache import record_use
from desktop.core.scan import scan
from desktop.core.text_search import remember_model
from desktop.core.workers import CRASHED, _results_in_pool, analyze_isolated, decoded_ahead

__all__ = ["CRASHED", "analyze_isolated", "index", "scan_and_index"]


def _results_in_process(embedder, jobs: list[tuple[int, str]], cancel) -> Iterator:
    """Model embedders: the model runs here, one file at a time (it keeps every core or the GPU busy). One
    that reads windows has them decoded by a child process, which stays ahead of the model (see workers)."""
    if not embedder.reads_windows:
        for tid, path in jobs:
            if cancel.is_set():
                return
            yield tid, path, analyze_file(embedder, path)
        return
    group = max(1, int(getattr(embedder, "tracks_per_batch", 1)))  # on a GPU, several files per forward
    batch: list = []
    for item in decoded_ahead(embedder.window_reader(), jobs, cancel, ahead=2 * group):
        batch.append(item)
        if len(batch) == group:
            yield from embed_decoded_many(embedder, batch)
            batch = []
    if batch and not cancel.is_set():
        yield from embed_decoded_many(embedder, batch)


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
    # Another embedder than the one searched (a model just downloaded): its space is filled beside the old
    # one, which keeps answering similar queries until this run has indexed every track; then it switches.
    switching = library.active_key not in (None, key)
    if not switching:
        library.activate(embedder)
    if getattr(embedder, "model_id", None):  # `soundalike model list` says which libraries use a model
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
    space = library.space(key)
    store = space.store()
    cores = os.cpu_count() or 1
    workers = min(workers or library.settings.workers or cores, cores)  # more processes than cores only thrash
    parallel = embedder.parallel  # even one file: a native crash must cost only that file
    summary.workers = min(workers, total) if parallel else 0
    results = _results_in_pool(embedder, jobs, min(workers, total), cancel) if parallel else \
        _results_in_process(embedder, jobs, cancel)
    done, finished, kept = 0, set(), False
    answering = catalog.searchable_ids(library.active_key) if switching else set()  # tracks of the old space
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
            store.upsert([(tid, space.to_unit(raw), track.payload())])
            crash_point("after-store")
            catalog.set_indexed(tid, key, raw, parts, note=error)
            crash_point("after-commit")
            summary.indexed += 1
            summary.audio_seconds += seconds
            if error:
                summary.notes.append((path, error))
        else:
            store.delete([tid])  # a changed file that now fails must not keep its old point
            summary.failed.append((path, error))
            if kept := switching and tid in answering:  # it answers from the old space until the switch
                error = beside_note(embedder.label, error)
                catalog.set_failed_beside(tid, key, summary.failed[-1][1], note=error)
            else:
                catalog.set_failed(tid, key, error)
        yield TrackDone(tid, path, raw is not None, error, seconds, kept=raw is None and kept)
        yield Progress("index", done, total, path)
        if summary.indexed and done % 25 == 0:
            yield from space.maybe_refit(final=False)
    summary.cancelled = cancel.is_set() and done < total
    why = "cancelled: indexed on the next run" if summary.cancelled else "not analysed: indexed on the next run"
    summary.pending = [(path, why) for tid, path in jobs if tid not in finished]
    yield from space.maybe_refit(final=True)
    if switching and not summary.cancelled and not summary.pending:
        library.activate(embedder)  # the new space is complete: searches use it from now on
        catalog.apply_failures(key)  # and the tracks it could not analyse are failed from now on
        summary.switched = True
    # No flush here: every write is already in the store's WAL (durable), and a flush syncs segments
    # to disk while holding the GIL (100-270 ms measured), a visible stall in the window. close() flushes.
    if not summary.cancelled and (done or summary.restored or summary.hidden or refresh
                                  or not backup_path(catalog.path).exists()):
        if free_mb(catalog.path.parent) > MIN_FREE_MB + catalog.path.stat().st_size / 2**20:
            make_backup(catalog)  # the last good copy of the catalog, for `check --repair`
    summary.seconds = time.monotonic() - started
    yield summary


def beside_note(label: str, error: str) -> str:
    """What a track shows while the old space still answers for it but the new model failed on it."""
    return f"the new model ({label}) failed on it: {error}; it answers with the previous analysis until the switch"


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
