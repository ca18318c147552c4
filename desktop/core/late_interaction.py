"""Late interaction: two tracks are compared part by part, not only by their average.

Why: a track's vector is the average of what it does, but many tracks mix styles (a soundtrack's quiet
intro and its battle theme; one map's oriental theme and another's pirate one). Two tracks that share one
section can sound alike to a listener while their averages are far apart. The spectral embedder already
returns a vector per part it read (its 6 excerpts), standardised and whitened like the track vectors, so
each pair of tracks is also scored by the symmetric Chamfer similarity of their part sets: every part of
one finds its best match among the other's parts, the matches are averaged, and the two directions are
averaged ("MaxSim", as in ColBERT; symmetric so A-like-B equals B-like-A).

Measured on the development corpus (bench/library_learning.py, method `late`): P@1 0.739 -> 0.772,
P@10 0.554 -> 0.556, split-half P@10 +0.013 +- 0.011 (paired over 10 splits), leave-one-label-out P@10
0.573 -> 0.610 (up for 7 of 8 held-out labels). It uses no labels and no fitted constant; the only
constant is the candidate pool below, a cost bound.

Once the passage pass has read a track whole, its parts also include whole-track parts (`track_parts`): the
excerpts cover 90 s of a long track, these the rest of it.

How it runs: the store finds the `RERANK_POOL` nearest tracks by track vector (fast, any library size);
only those are re-scored from their part vectors in the catalog (one SQLite read and a few small matrix
products, about a millisecond). A track stored without parts counts its track vector as its one part.
Only spectral spaces are re-ranked: a model's parts are its analysis windows, whose effect could not be
measured here (no pretrained weights), so model spaces keep plain cosine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Candidates re-scored per query: the store's own float32 rescoring uses the same bound (max(100, 4k)). On
# the development corpus a pool of 100 gives what re-scoring every track gives (P@10 0.556 both; 40: 0.557).
RERANK_POOL = 100


def applies(key: str | None) -> bool:
    """Whether a vector space's ranking is re-scored by its parts (measured only for spectral spaces)."""
    return bool(key) and key.startswith("spectral-")


def chamfer(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric Chamfer (MaxSim) similarity of two sets of unit vectors (k x dim and m x dim), in [-1, 1]."""
    sims = np.asarray(a, np.float32) @ np.asarray(b, np.float32).T
    return float(sims.max(axis=1).mean() + sims.max(axis=0).mean()) / 2


def track_parts(catalog, key: str, ids: Sequence[int]) -> dict[int, np.ndarray]:
    """Each track's raw part vectors: its excerpts' (first pass) and, once the passage pass has read it whole, its
    whole-track parts (desktop.core.passage_windows). Tracks stored without parts are left out.

    The whole-track parts are merged from 2 s blocks, too short for the repetition dimensions: they take the
    track's own there (the mean over its excerpts). Measured on the development corpus (bench/part_coverage.py):
    excerpts + whole-track parts against excerpts alone, P@1 0.755 -> 0.761, P@10 0.557 -> 0.567, split-half
    P@10 +0.012 +- 0.005 (paired), leave-one-label-out 0.602 -> 0.619 (7 of 8 held-out labels up)."""
    from desktop.core.passage_catalog import rows_of  # lazy: only spectral spaces need it

    excerpts = catalog.parts_of(key, ids)
    if not applies(key):
        return excerpts
    out = dict(excerpts)
    for tid, parts in rows_of(catalog).parts(key, ids).items():
        mine = excerpts.get(tid)
        if mine is not None and parts.shape[1] == mine.shape[1]:  # else another space's shape: excerpts only
            out[tid] = np.concatenate([mine, with_track_repetition(parts, mine)])
    return out


def with_track_repetition(whole: np.ndarray, excerpts: np.ndarray) -> np.ndarray:
    """`whole` (whole-track parts merged from 2 s blocks, which hold no repetition measure) with the repetition
    dimensions of the track's excerpt parts (their mean), in place."""
    from desktop.core.embedders.spectral import REP_DIM  # lazy: only spectral spaces need it

    whole[:, -REP_DIM:] = np.asarray(excerpts)[:, -REP_DIM:].mean(0)
    return whole


def part_sets(space, ids: Sequence[int], units: dict[int, np.ndarray] | None = None) -> dict[int, np.ndarray]:
    """Standardised unit part vectors per track (`track_parts`); a track without parts gets its own unit vector as
    its one part (from `units` when given, else from its raw vector). Tracks with no vector at all are left out."""
    catalog = space.catalog
    raw_parts = track_parts(catalog, space.key, ids)
    out: dict[int, np.ndarray] = {}
    if raw_parts:  # one standardisation for all of them: one matrix product instead of one per track
        stacked = space.to_unit(np.concatenate(list(raw_parts.values())))
        bounds = np.cumsum([len(p) for p in raw_parts.values()])[:-1]
        out = dict(zip(raw_parts, np.split(np.atleast_2d(stacked), bounds), strict=True))
    missing = [tid for tid in ids if tid not in out]
    known = {tid: units[tid] for tid in missing if units and tid in units}
    raws = dict(catalog.raw_vectors(space.key, [t for t in missing if t not in known])) if missing else {}
    for tid in missing:
        if tid in known:
            out[tid] = np.atleast_2d(known[tid])
        elif tid in raws:
            out[tid] = np.atleast_2d(space.to_unit(raws[tid]))
    return out


def query_set(space, vector: np.ndarray, raw_parts: np.ndarray | None) -> np.ndarray:
    """The query's unit part vectors (its own unit vector when it has no parts)."""
    if raw_parts is None or not len(raw_parts):
        return np.atleast_2d(np.asarray(vector, np.float32))
    return np.atleast_2d(space.to_unit(np.asarray(raw_parts, np.float32)))


def rerank(query: np.ndarray, ids: Sequence[int], sets: dict[int, np.ndarray]) -> list[int]:
    """Positions of `ids` in re-scored order, best first (a stable sort: ties keep the store's order; a
    candidate without a part set keeps its place after the scored ones)."""
    scored = [i for i, tid in enumerate(ids) if tid in sets]
    scores = np.full(len(ids), -np.inf)
    if scored:
        scores[scored] = chamfer_many(query, [sets[ids[i]] for i in scored])
    return [int(i) for i in np.argsort(-scores, kind="stable")]


def chamfer_many(query: np.ndarray, sets: Sequence[np.ndarray]) -> np.ndarray:
    """`chamfer(query, s)` for every set, with one matrix product over all their parts."""
    parts = np.concatenate(sets).astype(np.float32)
    starts = np.concatenate([[0], np.cumsum([len(s) for s in sets])[:-1]])
    sims = np.asarray(query, np.float32) @ parts.T  # query parts x all candidate parts
    query_side = np.maximum.reduceat(sims, starts, axis=1).mean(axis=0)  # each query part's best, per set
    their_side = np.add.reduceat(sims.max(axis=0), starts) / np.diff(np.append(starts, len(parts)))
    return (query_side + their_side) / 2


def rerank_rankings(rankings: list[list[int]], sets: list[np.ndarray], pool: int = RERANK_POOL) -> list[list[int]]:
    """Leave-one-out rankings (indices into `sets`) with each query's first `pool` re-scored by parts, as
    `similar` does in the app; the rest keep their order. For `soundalike eval`."""
    out = []
    for q, ranking in enumerate(rankings):
        head = list(ranking[:pool])
        scores = chamfer_many(sets[q], [sets[j] for j in head]) if head else np.zeros(0)
        order = np.argsort(-scores, kind="stable")
        out.append([head[i] for i in order] + list(ranking[pool:]))
    return out
