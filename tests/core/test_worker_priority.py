"""A feature embedder's worker processes run below the app, so the window's GUI thread gets a core at once."""

import os

from desktop.core.embedders import create
from desktop.core.workers import WORKER_NICE, analyze_isolated


def _priority(path: str) -> int:
    """Runs in the child: its nice value."""
    return os.nice(0)


def test_embedder_workers_are_niced_and_decode_only_children_are_not():
    base = os.nice(0)
    assert analyze_isolated(create("spectral"), "unused.flac", _priority) == min(19, base + WORKER_NICE)
    assert analyze_isolated(None, "unused.flac", _priority) == base  # the model in the app waits for it


def _blas_threads(path: str) -> int | None:
    """Runs in the child: OpenBLAS's thread count there."""
    from desktop.core.blas_threads import blas_threads

    return blas_threads()


def test_workers_run_one_openblas_thread_each():
    """One worker per core already: OpenBLAS's own threads (spinning while they wait) would only oversubscribe."""
    assert analyze_isolated(create("spectral"), "unused.flac", _blas_threads) == 1
    assert analyze_isolated(None, "unused.flac", _blas_threads) in (1, None)  # None: numpy not loaded there
