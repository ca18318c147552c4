"""A song path: from track A to track B in N steps, each the unused track that best continues the line.

Step i aims at the point a fraction i/(N-1) along the great circle from A to B (spherical
interpolation of the unit vectors, so every target is as "sharp" as a real track) and takes the best
allowed track near it: no track twice, no copy of a track already on the path, the per-artist cap.
The largest jump between neighbours is reported, so the user sees where the library is thin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from desktop.core.duplicates import CopyGuard, KnownCopies
from desktop.core.errors import SoundalikeError
from desktop.core.library import Library
from desktop.core.radio import Pick, label_of, playable
from desktop.core.similarity import resolve

MIN_STEPS, MAX_STEPS = 2, 200


@dataclass
class SongPath:
    steps: list[Pick] = field(default_factory=list)
    largest_jump: float = 0.0  # 1 - cosine between the two neighbours farthest apart
    largest_jump_at: int = 0  # index of the step that makes it (the jump is from step-1 to step)

    def to_dict(self) -> dict:
        return {"steps": [p.to_dict() for p in self.steps], "largest_jump": self.largest_jump,
                "largest_jump_at": self.largest_jump_at}


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    omega = float(np.arccos(np.clip(a @ b, -1.0, 1.0)))
    if omega < 1e-6:
        return a.copy()
    v = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    return v / (np.linalg.norm(v) or 1.0)


def song_path(library: Library, start: int | str, end: int | str, steps: int = 12,
              per_artist: int | None = None) -> SongPath:
    """`steps` tracks from `start` to `end` (both library tracks, both included)."""
    if not MIN_STEPS <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be between {MIN_STEPS} and {MAX_STEPS}")
    qa, qb = resolve(library, start), resolve(library, end)
    if qa.track_id is None or qb.track_id is None:
        raise SoundalikeError("a path runs between two tracks of the library")
    if qa.track_id == qb.track_id:
        raise SoundalikeError("a path needs two different tracks")
    ends = library.catalog.many([qa.track_id, qb.track_id])
    a, b = np.asarray(qa.vector, np.float32), np.asarray(qb.vector, np.float32)
    guard = CopyGuard()
    for q in (qa, qb):
        guard.add(q.vector, {"file_hash": q.file_hash, "artist": q.artist, "title": q.title, "duration": q.duration})
    used = {qa.track_id, qb.track_id}
    known = KnownCopies.load(library.catalog)
    used |= known.excluded(used, copies_of_these=True)  # extra copies duplicates.py found, and the ends' copies
    per: dict[str, int] = {}
    for t in ends.values():
        per[t.artist.casefold()] = per.get(t.artist.casefold(), 0) + 1
    first = _pick(ends[qa.track_id], 1.0, f"start: {label_of(ends[qa.track_id])}")
    picks, vectors = [first], [a]
    for i in range(1, steps - 1):
        target = slerp(a, b, i / (steps - 1))
        chosen = _best_near(library, target, used, guard, per, per_artist)
        if chosen is None:
            break  # the library has no more allowed tracks: a shorter path
        t, v, score = chosen
        used.add(t.id)
        used |= known.copies_of(t.id)
        guard.add(v, {"file_hash": t.file_hash, "artist": t.artist, "title": t.title, "duration": t.duration})
        per[t.artist.casefold()] = per.get(t.artist.casefold(), 0) + 1
        picks.append(_pick(t, score, f"step {i} of {steps - 1}, {score:.2f} to the line"))
        vectors.append(v)
    picks.append(_pick(ends[qb.track_id], float(a @ b), f"end: {label_of(ends[qb.track_id])}"))
    vectors.append(b)
    jumps = [1.0 - float(vectors[i - 1] @ vectors[i]) for i in range(1, len(vectors))]
    at = int(np.argmax(jumps)) + 1
    return SongPath(picks, round(jumps[at - 1], 4), at)


def _best_near(library: Library, target: np.ndarray, used: set[int], guard: CopyGuard, per: dict[str, int],
               per_artist: int | None):
    store = library.store()
    k = 20
    while True:
        hits = store.search(target, k, exclude_ids=used)
        tracks = library.catalog.many([h.id for h in hits])
        vectors = store.get_vectors([h.id for h in hits])
        for h in hits:
            t, v = tracks.get(h.id), vectors.get(h.id)
            if t is None or v is None or not playable(t):
                continue
            if per_artist and per.get(t.artist.casefold(), 0) >= per_artist:
                continue
            info = {"file_hash": t.file_hash, "artist": t.artist, "title": t.title, "duration": t.duration}
            if guard.is_copy(v, info):
                continue
            return t, v, float(h.score)
        if len(hits) < k:
            return None
        k *= 4


def _pick(t, score: float, reason: str) -> Pick:
    return Pick(t.id, t.path, t.title, t.artist, t.album, float(t.duration), float(score), reason)

