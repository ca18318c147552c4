"""CPU time a similar query costs the window's library thread (the Python that competes with the GUI thread for the
GIL), with the track store in a child process as the window has it.

    .venv/bin/python bench/similar_cpu.py [--tracks 200] [--queries 8]

Indexes `ui_stall.py`'s synthetic clips (bench/out/stall-music, made if missing) into a spectral library under
bench/out/similar-cpu once, then prints this thread's CPU and wall time per `similar(k=25)`: on a settled library,
and as while the library grows (each new track makes the closeness's fixed space forget its neighbours' best
matches, so every query searches them again); and of one calibration refit (after each statistics refit).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def cost(fn) -> tuple[float, float]:
    """(thread CPU ms, wall ms) of fn()."""
    cpu, wall = time.thread_time(), time.perf_counter()
    fn()
    return (time.thread_time() - cpu) * 1e3, (time.perf_counter() - wall) * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=200)
    ap.add_argument("--queries", type=int, default=8)
    args = ap.parse_args()

    from bench.ui_stall import synth
    from desktop.core import calibration, fixed_space
    from desktop.core.blas_threads import one_blas_thread
    from desktop.core.indexer import scan_and_index
    from desktop.core.library import Library
    from desktop.core.similarity import similar
    from desktop.core.thread_priority import hand_gil_over_quickly

    one_blas_thread()  # as the window
    hand_gil_over_quickly()
    music = synth(ROOT / "bench" / "out" / "stall-music" / f"{args.tracks}x20s", args.tracks, 20.0)
    home = ROOT / "bench" / "out" / "similar-cpu" / f"{args.tracks}"
    with Library.open(home, embedder="spectral", store_in_child=True) as lib:
        if lib.catalog.counts()["total"] < args.tracks:
            for _ in scan_and_index(lib, [str(music)]):
                pass
        ids = sorted(lib.catalog.indexed_ids(lib.active_key))
        picks = [ids[(i * 37 + 5) % len(ids)] for i in range(args.queries)]
        similar(lib, ids[0], 25)  # the store process started, the calibration fitted
        fixed = fixed_space.fixed_space(lib)

        def growing(tid):
            fixed.best.clear()  # what a new track does
            similar(lib, tid, 25)

        for name, run in (("settled", lambda tid: similar(lib, tid, 25)), ("while growing", growing)):
            costs = [cost(partial(run, tid)) for tid in picks]
            print(f"similar, {name}: {statistics.median(c for c, _ in costs):.1f} ms CPU, "
                  f"{statistics.median(w for _, w in costs):.1f} ms wall (median of {len(costs)})")
        cpu, wall = cost(lambda: calibration.fit(lib))
        print(f"calibration refit: {cpu:.1f} ms CPU, {wall:.1f} ms wall ({len(ids)} tracks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
