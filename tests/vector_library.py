"""A library home whose catalog holds synthetic raw vectors (no audio): for store and migration tests.

Tracks, raw vectors and fitted standardisation statistics go through the real Catalog, and the embedded
store is filled the way the indexer fills it (standardised unit vectors with the catalog payload), so
migration has something real to copy and compare against.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from desktop.core.catalog import Catalog, Track
from desktop.core.library import ACTIVE_KEY, Library
from desktop.core.standardize import Standardizer

KEY, DIM = "synthetic-v1-32", 32
GENRES = ("rock", "jazz", "folk")


def make_library(home: Path, n: int, *, seed: int = 0, keys=(KEY,), fill_store: bool = True, **settings) -> None:
    """`n` tracks (ids 1..n) with a raw vector per key in `keys`; the first key is the active one."""
    rng = np.random.default_rng(seed)
    cat = Catalog(Path(home) / "catalog.sqlite3")
    for i in range(n):
        cat.add_track(Track(id=0, path=f"/music/{home.name}/{i}.flac", title=f"{home.name} {i}",
                            artist=f"artist{i % 7}", genre=GENRES[i % 3], year=1970 + i % 40, duration=200.0))
    for key in keys:
        dim = int(key.rsplit("-", 1)[1])
        centers = rng.standard_normal((8, dim)) * 3 + 5
        raws = (centers[rng.integers(0, 8, n)] + rng.standard_normal((n, dim))).astype(np.float32)
        for tid in range(1, n + 1):
            cat.set_indexed(tid, key, raws[tid - 1])
        fit = Standardizer.fit(raws)
        cat.set_standardizer(key, fit.n, fit.mean, fit.scale)
    cat.set_meta(ACTIVE_KEY, keys[0])
    cat.close()
    if settings:
        from dataclasses import replace

        from desktop.core.config import load_settings

        replace(load_settings(home), **settings).save()
    if fill_store:
        with Library.open(home) as lib:
            units = lib.to_unit(np.stack([r for _, r in lib.catalog.raw_vectors(keys[0])]))
            tracks = lib.catalog.many(range(1, n + 1))
            lib.store().upsert([(tid, units[tid - 1], tracks[tid].payload()) for tid in range(1, n + 1)])


def top_ids(home: Path, queries: list[int], k: int = 10) -> list[list[tuple[int, float]]]:
    """For each query track id: its stored vector's k nearest (id, score), as the library sees them."""
    with Library.open(home) as lib:
        store = lib.store()
        vecs = store.get_vectors(queries)
        return [[(h.id, round(h.score, 4)) for h in store.search(vecs[q], k, exclude_ids=[q])] for q in queries]
