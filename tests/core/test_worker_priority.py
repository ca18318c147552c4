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
