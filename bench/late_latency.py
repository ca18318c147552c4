"""What late interaction costs a similar-tracks query (desktop.core.late_interaction), at library scale.

    .venv/bin/python bench/late_latency.py [--sizes 10000 100000] [--queries 30] [--whole-parts 15]

A library of N tracks (catalog rows pointing at empty files, like bench/radio.py) whose catalog holds a raw
260-d vector and 6 part vectors per track, as the spectral embedder stores them, with fitted statistics
(mean, scale and a within-track whitening) so standardising the parts costs what it costs in the app; the
store holds the standardised track vectors (random: the worst case for the scan, fine for latency). For
random seed tracks it times, p50 / p90 in ms:
  store_40     the store's search for the 40 candidates `similar` fetched before (k=10: 3k + 10)
  store_100    the same for the 100 it fetches now (RERANK_POOL)
  by_parts     the re-scoring itself: reading the 100 candidates' parts from SQLite, standardising them,
               the Chamfer similarity of each with the query's parts, the sort
  similar      `similar(library, id, k=10)` end to end (store, re-scoring, shaping, closeness), the first
               call of each library excluded (it fits the closeness calibration once)
Before = similar - by_parts - (store_100 - store_40).
`--whole-parts K`: each track also has K whole-track parts in its passage row (what the passage pass keeps; a
4-minute track has 15); the same queries are then timed with them and again without them (`parts` emptied),
on the same library, so the two rows differ only by the whole-track parts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from radio import build_random_library  # noqa: E402

from desktop.core.library import ACTIVE_KEY  # noqa: E402
from desktop.core.passage_catalog import PassageRows  # noqa: E402
from desktop.core.similarity import by_parts, resolve, similar  # noqa: E402

DIM, PARTS = 260, 6


def build(home: Path, n: int, rng, whole: int = 0):
    lib = build_random_library(home, n, DIM, rng)  # key spectral-bench-260, random unit vectors in the store
    key = lib.catalog.meta(ACTIVE_KEY)
    ids = lib.catalog.track_ids()
    with lib.catalog.transaction():
        for tid in ids:
            parts = rng.standard_normal((PARTS, DIM)).astype(np.float32)
            lib.catalog.set_indexed(tid, key, parts.mean(0), parts)
    if whole:
        rows = PassageRows(lib.catalog)
        with lib.catalog.transaction():
            for tid in ids:
                rows.save(tid, key, 0, 0.0, [0.0], [4.0], rng.standard_normal((1, DIM)), None,
                          rng.standard_normal((whole, DIM)))
    w = np.linalg.qr(rng.standard_normal((DIM, DIM)))[0].astype(np.float32)  # a dense whitening matrix
    lib.catalog.set_standardizer(key, n, np.zeros(DIM, np.float32), np.ones(DIM, np.float32), w)
    lib.space()._standardizer = None  # read the statistics just written
    return lib


def pct(xs, q):
    return round(float(np.percentile(xs, q)) * 1000, 2)


def timed(lib, seeds) -> dict:
    store, times = lib.store(), {"store_40": [], "store_100": [], "by_parts": [], "similar": []}
    for seed in seeds:
        q = resolve(lib, seed)
        for fetch in (40, 100):
            t = time.perf_counter()
            found = store.search(q.vector, fetch, exclude_ids=[seed])
            times[f"store_{fetch}"].append(time.perf_counter() - t)
        t = time.perf_counter()
        by_parts(lib, q, found)
        times["by_parts"].append(time.perf_counter() - t)
        t = time.perf_counter()
        similar(lib, seed, k=10)
        times["similar"].append(time.perf_counter() - t)
    row = {}
    for name, xs in times.items():
        row[f"{name}_p50"], row[f"{name}_p90"] = pct(xs, 50), pct(xs, 90)
    row["before_p50"] = round(row["similar_p50"] - row["by_parts_p50"] - (row["store_100_p50"] - row["store_40_p50"]),
                              2)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--whole-parts", type=int, default=0, help="whole-track parts per track (passage rows)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(11)
    for n in args.sizes:
        tmp = Path(tempfile.mkdtemp(prefix="sa-late-"))
        try:
            t0 = time.monotonic()
            lib = build(tmp / "home", n, rng, args.whole_parts)
            build_s = time.monotonic() - t0
            seeds = [int(s) for s in rng.choice(lib.catalog.track_ids(), args.queries + 1, replace=False)]
            for seed in seeds:  # fits the closeness calibration once and fills its neighbours' cache, so every
                similar(lib, seed, k=10)  # configuration below is timed warm
            for whole in [args.whole_parts, 0] if args.whole_parts else [0]:
                if args.whole_parts and not whole:  # the same library and queries, without the whole-track parts
                    lib.catalog._run("UPDATE passage_windows SET parts=NULL")
                row = {"tracks": n, "whole_parts": whole, "build_s": round(build_s, 1), "load": os.getloadavg()[0]}
                row.update(timed(lib, seeds[1:]))
                print(json.dumps(row), flush=True)
            lib.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
