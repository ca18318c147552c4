"""One OpenBLAS thread per process in the window's process and in the indexer's workers.

OpenBLAS starts a thread per core, and its threads spin while they wait for the next product. The window's
process does its matrix work in the library thread (standardising vectors, the statistics refit's `eigh`),
where those threads took both cores from the GUI thread; the workers already run one per core, where they
only oversubscribe. Measured on 2 shared cores: the same eigh and products took 7-10 s of CPU with the
default threads and 1.3 s with one (bench/README.md, ui_stall). torch keeps its own thread settings.
"""

from __future__ import annotations

import logging

from threadpoolctl import ThreadpoolController, threadpool_info

log = logging.getLogger(__name__)


def one_blas_thread() -> None:
    """Limit numpy's OpenBLAS to one thread in this process, loading numpy first: a limit set before numpy
    is imported finds no OpenBLAS and does nothing, and its threads then spin a core away."""
    import numpy  # noqa: F401  (loads OpenBLAS, so that there is a pool to limit)

    try:
        ThreadpoolController().select(internal_api="openblas").limit(limits=1)
    except Exception as e:  # an unknown BLAS build: keep its threads, the app works the same
        log.warning("could not limit OpenBLAS's threads: %s", e)


def blas_threads() -> int | None:
    """How many threads OpenBLAS uses in this process (None: not loaded)."""
    counts = [info["num_threads"] for info in threadpool_info() if info["internal_api"] == "openblas"]
    return max(counts) if counts else None
