"""The library as a map: a 2-D layout of its track vectors where tracks that sound alike lie together.

A projection, not a measurement: PCA keeps the broad directions, then a neighbour-preserving layout
(UMAP's idea, in numpy: each track is pulled toward its nearest tracks in the full vector space and
pushed from random others) makes families visible as islands. Distances between islands mean little,
which the view says ("near on the map is not always near in sound").

Computed off the GUI thread and kept in HOME/cache/map-<space>.npz, keyed by the vector space (the
embedder key and its dimension) and a fingerprint of the track ids: an unchanged library reuses it at
start; new tracks are placed beside their nearest mapped tracks (and removed ones dropped) without
laying the rest out again, until more than a quarter of the map would be such placements, when the
whole layout is computed anew. Each track keeps its nearest tracks (ids) for the view's highlight.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

NEIGHBOURS = 10  # kept per track: the view highlights the playing track's nearest
LAYOUT_K = 15  # neighbours that pull in the layout
PCA_DIMS = 32  # neighbour search and the starting layout work in this many principal directions
EPOCHS = 200
NEGATIVES = 4  # random pushes per pull
REBUILD_SHARE = 0.25  # placed (not laid out) tracks beyond this share of the map: lay it all out again
FORMAT = 1


@dataclass
class LibraryMap:
    space: str  # the vector space it was computed in
    ids: np.ndarray  # (n,) int64 track ids
    xy: np.ndarray  # (n, 2) float32, roughly within [-1, 1]
    neighbours: np.ndarray  # (n, NEIGHBOURS) int64 track ids, -1 where fewer
    similarity: np.ndarray  # (n, NEIGHBOURS) float32 cosine of those neighbours
    placed: int = 0  # tracks added since the last full layout

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.ids)

    def index_of(self) -> dict[int, int]:
        return {int(t): i for i, t in enumerate(self.ids)}

    def neighbours_of(self, track_id: int) -> list[int]:
        rows = np.nonzero(self.ids == track_id)[0]
        return [] if not len(rows) else [int(t) for t in self.neighbours[rows[0]] if t >= 0]


def fingerprint(ids) -> str:
    return hashlib.sha1(np.asarray(sorted(int(i) for i in ids), np.int64).tobytes()).hexdigest()


# -- the computation (pure numpy) -------------------------------------------------------------------------
def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def principal(x: np.ndarray, dims: int = PCA_DIMS) -> np.ndarray:
    """`x` centred and projected on its `dims` leading principal directions (all of them when fewer),
    the leading first."""
    x = np.asarray(x, np.float32)
    x = x - x.mean(axis=0)
    if x.shape[0] < 2:
        return np.zeros((x.shape[0], min(dims, x.shape[1])), np.float32)
    if x.shape[1] <= x.shape[0]:
        _, vecs = np.linalg.eigh((x.T @ x).astype(np.float64))
        return x @ vecs[:, ::-1][:, :dims].astype(np.float32)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    return (u[:, :dims] * s[:dims]).astype(np.float32)


def nearest(queries: np.ndarray, base: np.ndarray, k: int, skip_self: bool = False, chunk: int = 2048):
    """(indices, cosines) of each query's `k` most similar rows of `base` (unit rows), best first."""
    k_eff = min(k, len(base) - (1 if skip_self else 0))
    idx = np.full((len(queries), k), -1, np.int64)
    sim = np.zeros((len(queries), k), np.float32)
    if k_eff <= 0:
        return idx, sim
    for a in range(0, len(queries), chunk):
        s = queries[a : a + chunk] @ base.T
        if skip_self:
            s[np.arange(len(s)), np.arange(a, a + len(s))] = -np.inf
        part = np.argpartition(-s, k_eff - 1, axis=1)[:, :k_eff]
        ps = np.take_along_axis(s, part, 1)
        order = np.argsort(-ps, axis=1)
        idx[a : a + chunk, :k_eff] = np.take_along_axis(part, order, 1)
        sim[a : a + chunk, :k_eff] = np.take_along_axis(ps, order, 1)
    return idx, sim


def _scale(y: np.ndarray) -> np.ndarray:
    """Centred, and scaled so the bulk lies within [-1, 1] (a far outlier may lie beyond)."""
    y = y - np.median(y, axis=0)
    spread = np.percentile(np.abs(y), 99) if len(y) else 1.0
    return (y / max(float(spread), 1e-9)).astype(np.float32)


