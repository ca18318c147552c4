"""Similarity on a scale the user can read: a hit's distance measured against its neighbourhood's.

A raw cosine means little (one library's best match is 0.24, another's 0.80) and moves whenever the
library's statistics are refitted. A hit's *closeness* (0-100) compares its distance from the query with
the typical distance between the tracks around the query and their own best matches (the median of
those nearest-neighbour distances): 50 = as close as tracks in this part of the library usually are to
their best match, 100 = the same sound, toward 0 = far. Words follow from it ("very close", "close",
"related", "distant"). The reference is local (the query's ten nearest tracks), so music added far away
does not enter it. Distances are measured in a fixed reference space (desktop.core.fixed_space: the
space's shipped prior statistics, not the library's refitted ones), so adding tracks moves no score
between tracks already there: closeness moved 0.4 points on average, 0.8 at most, when 50 unrelated
tracks were added to 30 (it moved 3.2 / 7.4 measured in the refitted space; bench/README.md). Which k
tracks are hits is still decided in the library's refitted space (it finds better candidates); they are
listed by their closeness.

A sample of the library's tracks and their nearest neighbours (fitted once per set of statistics) keeps,
per feature group, how far apart nearest-neighbour pairs are, which the "why" text of
`desktop.core.explain` ranks a hit against. The raw score stays on every hit (tooltip, --json).
"""

from __future__ import annotations

import json
import logging

import numpy as np

from desktop.core import explain
from desktop.core.fixed_space import NEIGHBOUR_POOL, POOL, fixed_space, top_scores
from desktop.core.similarity import SAME_AUDIO_SCORE, Query, shape

log = logging.getLogger(__name__)

SAMPLE = 300  # tracks whose nearest neighbour defines the scale (bounded cost at any library size)
FIT_BATCH = 50  # their searches asked of the store at a time (one round trip to the window's store process)
META = "calibration:"
# closeness (percentile) -> words
LEVELS = ((70.0, "very close"), (40.0, "close"), (15.0, "related"), (-1.0, "distant"))


def words(closeness: float) -> str:
    return next(w for limit, w in LEVELS if closeness >= limit)


class Calibration:
    def __init__(self, key: str, fitted_n: int, scores, groups: dict[str, list[float]]):
        self.key, self.fitted_n = key, int(fitted_n)
        self.scores = np.sort(np.asarray(scores, np.float64))
        self.groups = {g: sorted(v) for g, v in groups.items()}

    def to_json(self) -> str:
        return json.dumps({"key": self.key, "fitted_n": self.fitted_n,
                           "scores": [round(float(s), 6) for s in self.scores],
                           "groups": {g: [round(float(d), 6) for d in v] for g, v in self.groups.items()}})

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        d = json.loads(text)
        return cls(d["key"], d["fitted_n"], d["scores"], d["groups"])


def sample_ids(ids, n: int = SAMPLE) -> list[int]:
    """Evenly spaced over the sorted ids: deterministic, so the same library gives the same scale."""
    ids = sorted(ids)
    if len(ids) <= n:
        return ids
    return [ids[int(i)] for i in np.linspace(0, len(ids) - 1, n).round()]


def fit(library) -> Calibration | None:
    """Search each sampled track's nearest neighbour (copies and duplicates dropped as in `similar`)."""
    key = library.active_key
    if not key:
        return None
    catalog, store, std = library.catalog, library.store(), library.space().standardizer()
    sample = sample_ids(catalog.indexed_ids(key))
    vectors = store.get_vectors(sample)
    tracks = catalog.many(sample)
    queries = [Query(vectors[tid], tid, t.file_hash, t.artist, t.title, t.duration)
               for tid in sample if (t := tracks.get(tid)) is not None and tid in vectors]
    scores, pairs = [], []
    for start in range(0, len(queries), FIT_BATCH):
        batch = queries[start : start + FIT_BATCH]
        for q, found in zip(batch, store.search_each([(q.vector, 12, {"exclude_ids": [q.track_id]}) for q in batch])):
            hits = shape(found, q, 1, None)
            if hits:
                scores.append(hits[0].score)
                pairs.append((q.track_id, hits[0].track_id))
    groups = explain.groups_for(key)
    reference: dict[str, list[float]] = {name: [] for name, _ in groups}
    if groups and pairs:
        raws = dict(catalog.raw_vectors(key, sorted({i for p in pairs for i in p})))
        for a, b in pairs:
            if a in raws and b in raws:
                for (name, _), d in zip(groups, explain.group_distances(groups, std.mean, std.scale, raws[a], raws[b])):
                    reference[name].append(d)
    return Calibration(key, std.n, scores, reference) if scores else None


