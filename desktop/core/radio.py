"""A radio station: endless tracks like one or more seeds, steered by what the listener plays and skips.

Each refill asks the vector store for tracks nearer the positives (the seeds, tracks liked or played to
the end, the last few the station chose) than the negatives (tracks skipped early: "not this"), the
engine's best-score recommend among a pool of tracks around the positives (fetched every few refills: a
scan of a big library was half of each refill), then re-ranks those candidates by maximal marginal relevance around a
point between the recent tracks and the seeds: the station drifts but is pulled back, and one refill
does not hold five near-copies of one sound. The rules a good station keeps are applied to the
ranked candidates: no track twice within the no-repeat horizon, at most M per artist and per album
in any window of W, never another copy or version of a song already played, never a missing or failed
track. Every pick says why it was chosen.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from desktop.core.catalog import Track
from desktop.core.duplicates import CopyGuard, KnownCopies
from desktop.core.errors import SoundalikeError
from desktop.core.library import Library
from desktop.core.similarity import Query, resolve

SMALL_LIBRARY = 500  # under this many tracks no track repeats within a session (by default)
LARGE_NO_REPEAT = 200  # otherwise: no track twice within this many picks
MAX_ATTEMPTS = 5
SIZE_CHECK_S = 60.0  # how long a station trusts its count of the library
POOL_REFILLS = 3  # refills one pool (RadioRules.pool) serves before it is fetched again
HITS_PER_PICK = 4  # hits a refill may examine per pick it needs: the caps, copies and skips reject some


@dataclass
class RadioRules:
    no_repeat: int | None = None  # None: whole session under SMALL_LIBRARY tracks, else LARGE_NO_REPEAT
    per_artist: int = 2  # at most this many tracks of one artist ...
    per_album: int = 2  # ... and of one album ...
    window: int = 10  # ... in any run of this many consecutive picks
    recent: int = 3  # how many of the latest picks steer the next refill
    seed_pull: float = 0.5  # weight of the seeds against the recent tracks in the diversity centre
    diversity: float = 0.25  # 0 = nearest first, 1 = as varied as possible (MMR)
    skip_seconds: float = 30.0  # a skip before this point of the track means "not this"
    refill: int = 10  # picks per store query
    # A refill recommends among a pool of this many tracks around the station's positives, fetched with one
    # scan and kept for POOL_REFILLS refills (a scan per refill was half of a refill at 100k tracks); a retry
    # that needs more than the pool holds (the caps ate it) searches the whole store.
    pool: int = 1000

    def __post_init__(self):
        for name in ("per_artist", "per_album", "window", "refill", "pool"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', '-')} must be at least 1")
        if self.no_repeat is not None and self.no_repeat < 0:
            raise ValueError("no-repeat must not be negative")
        if not 0.0 <= self.diversity <= 1.0 or not 0.0 <= self.seed_pull <= 1.0:
            raise ValueError("diversity and seed pull are between 0 and 1")


@dataclass
class Pick:
    """One track the station chose, and why."""

    track_id: int
    path: str
    title: str
    artist: str
    album: str
    duration: float
    score: float  # cosine to the positive example it is most like
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Example:
    """A track (or dropped file) that steers the station, with the vector it steers by."""

    label: str
    vector: np.ndarray
    track_id: int | None = None
    extra: dict = field(default_factory=dict)


def label_of(track: Track | Query | dict) -> str:
    if isinstance(track, Query):
        return track.label or track.title or "the dropped file"
    get = track.get if isinstance(track, dict) else lambda k, d="": getattr(track, k, d)
    artist, title = get("artist", ""), get("title", "")
    return f"{artist} - {title}" if artist else title


class Station:
    """Call `take(n)` (or `next()`) for picks; report `skipped`, `finished`, `liked` as they happen."""

    def __init__(self, library: Library, seeds, rules: RadioRules | None = None):
        self.library = library
        self.rules = rules or RadioRules()
        self.seeds = [self._example(resolve(library, s) if not isinstance(s, Query) else s) for s in seeds]
        if not self.seeds:
            raise SoundalikeError("a station needs at least one seed track")
        self.liked: list[Example] = []
        self.negatives: list[Example] = []
        self.history: list[Pick] = []
        self._buffer: list[Pick] = []
        self._vectors: dict[int, np.ndarray] = {}
        self._cut = 0  # the oldest picks that may play again (the library ran out of other tracks)
        self._small: tuple[bool, float] | None = None  # (under SMALL_LIBRARY tracks?, when it was counted)
        self._pool: set[int] = set()  # ids around the positives (nearest_ids), and how many refills it served
        self._pool_age = POOL_REFILLS
        self._wide = False  # did the last refill need more than the first half of its hits?

    # -- what the listener does ----------------------------------------------------------------------
    def skipped(self, track_id: int, position: float) -> bool:
        """A skip within `skip_seconds` makes the track a negative example; True if it did."""
        if position > self.rules.skip_seconds or any(n.track_id == track_id for n in self.negatives):
            return False
        ex = self._track_example(track_id)
        if ex is None:
            return False
        self.negatives.append(ex)
        self._buffer.clear()  # picks made before the skip did not know it
        return True

    def undo_skip(self, track_id: int) -> None:
        self.negatives = [n for n in self.negatives if n.track_id != track_id]
        self._buffer.clear()

    def finished(self, track_id: int) -> None:
        """Played to the end: a positive example."""
        self.liked_track(track_id)

    def liked_track(self, track_id: int) -> None:
        """"More like this" (or played to the end): steer toward it; the latest few count."""
        ex = self._track_example(track_id)
        if ex is not None and all(e.track_id != track_id for e in self.liked):
            self.liked = (self.liked + [ex])[-self.rules.recent :]
            self._buffer.clear()
            self._pool_age = POOL_REFILLS  # the positives moved: the next refill fetches a pool around them

    def withdraw(self, track_ids) -> None:
        """Picks handed out but dropped unplayed (the queue was refilled): they may be chosen again."""
        gone = set(track_ids)
        self.history = [p for p in self.history if p.track_id not in gone]
        self._buffer = [p for p in self._buffer if p.track_id not in gone]

    # -- picks -----------------------------------------------------------------------------------
    def next(self) -> Pick:
        return self.take(1)[0]

    def take(self, n: int) -> list[Pick]:
        out: list[Pick] = []
        while len(out) < n:
            if not self._buffer:
                self._refill()
                if not self._buffer:
                    raise SoundalikeError("the library has no other playable track for this station")
            pick = self._buffer.pop(0)
            self.history.append(pick)
            out.append(pick)
        return out

    def no_repeat_horizon(self) -> int:
        """How many of the latest picks may not play again (nor any copy of them)."""
        r = self.rules.no_repeat
        if r is None:
            r = len(self.history) if self._small_library() else LARGE_NO_REPEAT
        return max(0, min(r, len(self.history) - self._cut))

    def _small_library(self) -> bool:
        """Under SMALL_LIBRARY indexed tracks? Counting the catalog took 17 ms at 10k tracks, 84 ms at
        30k; the store counts its points at once, and the answer is kept for SIZE_CHECK_S."""
        now = time.monotonic()
        if self._small is None or now - self._small[1] > SIZE_CHECK_S:
            self._small = (self.library.store().count() < SMALL_LIBRARY, now)  # the store holds the indexed
        return self._small[0]

    def _refill(self) -> None:
        store = self.library.store()
        for _ in range(MAX_ATTEMPTS):
            horizon = self.no_repeat_horizon()
            recent = self.history[len(self.history) - horizon :] if horizon else []
            excluded = {p.track_id for p in recent}
            excluded |= {s.track_id for s in self.seeds if s.track_id is not None}
            excluded |= {n.track_id for n in self.negatives if n.track_id is not None}
            # Copies duplicates.py found: hidden extras, and other files of what is playing (whatever their score).
            excluded |= KnownCopies.load(self.library.catalog).excluded(excluded, copies_of_these=True)
            # A refill may examine up to `most` hits (the rules reject some). It asks for the first half of them
            # while the last refill found its picks there: the same query's first hits in the same order (MMR
            # picks greedily, and `prefix_of` keeps the candidates), and half of the MMR work of the engine
            # (6.6 against 9.2 ms CPU at 100k tracks). When they run short it asks for all of them, then more.
            most = self.rules.refill * HITS_PER_PICK
            k = most if self._wide else self.rules.refill * 2
            within, tried = self._pool_around(store, excluded), self._guard(recent)
            while True:
                hits = store.recommend(self._positives(), [n.vector for n in self.negatives], k, within=within,
                                       around=self._centre(), diversity=self.rules.diversity, exclude_ids=excluded,
                                       with_vectors=True, with_payload=False, prefix_of=max(k, most))
                picks, seen = self._choose(store, hits, self.rules.refill, tried, caps=0)
                everything = within is None or len(within) < self.rules.pool  # the query saw every allowed track
                if len(picks) >= self.rules.refill or (len(hits) < k and everything):
                    break
                if k < most:  # the first half ran short: all `most` hits of the same query, from a fresh guard
                    k, tried = most, self._guard(recent)
                    continue
                # The caps or the pool ran short: more candidates, from the whole store, and a fresh guard (the
                # tracks this try accepted come again among them and are not copies of themselves).
                within, k, tried = None, k * 3, self._guard(recent)
            self._wide = k > most or seen > self.rules.refill * 2
            # The caps ate everything: the best track that breaks the fewest of them (artist, album); never a copy
            # of a played song nor a track nearer a skip than anything liked.
            for broken in (1, 2):
                if picks:
                    break
                picks, _ = self._choose(store, hits, 1, tried, caps=broken)
            if picks:
                self._buffer.extend(picks)
                return
            if not horizon:
                return
            # Every allowed track was played: let the older half of the session play again.
            self._cut = len(self.history) - horizon // 2

    def _guard(self, recent: list[Pick]) -> CopyGuard:
        """The seeds and the recent picks, to keep their copies out; each attempt of a refill starts afresh
        (`_choose` adds what it picks)."""
        g = CopyGuard()
        g.add_many([s.vector for s in self.seeds], [s.extra for s in self.seeds])
        known = [p for p in recent if p.track_id in self._vectors]
        if known:
            g.add_many([self._vectors[p.track_id] for p in known], [_info(p) for p in known])
        return g

    def _pool_around(self, store, excluded: set[int]) -> set[int] | None:
        """The pool this refill recommends from: fetched again every POOL_REFILLS refills around the
        positives' mean (the same centre the store's own one-scan pool uses), or when played tracks left
        fewer than half of it (a library smaller than the pool is all in it). None for the first refill:
        the store's one query (its own pool) brings the first track sooner than a pool and a query."""
        if not self.history:
            return None
        short = len(self._pool) >= self.rules.pool and 2 * len(self._pool - excluded) < self.rules.pool
        if self._pool_age >= POOL_REFILLS or short:
            self._pool = set(store.nearest_ids(np.mean(self._positives(), axis=0), self.rules.pool))
            self._pool_age = 0
        self._pool_age += 1
        return self._pool

    def _positives(self) -> list[np.ndarray]:
        recent = [self._vectors[p.track_id] for p in self.history[-self.rules.recent :] if p.track_id in self._vectors
                  and not any(n.track_id == p.track_id for n in self.negatives)]
        return [s.vector for s in self.seeds] + [e.vector for e in self.liked] + recent

    def _centre(self) -> np.ndarray:
        seeds = np.mean([s.vector for s in self.seeds], axis=0)
        recent = [self._vectors[p.track_id] for p in self.history[-self.rules.recent :] if p.track_id in self._vectors]
        recent += [e.vector for e in self.liked]
        c = seeds if not recent else self.rules.seed_pull * seeds + (1 - self.rules.seed_pull) * np.mean(recent, axis=0)
        return c / (np.linalg.norm(c) or 1.0)

    def _choose(self, store, hits, want: int, guard: CopyGuard, caps: int) -> tuple[list[Pick], int]:
        """Up to `want` picks from `hits`, best first, each breaking at most `caps` of the two caps (artist,
        album); and how many hits were examined."""
        vectors = {h.id: h.vector for h in hits if h.vector is not None}
        if len(vectors) < len(hits):  # a store that did not send them with the hits
            vectors.update(store.get_vectors([h.id for h in hits if h.id not in vectors]))
        hits = [h for h in hits if h.id in vectors]
        if not hits:
            return [], 0
        # Every candidate's score against every positive and negative example in one product.
        pos = self.seeds + self.liked
        cand = np.stack([vectors[h.id] for h in hits])
        pos_s = np.stack([e.vector for e in pos]) @ cand.T
        best, top = pos_s.argmax(axis=0), pos_s.max(axis=0)
        if self.negatives:
            neg_s = np.stack([n.vector for n in self.negatives]) @ cand.T
            nearest, neg_top = neg_s.argmax(axis=0), neg_s.max(axis=0)
        # The rules run on the catalog's rows of the hits, read at once (the store's copy of the tags cost more:
        # 1.6 ms a refill for 20 hits at 100k tracks against 0.8 ms for the rows, which were read anyway to see
        # that each pick still plays). The caps count artist and album keys over the last picks, folded once.
        rows = self.library.catalog.many([h.id for h in hits])
        played = [_keys(p) for p in self.history[-(self.rules.window - 1) :]] if self.rules.window > 1 else []
        chosen: list[Pick] = []
        chosen_keys: list[tuple[str, str]] = []
        i = 0
        while i < len(hits) and len(chosen) < want:
            j, t = i, rows.get(hits[i].id)
            i += 1
            if t is None:
                continue
            reason = f"like {pos[best[j]].label}, {top[j]:.2f}"
            if self.negatives:
                if neg_top[j] > top[j]:
                    continue  # nearer something skipped than anything liked
                reason += f" · away from {self.negatives[nearest[j]].label}"
            extra = {"file_hash": t.file_hash or "", "artist": t.artist or "", "title": t.title or "",
                     "album": t.album or "", "duration": float(t.duration or 0)}
            keys = _keys(extra)
            if guard.is_copy(cand[j], extra) or self._caps_broken(keys, played + chosen_keys) > caps:
                continue
            if not playable(t):
                continue
            guard.add(cand[j], extra)
            self._vectors[t.id] = cand[j]
            chosen.append(Pick(t.id, t.path, t.title, t.artist, t.album, float(t.duration), float(top[j]), reason))
            chosen_keys.append(keys)
        return chosen, i

    def _caps_broken(self, keys: tuple[str, str], window: list[tuple[str, str]]) -> int:
        """How many of the caps (at most per_artist / per_album of one artist / album among `keys` and the
        last window-1 picks) a track with `keys` would break: 0, 1 or 2."""
        w = window[-(self.rules.window - 1) :] if self.rules.window > 1 else []
        artist, album = keys
        return (bool(artist) and sum(a == artist for a, _ in w) >= self.rules.per_artist) + \
            (bool(album) and sum(b == album for _, b in w) >= self.rules.per_album)

    # -- examples --------------------------------------------------------------------------------
    def _example(self, q: Query) -> Example:
        extra = {"file_hash": q.file_hash, "artist": q.artist, "title": q.title, "duration": q.duration}
        return Example(label_of(q), np.asarray(q.vector, np.float32), q.track_id, extra)

    def _track_example(self, track_id: int) -> Example | None:
        v = self._vectors.get(track_id)
        if v is None:
            v = self.library.store().get_vectors([track_id]).get(track_id)
        if v is None:
            return None
        t = self.library.catalog.many([track_id]).get(track_id)
        return Example(label_of(t) if t else f"track {track_id}", v, track_id)

    # -- surviving a restart ---------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "seeds": [{"track_id": s.track_id, "label": s.label, **s.extra,
                       "vector": s.vector.tolist() if s.track_id is None else None} for s in self.seeds],
            "liked": [e.track_id for e in self.liked],
            "negatives": [n.track_id for n in self.negatives],
            "history": [p.to_dict() for p in self.history],
            "rules": asdict(self.rules),
        }

    @classmethod
    def restore(cls, library: Library, state: dict) -> Station:
        seeds = []
        for s in state.get("seeds", []):
            if s.get("track_id") is not None:
                seeds.append(int(s["track_id"]))
            elif s.get("vector"):
                seeds.append(Query(np.asarray(s["vector"], np.float32), None, s.get("file_hash", ""),
                                   s.get("artist", ""), s.get("title", ""), float(s.get("duration") or 0),
                                   s.get("label", "")))
        station = cls(library, seeds, RadioRules(**state.get("rules", {})))
        for d in state.get("history", []):
            station.history.append(Pick(**d))
        vecs = library.store().get_vectors([p.track_id for p in station.history])
        station._vectors.update(vecs)
        for tid in state.get("liked", []):
            station.liked_track(int(tid))
        for tid in state.get("negatives", []):
            station.skipped(int(tid), 0.0)
        return station


def playable(t: Track) -> bool:
    """Indexed (not pending, failed or missing) and the file is still there."""
    return t.status == "indexed" and os.path.exists(t.path)


def _info(p: Pick) -> dict:
    return {"artist": p.artist, "title": p.title, "duration": p.duration}


def _keys(track: Pick | dict) -> tuple[str, str]:
    """(artist, album) folded as the caps compare them: case and spacing do not count."""
    get = track.get if isinstance(track, dict) else lambda k: getattr(track, k)
    return _fold(get("artist")), _fold(get("album"))


@lru_cache(maxsize=8192)
def _fold(text: str) -> str:
    return " ".join((text or "").casefold().split())