def layout(knn: np.ndarray, start: np.ndarray, *, epochs: int = EPOCHS, seed: int = 0,
           movable: np.ndarray | None = None) -> np.ndarray:
    """Move the points `start` so each lies near its `knn` rows (UMAP's attraction along neighbour edges,
    repulsion from random points; batched gradient steps with a falling rate). Only `movable` rows move."""
    rng = np.random.default_rng(seed)
    n = len(start)
    y = (start / max(float(np.abs(start).max()), 1e-9) * 10.0).astype(np.float32)
    heads = np.repeat(np.arange(n), knn.shape[1])
    tails = knn.ravel()
    keep = tails >= 0
    heads, tails = heads[keep], tails[keep]
    if movable is not None:
        on = movable[heads]
        heads, tails = heads[on], tails[on]
    if not len(heads):
        return y.astype(np.float32)
    degree = np.maximum(np.bincount(heads, minlength=n), 1)[:, None]
    neg_heads = np.repeat(heads, NEGATIVES)

    def gather(rows, grads):
        return np.stack([np.bincount(rows, grads[:, 0], minlength=n), np.bincount(rows, grads[:, 1], minlength=n)], 1)

    for epoch in range(epochs):
        rate = 1.0 - epoch / epochs
        d = y[heads] - y[tails]
        d2 = np.einsum("ij,ij->i", d, d)[:, None]
        pull = np.clip(d * (-2.0 / (1.0 + d2)), -4, 4, out=d)
        tails_neg = rng.integers(0, n, len(neg_heads))
        dn = y[neg_heads] - y[tails_neg]
        dn2 = np.einsum("ij,ij->i", dn, dn)[:, None]
        push = np.clip(dn * (2.0 / ((0.001 + dn2) * (1.0 + dn2))), -4, 4, out=dn)  # a point pushes itself by 0
        step = (gather(heads, pull) + gather(neg_heads, push)) / degree
        if movable is not None:
            step[~movable] = 0.0
        y += rate * step
    return y