def calibration(library) -> Calibration | None:
    """The library's calibration, fitted once per set of statistics and kept in the catalog."""
    key = library.active_key
    if not key:
        return None
    fitted_n = library.space().standardizer().n
    text = library.catalog.meta(META + key)
    if text:
        try:
            cal = Calibration.from_json(text)
            if cal.key == key and cal.fitted_n == fitted_n:
                return cal
        except (ValueError, KeyError, TypeError):
            log.warning("calibration of %s unreadable; fitting it again", key)
    cal = fit(library)
    if cal is not None:
        library.catalog.set_meta(META + key, cal.to_json())
    return cal


NEIGHBOURS = 10  # the query's neighbourhood: its nearest tracks ...
PER_NEIGHBOUR = 3  # ... and each one's best matches make the reference scale
_LOCAL: dict[tuple[str, str, int], dict[int, list[float]]] = {}


def best_scores(library, track_id: int, vector: np.ndarray | None = None, n: int = PER_NEIGHBOUR) -> list[float]:
    """A library track's `n` best match scores (copies dropped), cached per set of statistics."""
    key = library.active_key
    cache = _LOCAL.setdefault((str(library.catalog.path), key, library.space().standardizer().n), {})
    if track_id not in cache:
        store = library.store()
        if vector is None:
            vector = store.get_vectors([track_id]).get(track_id)
        t = library.catalog.many([track_id]).get(track_id)  # a point the catalog lacks has no reference
        if vector is None or t is None:
            return []
        q = Query(vector, track_id, t.file_hash, t.artist, t.title, t.duration)
        cache[track_id] = [h.score for h in shape(store.search(vector, n * 3 + 10, exclude_ids=[track_id]), q, n, None)]
    return cache[track_id]


def local_reference(library, q) -> np.ndarray:
    """The best-match scores of the query's neighbourhood: the query's own and its nearest tracks'.

    Local, not library-wide: tracks added far away (another genre) do not enter it, and a refit moves
    these scores together with the hit's, so closeness stays put as the library grows. It also evens
    out density: in a crowded genre every raw score is high, in a sparse corner low; "close" means close
    for the part of the library the query is in."""
    store = library.store()
    exclude = [q.track_id] if q.track_id is not None else []
    neighbours = shape(store.search(q.vector, NEIGHBOURS * 3 + 10, exclude_ids=exclude), q, NEIGHBOURS, None)
    scores = [s for h in neighbours for s in best_scores(library, h.track_id)]
    scores += [h.score for h in neighbours[:PER_NEIGHBOUR]]  # the query's own best matches
    return np.sort(np.asarray(scores, np.float64))


def distance(score) -> np.ndarray:
    """Euclidean distance of two unit vectors with this cosine (0 = the same, 2 = opposite)."""
    return np.sqrt(np.maximum(2.0 - 2.0 * np.asarray(score, np.float64), 0.0))


def typical_distance(reference_scores: np.ndarray) -> float:
    return float(np.median(distance(reference_scores))) if len(reference_scores) else 0.0


