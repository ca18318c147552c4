"""Child processes that decode: a decoder's native crash (a segfault, the OOM killer) costs one file, never the run.

Feature embedders (spectral) analyse whole files in a pool of workers, one per core. Model embedders
(wav2vec2, the audio-encoder family) only *decode* in a child: the child sends the decoded windows back and
the model runs in the calling process (one copy of the weights, on the GPU if there is one), while the
child already decodes the next files. Either way a child that dies takes no file with it unaccounted: every
file that was in flight is retried alone in a fresh process, and one that kills its process twice is failed
("the decoder crashed on this file").
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from desktop.core.analysis import Analysis, Decoded, analyze_file, decode_windows, failure_reason
from desktop.core.blas_threads import one_blas_thread
from desktop.core.decode import open_audio
from desktop.core.embedders import create
from desktop.core.faults import crash_on_file
from desktop.core.low_priority import LOW_PRIORITY

CRASHED = "the decoder crashed on this file"
_worker_embedder = None  # in a worker of a feature embedder's pool: its own copy of the embedder


def _worker_init(name: str | None, options: dict, parent: int) -> None:
    global _worker_embedder

    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="parent-watch").start()
    one_blas_thread()  # one worker per core already: OpenBLAS's own threads would only oversubscribe
    if name is not None:  # a decode-only child never builds the embedder (no model, no torch)
        _worker_embedder = create(name, **options)


def _exit_with_parent(parent: int) -> None:
    """A worker whose app was killed (SIGKILL, crash) must not go on decoding as an orphan."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _worker_analyze(path: str) -> Analysis:
    crash_on_file(path)
    return analyze_file(_worker_embedder, path)


def _worker_decode(reader, path: str) -> Decoded:
    crash_on_file(path)
    return decode_windows(reader, path)


def _pool(name: str | None, options: dict, workers: int) -> cf.ProcessPoolExecutor:
    # spawn, not fork: forking a process that runs Qt or torch threads can deadlock the child. A feature
    # embedder's workers (one per core) run below the app from their start; a decode-only child stays
    # level: the model in the app waits for it.
    ctx = LOW_PRIORITY if name is not None else multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init,
                                  initargs=(name, options, os.getpid()))


def _results_in_pool(embedder, jobs: list[tuple[int, str]], workers: int, cancel, task=_worker_analyze,
                     crashed=Analysis(None, CRASHED), ahead: int = 0) -> Iterator:
    """(track_id, path, task(path)) in completion order, `ahead` (default `2 * workers`) files in flight. `task` is a
    module-level function run in the workers (default: the track's Analysis; the passage pass reads windows).
    `embedder` None: the workers only decode (`task` needs no embedder of its own)."""
    name, options = (embedder.name, dict(embedder.options)) if embedder is not None else (None, {})
    todo = list(reversed(jobs))
    planned = {job: i for i, job in enumerate(jobs)}  # results of one wait come out in planned order
    while todo:
        pool = _pool(name, options, workers)
        inflight: dict[cf.Future, tuple[int, str]] = {}
        try:
            while todo or inflight:
                while todo and len(inflight) < (ahead or 2 * workers) and not cancel.is_set():
                    tid, path = todo[-1]
                    future = pool.submit(task, path)  # raises BrokenProcessPool once a worker died
                    inflight[future] = todo.pop()  # so a file leaves `todo` only when it is in flight
                if not inflight:
                    return
                done, _ = cf.wait(inflight, timeout=0.25, return_when=cf.FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: planned[inflight[f]]):
                    if cancel.is_set():
                        return
                    result = fut.result()  # raises BrokenProcessPool while the file is still in `inflight`
                    tid, path = inflight.pop(fut)
                    yield tid, path, result
                if cancel.is_set():
                    return
        except BrokenProcessPool:
            # A worker died (a decoder's native crash, the OOM killer): we cannot tell which in-flight
            # file did it, so each of them is retried alone in a fresh process; the one that crashes
            # twice is recorded as failed. Every file that was in flight is accounted for.
            suspects = sorted(inflight.values(), key=planned.__getitem__)
            pool.shutdown(wait=True, cancel_futures=True)
            for tid, path in suspects:
                if cancel.is_set():
                    return
                yield tid, path, analyze_isolated(embedder, path, task, crashed=crashed)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)



def analyze_isolated(embedder, path: str, task=_worker_analyze, attempts: int = 2,
                     crashed=Analysis(None, CRASHED)):
    """`task(path)` in a fresh child process: a native crash costs this file, never the caller; a file that
    crashes its process `attempts` times gives `crashed`. `embedder` None: a decode-only child."""
    name, options = (embedder.name, dict(getattr(embedder, "options", {}))) if embedder is not None else (None, {})
    for _ in range(attempts):
        pool = _pool(name, options, 1)
        try:
            return pool.submit(task, path).result()
        except BrokenProcessPool:
            continue
        finally:
            pool.shutdown(wait=True)
    return crashed


def decode_isolated(reader, path: str) -> Decoded:
    """A model's windows of one file (`similar FILE`), decoded in a child process; a crash fails the file."""
    return analyze_isolated(None, path, functools.partial(_worker_decode, reader), crashed=Decoded(None, CRASHED))


def _worker_read_stretches(stretches: list[tuple[float, float]], path: str) -> tuple:
    crash_on_file(path)
    try:
        with open_audio(path) as audio:
            duration = audio.duration
            if stretches and stretches[0][0] >= duration > 0:
                return duration, [], ""  # starts after the end: the caller says so
            return duration, [np.asarray(audio.read(at, n), np.float32) for at, n in stretches], ""
    except Exception as e:
        return 0.0, None, failure_reason(e)


def read_isolated(path: str, stretches: list[tuple[float, float]]) -> tuple[float, list | None, str]:
    """(duration, the samples of each (start, seconds) stretch, '') of a file from outside the library, read in
    a child process (`passages FILE`); (0, None, reason) when it cannot be read or crashes its decoder."""
    task = functools.partial(_worker_read_stretches, list(stretches))
    return analyze_isolated(None, path, task, crashed=(0.0, None, CRASHED))


def decoded_ahead(reader, jobs: list[tuple[int, str]], cancel, ahead: int = 2) -> Iterator:
    """(track_id, path, Decoded) in planned order, decoded by a child process that stays `ahead` files ahead
    of the caller: while the model embeds one file (or one batch of files) here, the child decodes the next."""
    return _results_in_pool(None, jobs, 1, cancel, task=functools.partial(_worker_decode, reader),
                            crashed=Decoded(None, CRASHED), ahead=ahead)
