"""Duplicates: files that hold the same recording (re-encodings, copies in two folders, FLAC + MP3).

Two tracks are one recording when their file hashes match, or when the vector store proposes them
(score at least `CANDIDATE_SCORE` among a track's nearest neighbours whose duration is within
`DURATION_TOLERANCE` s) and their waveforms match (fingerprint.py: the low band at one offset that
holds through the excerpt, and the high band at that offset); a second pass compares the groups found
with each other, so a recording split by the narrow neighbour search comes out whole. Measured (bench/
duplicates_quality.py, spectral embedder, re-encodings as WAV/FLAC/Opus/MP3/AAC at 64-320 kbps against
distinct tracks of one synthesised family): vector scores alone overlap (copies 0.42-0.999, different
tracks of one family up to 0.993), so no vector threshold separates them; the waveform check does.
`DUPLICATE_SCORE` is what a station and a similar list use without decoding: at or above it (and the
same duration) two vectors are taken for one recording. Nothing is ever deleted: the result is a
report, and `CopyGuard` lets similar lists and stations leave the extra copies out.

The groups of the last search are remembered in the catalog (`KnownCopies`): from then on similar lists,
stations and paths leave every extra copy out (a setting, on by default, that the window's Duplicates
dialog and `soundalike duplicates --show-copies/--hide-copies` change), and a station never plays another
copy of a track it played, even one whose vectors differ too much for `CopyGuard` (an Opus copy at 0.9).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from desktop.core.library import Library

DUPLICATE_SCORE = 0.995  # measured: no two different tracks of one family reached it (max 0.993)
CANDIDATE_SCORE = 0.6  # measured: 95 % of copy pairs score above it (5th percentile 0.61)
DURATION_TOLERANCE = 1.0  # seconds
SAME_SONG_SECONDS = 3.0  # same artist + title within this many seconds: the same song filed twice
NEIGHBOURS = 16  # nearest neighbours (of about the same duration) examined per track
MERGE_SCORE = CANDIDATE_SCORE  # second pass: two groups are compared when some pair of their members scores this
GROUPS_KEY = "duplicate_groups"  # catalog meta: JSON [[best id, extra id, ...], ...] of the last search
HIDE_KEY = "hide_duplicate_copies"  # catalog meta: "1" (the default) or "0"
LOSSLESS = {".flac", ".wav", ".aif", ".aiff", ".ape", ".wv", ".tta", ".alac"}


def same_recording(score: float, duration_a: float, duration_b: float, threshold: float = DUPLICATE_SCORE) -> bool:
    if score < threshold:
        return False
    if duration_a > 0 and duration_b > 0:
        return abs(duration_a - duration_b) <= DURATION_TOLERANCE
    return True


@lru_cache(maxsize=8192)
def song_text(text: str) -> str:
    """An artist or title folded for comparing songs: case, punctuation and spacing do not count."""
    return re.sub(r"\W+", " ", (text or "").casefold()).strip()


class CopyGuard:
    """The recordings already chosen; `is_copy` says whether another track is one of them again
    (same content hash, same artist + title within a few seconds, or a same-recording vector score).

    A station asks it about every candidate against up to a few hundred played tracks: the vectors are
    kept as one matrix (grown by doubling) so each question is one matrix-vector product."""

    def __init__(self, threshold: float = DUPLICATE_SCORE):
        self.threshold = threshold
        self._matrix = np.empty((0, 0), np.float32)
        self._durations = np.empty(0, np.float64)
        self._n = 0
        self._hashes: set[str] = set()
        self._songs: dict[tuple[str, str], list[float]] = {}  # (artist, title) -> durations

    def add(self, vector: np.ndarray, info: dict) -> None:
        v = np.asarray(vector, np.float32).ravel()
        if self._n == len(self._matrix):
            grown = np.empty((max(16, 2 * self._n), v.size), np.float32)
            if self._n:
                grown[: self._n] = self._matrix[: self._n]
            self._matrix, self._durations = grown, np.resize(self._durations, len(grown))
        self._matrix[self._n] = v
        self._durations[self._n] = float(info.get("duration") or 0)
        self._n += 1
        if info.get("file_hash"):
            self._hashes.add(info["file_hash"])
        if info.get("title"):
            key = (song_text(info.get("artist", "")), song_text(info["title"]))
            self._songs.setdefault(key, []).append(float(info.get("duration") or 0))

    def add_many(self, vectors, infos: list[dict]) -> None:
        """`add` for many tracks at once: a station rebuilds its guard over up to a few hundred played tracks
        each refill, and adding them one by one was 5 ms of a 20 ms refill at a 200-track horizon."""
        if not len(infos):
            return
        m = np.asarray(vectors, np.float32).reshape(len(infos), -1)
        if self._n + len(m) > len(self._matrix):
            grown = np.empty((max(16, 2 * (self._n + len(m))), m.shape[1]), np.float32)
            if self._n:
                grown[: self._n] = self._matrix[: self._n]
            self._matrix, self._durations = grown, np.resize(self._durations, len(grown))
        self._matrix[self._n : self._n + len(m)] = m
        self._durations[self._n : self._n + len(m)] = [float(i.get("duration") or 0) for i in infos]
        self._n += len(m)
        for info in infos:
            if info.get("file_hash"):
                self._hashes.add(info["file_hash"])
            if info.get("title"):
                key = (song_text(info.get("artist", "")), song_text(info["title"]))
                self._songs.setdefault(key, []).append(float(info.get("duration") or 0))

    def is_copy(self, vector: np.ndarray, info: dict) -> bool:
        if info.get("file_hash") and info["file_hash"] in self._hashes:
            return True
        d = float(info.get("duration") or 0)
        if info.get("title"):
            for sd in self._songs.get((song_text(info.get("artist", "")), song_text(info["title"])), ()):
                if not d or not sd or abs(d - sd) <= SAME_SONG_SECONDS:
                    return True
        if not self._n:
            return False
        scores = self._matrix[: self._n] @ np.asarray(vector, np.float32).ravel()
        hits = np.flatnonzero(scores >= self.threshold)
        return any(same_recording(float(scores[i]), d, float(self._durations[i]), self.threshold) for i in hits)


class KnownCopies:
    """The duplicate groups the last search found, and whether their extra copies are hidden."""

    def __init__(self, groups: list[list[int]] = (), hide: bool = True):
        self.groups = [list(g) for g in groups if len(g) > 1]
        self.hide = hide
        self._group_of = {tid: g for g in self.groups for tid in g}
        self.extras = {tid for g in self.groups for tid in g[1:]}  # each group's first id is its best copy

    @classmethod
    def load(cls, catalog) -> KnownCopies:
        try:
            groups = json.loads(catalog.meta(GROUPS_KEY) or "[]")
        except ValueError:  # written by us; unreadable means nothing is known (a fresh search fixes it)
            groups = []
        return cls([[int(i) for i in g] for g in groups if isinstance(g, list)], catalog.meta(HIDE_KEY) != "0")

    @staticmethod
    def remember(catalog, groups: list[DuplicateGroup]) -> None:
        ids = [[g.best.track_id] + [c.track_id for c in g.extras] for g in groups]
        catalog.set_meta(GROUPS_KEY, json.dumps(ids))

    @staticmethod
    def set_hidden(catalog, hide: bool) -> None:
        catalog.set_meta(HIDE_KEY, "1" if hide else "0")

    def copies_of(self, track_id: int | None) -> set[int]:
        """The other files holding the recording of `track_id` (empty when it has none known)."""
        return set(self._group_of.get(track_id, ())) - {track_id} if track_id is not None else set()

    def excluded(self, track_ids=(), copies_of_these: bool | None = None) -> set[int]:
        """Ids to leave out of a list around `track_ids`: every extra copy (when hidden), and the other
        copies of `track_ids` themselves (when hidden, or always with copies_of_these=True: a station)."""
        out = set(self.extras) if self.hide else set()
        if self._group_of and (self.hide if copies_of_these is None else copies_of_these):
            for tid in track_ids:
                out |= self.copies_of(tid)
        return out - set(track_ids)


@dataclass
class Copy:
    track_id: int
    path: str
    title: str
    artist: str
    duration: float
    format: str  # file extension without the dot, upper case
    lossless: bool
    bitrate: int  # kbit/s (0: unknown)
    sample_rate: int
    size: int  # bytes (0: the file is gone)
    tags: int  # how many of title/artist/album/genre/date/tracknumber the file carries
    score: float = 1.0  # waveform match with the group's best copy (1.0: the same bytes)
    best: bool = False

    def rank(self) -> tuple:
        """Which copy to keep: lossless > higher bitrate > more tags > higher sample rate."""
        return (self.lossless, self.bitrate, self.tags, self.sample_rate, self.size)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DuplicateGroup:
    copies: list[Copy] = field(default_factory=list)

    @property
    def best(self) -> Copy:
        return next(c for c in self.copies if c.best)

    @property
    def extras(self) -> list[Copy]:
        return [c for c in self.copies if not c.best]

    def to_dict(self) -> dict:
        return {"best": self.best.track_id, "copies": [c.to_dict() for c in self.copies]}


def find_duplicates(library: Library, *, candidate_score: float = CANDIDATE_SCORE, neighbours: int = NEIGHBOURS,
                    progress: Callable[[int, int], None] | None = None, remember: bool = True) -> list[DuplicateGroup]:
    """Every group of two or more tracks holding one recording, biggest groups first; `remember` keeps
    them in the catalog for similar lists and stations (KnownCopies)."""
    # lazy: fingerprinting only for a duplicate search
    from desktop.core.fingerprint import SAME_RECORDING, compare, excerpt

    catalog, store = library.catalog, library.store()
    ids = catalog.track_ids(status="indexed")
    tracks = catalog.many(ids)
    parent = {i: i for i in ids}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(a: int, b: int) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_hash: dict[str, int] = {}
    for i in ids:
        h = tracks[i].file_hash
        if h:
            if h in by_hash:
                join(by_hash[h], i)
            else:
                by_hash[h] = i
    excerpts: dict[int, object] = {}

    def waveform(tid: int):
        if tid not in excerpts:
            try:
                excerpts[tid] = excerpt(tracks[tid].path, tracks[tid].duration)
            except Exception:  # noqa: BLE001 - unreadable now (moved, damaged): it cannot be compared
                excerpts[tid] = None
        return excerpts[tid]

    matches: dict[tuple[int, int], float] = {}
    batch = 256
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        for tid, v in store.get_vectors(chunk).items():
            d = tracks[tid].duration
            must = {"duration": {"gte": d - DURATION_TOLERANCE, "lte": d + DURATION_TOLERANCE}} if d > 0 else None
            for h in store.search(v, neighbours, exclude_ids=[tid], must=must):
                if h.score < candidate_score or h.id not in tracks or root(h.id) == root(tid):
                    continue
                a, b = waveform(tid), waveform(h.id)
                if a is not None and b is not None:
                    same, m = compare(a, b)
                    if same:
                        join(tid, h.id)
                        matches[(tid, h.id)] = matches[(h.id, tid)] = m
        if progress:
            progress(min(start + batch, len(ids)), len(ids))
    members = _join_split_groups(ids, tracks, store, root, join, excerpts, waveform, matches, compare)
    groups = []
    for group_ids in members.values():
        if len(group_ids) < 2:
            continue
        copies = [describe(tracks[i]) for i in group_ids]
        best = max(copies, key=Copy.rank)
        best.best = True
        for c in copies:
            c.score = 1.0 if c is best or tracks[c.track_id].file_hash == tracks[best.track_id].file_hash \
                else round(matches.get((best.track_id, c.track_id), SAME_RECORDING), 4)
        copies.sort(key=lambda c: (not c.best, c.path))
        groups.append(DuplicateGroup(copies))
    groups.sort(key=lambda g: (-len(g.copies), g.best.path))
    if remember:
        KnownCopies.remember(catalog, groups)
    return groups


def _join_split_groups(ids, tracks, store, root, join, excerpts, waveform, matches, compare) -> dict[int, list[int]]:
    """The members of each recording found, after a second pass that joins a recording found as two.

    Among many tracks of one length that sound alike (40 drum loops in bench/duplicates_quality.py) a copy
    is not always among a track's nearest neighbours, nor it among the copy's, so one recording could come
    out as two groups, or a group and a lone copy (recall 0.886 on that set). Each group is compared once
    with every other group and every track already decoded that has about its duration and some member
    vector near one of its members' (>= MERGE_SCORE): one comparison of excerpts already decoded per pair,
    not a wider neighbour search (which found them all at 4x the time)."""
    members: dict[int, list[int]] = {}
    for i in ids:
        members.setdefault(root(i), []).append(i)
    groups = [m for m in members.values() if len(m) > 1]
    lone = [m for m in members.values() if len(m) == 1 and excerpts.get(m[0]) is not None]
    if not groups:
        return members
    vectors = store.get_vectors([i for u in groups + lone for i in u])
    # Each compared through one member with a readable excerpt (a group joined by file hash alone may have
    # none decoded yet: its first member is decoded now); units without a vector or an excerpt are left out.
    faces, held, kept_groups = [], [], 0
    for n, u in enumerate(groups + lone):
        rows = [i for i in u if i in vectors]
        face = next((i for i in u if excerpts.get(i) is not None), None)
        if face is None and waveform(u[0]) is not None:
            face = u[0]
        if face is not None and rows:
            faces.append(face)
            held.append(rows)
            kept_groups += n < len(groups)
    if len(faces) < 2:
        return members
    matrix = np.stack([vectors[i] for rows in held for i in rows])
    starts = np.cumsum([0] + [len(rows) for rows in held[:-1]])
    durations = np.array([tracks[f].duration for f in faces])
    joined = False
    for a in range(kept_groups):  # the groups come first; the rest are lone tracks
        x = faces[a]
        # The best score between any member of this group and any member of each unit, in one product.
        near = np.maximum.reduceat((matrix[starts[a] : starts[a] + len(held[a])] @ matrix.T).max(axis=0), starts)
        same_length = (durations <= 0) | (durations[a] <= 0) | (np.abs(durations - durations[a]) <= DURATION_TOLERANCE)
        for b in np.flatnonzero((near >= MERGE_SCORE) & same_length):
            y = faces[b]
            if b <= a or root(x) == root(y):
                continue
            same, m = compare(excerpts[x], excerpts[y])
            if same:
                join(x, y)
                matches[(x, y)] = matches[(y, x)] = m
                joined = True
    if not joined:
        return members
    members = {}
    for i in ids:
        members.setdefault(root(i), []).append(i)
    return members


def extra_copy_ids(groups: list[DuplicateGroup]) -> set[int]:
    return {c.track_id for g in groups for c in g.extras}


def describe(track) -> Copy:
    """What the file says about itself (mutagen): format, bitrate, sample rate, size, tags."""
    ext = os.path.splitext(track.path)[1].lower()
    bitrate = sample_rate = tags = size = 0
    lossless = ext in LOSSLESS
    try:
        size = os.path.getsize(track.path)
        import mutagen

        f = mutagen.File(track.path, easy=True)
    except Exception:  # noqa: BLE001 - gone or unreadable (mutagen raises many types): listed, ranked last
        f = None
    if f is not None:
        info = f.info
        bitrate = int(getattr(info, "bitrate", 0) or 0) // 1000
        sample_rate = int(getattr(info, "sample_rate", 0) or (48000 if "opus" in type(info).__name__.lower() else 0))
        codec = str(getattr(info, "codec", "") or "").lower()
        lossless = lossless or codec == "alac"
        if lossless and not bitrate and getattr(info, "length", 0):
            bitrate = int(size * 8 / info.length / 1000)
        try:
            present = f.tags or {}
            tags = sum(1 for k in ("title", "artist", "album", "genre", "date", "tracknumber") if present.get(k))
        except Exception:  # noqa: BLE001 - a broken tag block counts as no tags
            tags = 0
    return Copy(track.id, track.path, track.title, track.artist, float(track.duration), ext.lstrip(".").upper(),
                lossless, bitrate, sample_rate, size, tags)
