"""Time to compute the library map (bench/README.md, "The library map").

    .venv/bin/python bench/library_map.py [--tracks 10000] [--dim 260] [--families 30] [--add 100]

Synthesises `--tracks` vectors around `--families` centres (spectral's 260 dimensions by default),
computes the whole map (PCA, neighbour search, layout: what the Map tab runs the first time), then
places `--add` new tracks into it (what it runs after an index run adds a few), and prints both times
and how often a track's 10 nearest dots on the map share its family (1.0 = islands never mix).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop.core.library_map import compute, update  # noqa: E402


def agreement(xy: np.ndarray, family: np.ndarray, k: int = 10, sample: int = 2000) -> float:
    rows = np.random.default_rng(1).choice(len(xy), min(sample, len(xy)), replace=False)
    d = ((xy[rows][:, None] - xy[None]) ** 2).sum(-1)
    d[np.arange(len(rows)), rows] = np.inf
    near = np.argpartition(d, k, axis=1)[:, :k]
    return float((family[near] == family[rows][:, None]).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tracks", type=int, default=10000)
    ap.add_argument("--dim", type=int, default=260)
    ap.add_argument("--families", type=int, default=30)
    ap.add_argument("--add", type=int, default=100)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((a.families, a.dim))
    family = rng.integers(0, a.families, a.tracks + a.add)
    vectors = (centres[family] + rng.standard_normal((len(family), a.dim)) * 0.8).astype(np.float32)
    ids = np.arange(1, a.tracks + 1)
    t = time.perf_counter()
    m = compute(ids, vectors[: a.tracks], "bench")
    full = time.perf_counter() - t
    print(f"map of {a.tracks} tracks x {a.dim} dims: {full:.1f} s; "
          f"10-NN family agreement on the map {agreement(m.xy, family[: a.tracks]):.3f}")
    t = time.perf_counter()
    m2 = update(m, np.arange(1, len(family) + 1), vectors)
    print(f"placing {a.add} new tracks: {time.perf_counter() - t:.2f} s; "
          f"agreement {agreement(m2.xy, family):.3f}")


if __name__ == "__main__":
    main()