def compute(ids, vectors: np.ndarray, space: str, *, seed: int = 0, epochs: int = EPOCHS) -> LibraryMap:
    """The whole map of these tracks (rows of `vectors`, any scale: they are compared by cosine)."""
    ids = np.asarray(ids, np.int64)
    units = _unit(vectors)
    pcs = principal(units)
    reduced = _unit(pcs) if units.shape[1] > PCA_DIMS else units
    k = min(LAYOUT_K, max(2, (len(ids) - 1) // 4))  # a small library: pull toward the few nearest only
    knn, _ = nearest(reduced, reduced, k, skip_self=True)
    start = pcs[:, :2]
    if start.shape[1] < 2:
        start = np.pad(start, ((0, 0), (0, 2 - start.shape[1])))
    start = start + np.random.default_rng(seed).normal(0, 1e-4, start.shape).astype(np.float32)
    xy = _scale(layout(knn, start, epochs=epochs, seed=seed)) if len(ids) > 2 else _scale(start)
    nb, sim = nearest(units, units, NEIGHBOURS, skip_self=True)
    return LibraryMap(space, ids, xy, np.where(nb >= 0, ids[np.maximum(nb, 0)], -1), sim)


def update(old: LibraryMap, ids, vectors: np.ndarray, *, seed: int = 0) -> LibraryMap:
    """`old` for the tracks `ids` now have: removed ones dropped, new ones placed among their nearest
    mapped tracks (a similarity-weighted mean of their places, then a short layout that moves only them)."""
    ids = np.asarray(ids, np.int64)
    units = _unit(vectors)
    at = old.index_of()
    known = np.array([int(t) in at for t in ids], bool)
    old_rows = np.array([at[int(t)] for t in ids[known]], np.int64)
    xy = np.zeros((len(ids), 2), np.float32)
    xy[known] = old.xy[old_rows]
    nb = np.full((len(ids), NEIGHBOURS), -1, np.int64)
    sim = np.zeros((len(ids), NEIGHBOURS), np.float32)
    nb[known], sim[known] = old.neighbours[old_rows], old.similarity[old_rows]
    gone = np.setdiff1d(old.ids, ids)
    if len(gone):  # a removed neighbour leaves a hole at the end of the list
        dead = np.isin(nb, gone)
        sim[dead], nb[dead] = -np.inf, -1
        order = np.argsort(-sim, axis=1, kind="stable")
        nb, sim = np.take_along_axis(nb, order, 1), np.take_along_axis(sim, order, 1)
        sim[nb < 0] = 0.0
    new = np.nonzero(~known)[0]
    if len(new):
        kept = np.nonzero(known)[0]
        near, cos = nearest(units[new], units[kept], NEIGHBOURS)
        w = np.exp((cos - cos[:, :1]) * 20.0) * (near >= 0)  # the very nearest count most
        w /= np.maximum(w.sum(1, keepdims=True), 1e-12)
        jitter = np.random.default_rng(seed).normal(0, 0.01, (len(new), 2))
        xy[new] = (w[:, :, None] * xy[kept][np.maximum(near, 0)]).sum(1) + jitter
        nb[new], sim[new] = np.where(near >= 0, ids[kept][np.maximum(near, 0)], -1), cos
        # their mapped neighbours may now have them as nearer neighbours
        for j, row in enumerate(new):
            for i, s in zip(kept[near[j][near[j] >= 0]], cos[j][near[j] >= 0]):
                if s > sim[i, -1] or nb[i, -1] < 0:
                    merged = np.concatenate([nb[i], [ids[row]]]), np.concatenate([sim[i], [s]])
                    order = np.argsort(-merged[1], kind="stable")[:NEIGHBOURS]
                    nb[i], sim[i] = merged[0][order], merged[1][order]
        # a short layout of the newcomers alone, pulled by their neighbours among all tracks
        row_of = {int(t): r for r, t in enumerate(ids)}
        knn = np.array([[row_of.get(int(t), -1) for t in r] for r in nb], np.int64)
        movable = np.zeros(len(ids), bool)
        movable[new] = True
        y = layout(knn, xy, epochs=30, seed=seed, movable=movable)
        xy[new] = y[new] * (np.abs(xy).max() / 10.0)
    return LibraryMap(old.space, ids, xy, nb, sim, old.placed + len(new))


# -- the library's map, cached ----------------------------------------------------------------------------
def space_of(library) -> str:
    key = library.active_key
    return key or ""


def cache_path(library, space: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", space)
    return Path(library.settings.home) / "cache" / f"map-{safe}.npz"


def load(path: Path, space: str) -> LibraryMap | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["format"]) != FORMAT or str(z["space"]) != space:
                return None
            return LibraryMap(space, z["ids"].astype(np.int64), z["xy"].astype(np.float32),
                              z["neighbours"].astype(np.int64), z["similarity"].astype(np.float32), int(z["placed"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError) as e:
        log.warning("map cache %s unreadable (%s); computing it again", path, e)
        return None


def save(path: Path, m: LibraryMap) -> None:
    """Written beside and renamed into place: a crash keeps the old cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, format=FORMAT, space=m.space, ids=m.ids, xy=m.xy, neighbours=m.neighbours,
             similarity=m.similarity, placed=m.placed)
    os.replace(tmp, path)


@dataclass
class MapWork:
    """What a map needs once read from the library; `run()` is pure numpy (any thread) and caches it."""

    path: Path
    space: str
    ids: list[int]
    vectors: np.ndarray
    old: LibraryMap | None

    def run(self) -> LibraryMap:
        placed = len(set(self.ids) - set(self.old.ids.tolist())) if self.old is not None else len(self.ids)
        if self.old is not None and len(self.old) and self.old.placed + placed <= REBUILD_SHARE * len(self.ids):
            m = update(self.old, self.ids, self.vectors)
        else:
            m = compute(self.ids, self.vectors, self.space)
        save(self.path, m)
        return m


def plan(library) -> LibraryMap | MapWork | None:
    """The cached map when the library's searchable tracks are the ones it shows, else the work that makes
    it (read here, from the library's thread); None when nothing is indexed."""
    space = space_of(library)
    if not space:
        return None
    ids = sorted(library.catalog.searchable_ids(space))
    if not ids:
        return None
    path = cache_path(library, space)
    old = load(path, space)
    if old is not None and old.fingerprint == fingerprint(ids):
        return old
    raws = dict(library.catalog.raw_vectors(space, ids))
    ids = [i for i in ids if i in raws]
    if not ids:
        return None
    return MapWork(path, space, ids, library.space().to_unit(np.stack([raws[i] for i in ids])), old)


def library_map(library) -> LibraryMap | None:
    """The map of the library's searchable tracks in its active space: cached, updated or computed."""
    p = plan(library)
    return p.run() if isinstance(p, MapWork) else p
