"""Which passage index: a collection of window points, or one multivector per track with MaxSim?

Why this exists: issue 20 asks to measure both before choosing. Synthetic data shaped like a library
of window vectors (tracks of a few "sections" each, sections drawn around genre clusters, windows
around their section), a motif planted in `--planted` tracks at known windows, and a query made of the
motif's windows (as a user's selection would give). Both designs run in a real Qdrant Edge shard:

  windows:     one point per window (Turbo8 "fast" scan + float32 "full" rescore, payload track/start),
               each query window searched, hits voted into (track, start) alignments, best per track;
  multivector: one point per track holding all its windows (MultiVectorConfig MaxSim, float32), the
               query's windows as one multivector: the score is sum over query windows of the best
               window of the track. It ranks tracks but cannot say *where* (a second step must fetch
               the track's windows and find the place).

Prints build time, query p50/p99 and the planted tracks' recall@planted (and location accuracy).

    .venv/bin/python bench/passage_design.py --tracks 1000 --windows 120 --dim 260
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from qdrant_edge import (  # noqa: E402
    Distance,
    EdgeConfig,
    EdgeOptimizersConfig,
    EdgeShard,
    EdgeVectorParams,
    MultiVectorComparator,
    MultiVectorConfig,
    Point,
    Query,
    QueryRequest,
    UpdateOperation,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop.core.passage_search import vote  # noqa: E402
from desktop.core.passage_store import PassageStore  # noqa: E402


def synth(tracks: int, windows: int, dim: int, planted: int, rng) -> tuple[np.ndarray, np.ndarray, dict]:
    """(track x window x dim) unit vectors, the motif's (3 x dim) windows, {track: first motif window}."""
    genres = rng.normal(size=(30, dim))
    data = np.empty((tracks, windows, dim), np.float32)
    for t in range(tracks):
        g = genres[rng.integers(len(genres))]
        sections = g + 0.8 * rng.normal(size=(4, dim))
        which = np.repeat(rng.permutation(4), -(-windows // 4))[:windows]
        data[t] = sections[which] + 0.5 * rng.normal(size=(windows, dim))
    motif = rng.normal(size=(3, dim)) * 1.2
    truth = {}
    for t in rng.choice(tracks, planted, replace=False):
        w = int(rng.integers(0, windows - 3))
        data[t, w : w + 3] = 0.6 * data[t, w : w + 3] + motif
        truth[int(t)] = w
    data /= np.linalg.norm(data, axis=2, keepdims=True)
    query = motif + 0.3 * rng.normal(size=motif.shape)
    return data, (query / np.linalg.norm(query, axis=1, keepdims=True)).astype(np.float32), truth


def bench_windows(data, query, truth, hop: float, root: str, runs: int) -> dict:
    tracks, windows, dim = data.shape
    t0 = time.perf_counter()
    store = PassageStore(root, "bench", dim)
    for t in range(tracks):
        store.replace_track(t, np.arange(windows) * hop, np.arange(windows) * hop + 2 * hop, data[t], had_windows=False)
    build = time.perf_counter() - t0
    times, found = [], None
    for _ in range(runs):
        s = time.perf_counter()
        per_window = store.search_many(query, 200)
        found = vote(per_window, hop, len(truth) * 2)
        times.append(time.perf_counter() - s)
    top = {h.track_id: h.start for h in found[: len(truth)]}
    store.close()
    return {"build_s": build, "p50": np.median(times) * 1e3, "p99": np.percentile(times, 99) * 1e3,
            "recall": len(set(top) & set(truth)) / len(truth),
            "located": sum(abs(top.get(t, -1e9) - w * hop) <= hop for t, w in truth.items()) / len(truth)}


def bench_multivector(data, query, truth, root: str, runs: int) -> dict:
    tracks, windows, dim = data.shape
    path = os.path.join(root, "mv")
    os.makedirs(path)
    cfg = EdgeConfig(vectors={"mv": EdgeVectorParams(size=dim, distance=Distance.Cosine,
                                                     multivector_config=MultiVectorConfig(MultiVectorComparator.MaxSim))},
                     optimizers=EdgeOptimizersConfig(prevent_unoptimized=False))
    shard = EdgeShard.load(path, cfg)
    t0 = time.perf_counter()
    for t in range(0, tracks, 16):
        shard.update(UpdateOperation.upsert_points(
            [Point(i, {"mv": data[i].tolist()}, {"track_id": i}) for i in range(t, min(t + 16, tracks))]))
    build = time.perf_counter() - t0
    times, hits = [], []
    q = query.tolist()
    for _ in range(runs):
        s = time.perf_counter()
        hits = shard.query(QueryRequest(query=Query.Nearest(q, using="mv"), limit=len(truth) * 2, with_payload=False))
        times.append(time.perf_counter() - s)
    shard.close()
    top = [int(h.id) for h in hits[: len(truth)]]
    return {"build_s": build, "p50": np.median(times) * 1e3, "p99": np.percentile(times, 99) * 1e3,
            "recall": len(set(top) & set(truth)) / len(truth), "located": float("nan")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tracks", type=int, default=1000)
    ap.add_argument("--windows", type=int, default=120)
    ap.add_argument("--dim", type=int, default=260)
    ap.add_argument("--planted", type=int, default=5)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    data, query, truth = synth(args.tracks, args.windows, args.dim, args.planted, np.random.default_rng(1))
    print(f"{args.tracks} tracks x {args.windows} windows = {args.tracks * args.windows} window vectors, "
          f"{args.dim}-d; query = 3 windows; {args.planted} planted tracks")
    for name, fn in (("windows", lambda r: bench_windows(data, query, truth, 2.0, r, args.runs)),
                     ("multivector", lambda r: bench_multivector(data, query, truth, r, args.runs))):
        root = tempfile.mkdtemp(prefix="sa-pdesign-")
        try:
            r = fn(root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        print(f"{name:12s} build {r['build_s']:6.1f} s  query p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms  "
              f"recall {r['recall']:.2f}  located within a hop {r['located']:.2f}")


if __name__ == "__main__":
    main()