def closeness(score: float, typical: float) -> float:
    """100 at distance 0, 50 at the neighbourhood's typical best-match distance, toward 0 beyond.

    A smooth function of the distance *relative to* the neighbourhood's: a refit that draws every track
    of a genre closer moves the hit and the reference together, and ranks never jump by whole steps."""
    if typical <= 1e-9:
        return 100.0 if score >= 1.0 - 1e-9 else 0.0
    return round(100.0 * 2.0 ** (-(float(distance(score)) / typical) ** 2), 1)


def fixed_closeness(library, fixed, q, hits: list) -> dict[int, float]:
    """Each hit's closeness measured in the fixed reference space (desktop.core.fixed_space): the query's
    distance to the hit against the typical best-match distance of the query's neighbourhood, both in a
    space whose scores do not move when tracks are added, so neither does the closeness. Neighbours are
    the best of a pool of store candidates, rescored there."""
    catalog, store = library.catalog, library.store()
    unit = fixed.to_unit(q.raw)
    own = [q.track_id] if q.track_id is not None else []
    pool = [h.id for h in store.search(q.vector, POOL, exclude_ids=own)]
    near = top_scores(unit, fixed.units(catalog, pool), NEIGHBOURS, SAME_AUDIO_SCORE)
    reference = [s for _, s in near[:PER_NEIGHBOUR]]
    size = catalog.vector_count(fixed.key)
    if size != fixed.best_size:  # tracks came or went: best matches may have changed
        fixed.best.clear()
        fixed.best_size = size
    todo = [t for t, _ in near if t not in fixed.best]
    stored = store.get_vectors(todo) if todo else {}
    if stored:  # each neighbour's own best matches, rescored in the fixed space (all its searches in one call)
        with_vector = list(stored)
        arounds = store.search_each([(stored[t], NEIGHBOUR_POOL, {"exclude_ids": [t]}) for t in with_vector])
        mine = fixed.units(catalog, with_vector + [h.id for found in arounds for h in found])
        for t, found in zip(with_vector, arounds):
            fixed.best[t] = [] if t not in mine else [s for _, s in top_scores(
                mine[t], {h.id: mine[h.id] for h in found if h.id in mine}, PER_NEIGHBOUR, SAME_AUDIO_SCORE)]
    for t, _ in near:
        reference += fixed.best.get(t, [])
    typical = typical_distance(np.sort(np.asarray(reference, np.float64)))
    units = fixed.units(catalog, [h.track_id for h in hits])
    return {h.track_id: closeness(float(units[h.track_id] @ unit) if h.track_id in units else h.score, typical)
            for h in hits}


def annotate(library, q, hits: list) -> list:
    """Give each hit its closeness, words and (spectral spaces) why-text, in place; returns the hits."""
    if not hits:
        return hits
    cal = calibration(library)
    if cal is None:
        return hits
    fixed = fixed_space(library) if q.raw is not None else None
    if fixed is not None:
        closeness_of = fixed_closeness(library, fixed, q, hits)
    else:  # no raw vector to place the query in the fixed space: the library's own scores
        typical = typical_distance(local_reference(library, q))
        closeness_of = {h.track_id: closeness(h.score, typical) for h in hits}
    key = library.active_key
    groups = explain.groups_for(key)
    raws = dict(library.catalog.raw_vectors(key, [h.track_id for h in hits])) if groups and q.raw is not None else {}
    std = library.space().standardizer()
    for h in hits:
        h.closeness = closeness_of[h.track_id]
        h.words = words(h.closeness)
    explained = [h for h in hits if h.track_id in raws]
    if explained:  # every hit's group distances and words at once (a loop per hit and group cost ~3 ms a query)
        distances = explain.group_distances(groups, std.mean, std.scale, q.raw,
                                            np.stack([raws[h.track_id] for h in explained]))
        for h, parts in zip(explained, explain.likeness_many(groups, distances, cal.groups)):
            h.why = explain.why_text(parts)
            h.why_groups = [p.to_dict() for p in parts]
    # The top k were chosen in the library's space; they are listed by the closeness they show (a stable sort:
    # ties keep the library's order), so a list never reads "related" above "close".
    hits.sort(key=lambda h: -h.closeness)
    return hits
