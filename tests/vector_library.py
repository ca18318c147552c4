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


def make_library(home: Path, n: int, *, seed: int = 0, keys=(KEY,), fill_store: bool = True,
                 **settings) -> np.ndarray:
    """`n` tracks (ids 1..n) with a raw vector per key in `keys`; the first key is the active one.
    Each vector lies around one of 8 centres (its family); returns the first key's family per track."""
    rng = np.random.default_rng(seed)
    families = []
    cat = Catalog(Path(home) / "catalog.sqlite3")
    for i in range(n):
        cat.add_track(Track(id=0, path=f"/music/{home.name}/{i}.flac", title=f"{home.name} {i}",
                            artist=f"artist{i % 7}", genre=GENRES[i % 3], year=1970 + i % 40, duration=200.0))
    for key in keys:
        dim = int(key.rsplit("-", 1)[1])
        centers = rng.standard_normal((8, dim)) * 3 + 5
        family = rng.integers(0, 8, n)
        families.append(family)
        raws = (centers[family] + rng.standard_normal((n, dim))).astype(np.float32)
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
            units = lib.space().to_unit(np.stack([r for _, r in lib.catalog.raw_vectors(keys[0])]))
            tracks = lib.catalog.many(range(1, n + 1))
            lib.store().upsert([(tid, units[tid - 1], tracks[tid].payload()) for tid in range(1, n + 1)])
    return families[0]


def top_ids(home: Path, queries: list[int], k: int = 10) -> list[list[tuple[int, float]]]:
    """For each query track id: its stored vector's k nearest (id, score), as the library sees them."""
    with Library.open(home) as lib:
        store = lib.store()
        vecs = store.get_vectors(queries)
        return [[(h.id, round(h.score, 4)) for h in store.search(vecs[q], k, exclude_ids=[q])] for q in queries]


def add_passage_windows(home: Path, *, seed: int = 1, key: str = KEY) -> int:
    """Give every track of the library 3-12 raw windows (catalog rows) and write its passage index the way
    the passage pass does; returns the number of windows."""
    from desktop.core.passage_catalog import PassageRows
    from desktop.core.passages import STAMP, stats_stamp

    rng = np.random.default_rng(seed)
    total = 0
    with Library.open(home) as lib:
        rows, store = PassageRows(lib.catalog), lib.passages()
        tracks = lib.catalog.many(lib.catalog.indexed_ids(key))
        for tid in sorted(tracks):
            n = int(rng.integers(3, 13))
            base = dict(lib.catalog.raw_vectors(key, [tid]))[tid]
            raws = (base + rng.standard_normal((n, base.shape[0])) * 0.5).astype(np.float32)
            starts, ends = np.arange(n) * 2.0, np.arange(n) * 2.0 + 4.0
            rows.save(tid, key, tracks[tid].size, tracks[tid].mtime, starts, ends, raws)
            stored = next(rows.windows(key, ids=[tid]))[3]  # as the catalog keeps them (float16)
            store.replace_track(tid, starts, ends, lib.space().to_unit(stored), had_windows=False)
            total += n
        lib.catalog.set_meta(STAMP + key, stats_stamp(lib, key))
    return total


def passage_top(home: Path, queries: list[int], k: int = 8) -> list[list[tuple[int, float, float]]]:
    """For each query track id: the k nearest windows to its first window, as (track, start, score)."""
    from desktop.core.passage_catalog import PassageRows

    with Library.open(home) as lib:
        firsts = [raws[0] for _, _, _, raws in PassageRows(lib.catalog).windows(lib.active_key, ids=queries)]
        found = lib.passages().search_many(lib.space().to_unit(np.stack(firsts)), k)
        return [[(h.track_id, h.start, round(h.score, 4)) for h in hits] for hits in found]
