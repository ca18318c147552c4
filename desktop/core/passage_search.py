"""Passage search: the places in the library that sound like a stretch of audio, one per track.

A query (a selection of a track, or a clip) is cut into the same 4 s / 2 s windows as the index. Each
query window fetches its nearest windows; a hit of query window i at time s votes for a passage
starting at s - i * hop in that track. A passage's score is the mean, over the query windows, of the
similarity of the window at the matching place: a passage must sound like the whole selection *in
order*, not like one of its windows. A query window whose match at that place was not among its
fetched hits counts with the lowest similarity it fetched (an upper bound, so a near miss is not
dropped, and never ranked above a passage where every window matched). Each track then shows its
best passage.

Excluded unless asked: the query track (with `include_self`, only passages overlapping the selection
are dropped, so a chorus that comes back is found), copies of the query (same file hash, same artist +
title + length, or a track vector that is the same recording), and tracks whose file is missing.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

import numpy as np

from desktop.core.passage_catalog import rows_of
from desktop.core.passage_store import PassageHit
from desktop.core.passage_windows import HOP_SECONDS

# Query windows used at most per phase (evenly spread over a long selection): bounds the query's cost.
MAX_QUERY_WINDOWS = 8
# The query is also cut starting 0.5, 1 and 1.5 s in: the index's windows start every 2 s, and a
# window that holds half a second of something else (a drum hit before the motif) describes it
# differently enough to lose to unrelated music (measured on tests/motif.py: a motif 0.5 s off the
# grid scored 0.47 against 0.46 for a track without it; 1.0 with the right phase).
PHASES = (0.0, 0.5, 1.0, 1.5)
# Nearest windows fetched per query window.
FETCH_PER_WINDOW = 100


@dataclass
class Passage:
    track_id: int
    path: str
    start: float
    end: float
    score: float
    title: str = ""
    artist: str = ""
    duration: float = 0.0
    artist_generated: bool = False
    levels: np.ndarray | None = field(default=None, repr=False, compare=False)  # the hit track's outline

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "levels"}

    @property
    def label(self) -> str:
        return f"{self.artist} - {self.title}" if self.artist or self.title else os.path.basename(self.path)


def pick_query_windows(n: int, limit: int = MAX_QUERY_WINDOWS) -> list[int]:
    """Indexes of at most `limit` windows spread evenly over `n` (a 60 s selection has 29)."""
    if n <= limit:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, limit)})


def vote(per_window: list[list[PassageHit]], hop: float, k: int, offsets: list[float] | None = None,
         length: float | None = None, skip=None) -> list[PassageHit]:
    """Best passage per track, best first, at most k. `offsets[i]`: query window i's start within the
    query (default i * hop; a query cut at a phase p has offsets p, p + hop, ...); `length`: the query's
    length (the passage's end); `skip(track_id, start)`: passages to leave out (the selection itself)."""
    m = len(per_window)
    if m == 0:
        return []
    offsets = offsets if offsets is not None else [i * hop for i in range(m)]
    length = length if length is not None else offsets[-1] + 2 * hop
    phase = offsets[0]
    floors = [hits[-1].score if hits else 0.0 for hits in per_window]
    found: dict[tuple[int, int], dict[int, float]] = {}
    for i, hits in enumerate(per_window):
        for h in hits:
            implied = h.start - offsets[i]  # where the query would start in that track
            if implied < -hop / 2 - phase:
                continue  # the query would start well before the track does
            best = found.setdefault((h.track_id, int(round((implied + phase) / hop))), {})
            best[i] = max(best.get(i, -1.0), h.score)
    per_track: dict[int, PassageHit] = {}
    for (tid, slot), sims in found.items():
        start = max(0.0, slot * hop - phase)
        if skip is not None and skip(tid, start):
            continue
        score = sum(sims.get(i, floors[i]) for i in range(m)) / m
        if tid not in per_track or score > per_track[tid].score:
            per_track[tid] = PassageHit(tid, start, start + length, score)
    return sorted(per_track.values(), key=lambda h: -h.score)[:k]


def merge_best(lists: list[list[PassageHit]], k: int) -> list[PassageHit]:
    """One passage per track over several votes (the query's phases): the best-scoring one."""
    best: dict[int, PassageHit] = {}
    for hits in lists:
        for h in hits:
            if h.track_id not in best or h.score > best[h.track_id].score:
                best[h.track_id] = h
    return sorted(best.values(), key=lambda h: -h.score)[:k]


def overlaps(a_start: float, a_end: float, b_start: float, b_end: float, hop: float = HOP_SECONDS) -> bool:
    """Do two stretches share more than a hop (a passage found where the selection is)?"""
    return min(a_end, b_end) - max(a_start, b_start) > hop


# The longest stretch a query uses (the window's selection is limited to 2-60 s the same way).
MAX_QUERY_SECONDS = 60.0
MIN_QUERY_SECONDS = 1.0


@dataclass
class PassageQuery:
    """What is searched for: windows (unit vectors) and where they sit, and what identifies the source."""

    phases: list[tuple[np.ndarray, list[float]]]  # per phase: window unit vectors, their starts in the query
    length: float
    label: str
    track_id: int | None = None
    start: float = 0.0  # the selection's place in its track
    file_hash: str = ""
    song: tuple = ()


def passage_query(library, source: int | str, start: float | None = None, end: float | None = None) -> PassageQuery:
    """A query from a library track (id or path) and a stretch of it, or from an audio file (a clip).
    Without start/end the first 60 s of the file (a clip is usually shorter)."""
    from desktop.core.decode import open_audio  # lazy: stays out of the window's start-up
    from desktop.core.duplicates import song_text  # lazy: stays out of the window's start-up
    from desktop.core.errors import SoundalikeError, TrackNotFound  # lazy: stays out of the window's start-up
    from desktop.core.passage_windows import embed_windows  # lazy: stays out of the window's start-up
    from desktop.core.workers import read_isolated  # lazy: stays out of the window's start-up

    catalog = library.catalog
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit() and not os.path.exists(source)):
        track = catalog.get(int(source))
    else:
        path = os.path.abspath(os.fspath(source))
        if not os.path.exists(path):
            raise TrackNotFound(f"{path}: no such file and no track with that id")
        track = catalog.by_path(path)
    path = track.path if track else path
    key = library.active_key
    if key is None:
        raise SoundalikeError("the library has no indexed tracks yet; run `soundalike index FOLDER` first")
    embedder = library.embedder
    if embedder.key != key:
        raise SoundalikeError(f"the library was indexed with {key} but the embedder now is {embedder.key}; "
                              "run `soundalike index` to re-index it first")
    start = max(0.0, float(start or 0.0))
    if end is not None and end - start < MIN_QUERY_SECONDS:
        raise ValueError(f"the passage must last at least {MIN_QUERY_SECONDS:g} s (got {start:g}-{end:g} s)")
    seconds = min(MAX_QUERY_SECONDS, (end - start) if end is not None else MAX_QUERY_SECONDS)
    stretches = [(start + p, seconds - p) for p in PHASES if seconds - p >= MIN_QUERY_SECONDS]
    try:
        if track is None or track.status != "indexed":  # read in a child: a decoder's native crash costs the query
            duration, reads, error = read_isolated(path, stretches)
            if reads is None:
                raise SoundalikeError(f"{path}: {error}")
        else:  # a track that decoded fine when it was indexed: read here, without a process's start-up
            with open_audio(path) as audio:
                duration = audio.duration
                reads = [] if start >= duration > 0 else [audio.read(at, n) for at, n in stretches]
        if start >= duration > 0:
            raise ValueError(f"{path}: the passage starts at {start:g} s, after the end ({duration:.1f} s)")
        cut = []
        for (at, _), samples in zip(stretches, reads, strict=True):
            starts, ends, raws = embed_windows(embedder, [samples])
            cut.append((starts + at, ends + at, raws))
    except (ValueError, SoundalikeError):
        raise
    except Exception as e:
        from desktop.core.analysis import failure_reason  # lazy: stays out of the window's start-up

        raise SoundalikeError(f"{path}: {failure_reason(e)}") from e
    if not len(cut[0][2]):
        raise SoundalikeError(f"{path}: no audio between {start:g} and {start + seconds:g} s")
    length = float(cut[0][1][-1] - start)
    space = library.space()
    phases = [(space.to_unit(raws), [float(s - start) for s in starts]) for starts, _, raws in cut if len(raws)]
    label = f"{fmt_time(start)}-{fmt_time(start + length)} of {track_label(track) if track else os.path.basename(path)}"
    song = (song_text(track.artist), song_text(track.title), track.duration) if track and track.title else ()
    return PassageQuery(phases, length, label,
                        track.id if track else None, start, track.file_hash if track else "", song)


def find_passages(library, query: PassageQuery, k: int = 10, *, include_self: bool = False) -> list[Passage]:
    """The k tracks with a passage most like the query, one passage each, best first."""
    if k < 1:
        raise ValueError("k must be at least 1")
    store = library.passages()
    qid, sel_start, sel_end = query.track_id, query.start, query.start + query.length

    def skip(tid: int, start: float) -> bool:
        if tid != qid:
            return False
        return not include_self or overlaps(start, start + query.length, sel_start, sel_end)

    fetch = max(FETCH_PER_WINDOW, 10 * k)
    while True:
        picks = [pick_query_windows(len(units)) for units, _ in query.phases]
        batch = np.concatenate([units[pick] for (units, _), pick in zip(query.phases, picks)])
        per_window = store.search_many(batch, fetch)
        votes, at = [], 0
        for (_, offsets), pick in zip(query.phases, picks):
            votes.append(vote(per_window[at : at + len(pick)], HOP_SECONDS, 3 * k + 10, [offsets[i] for i in pick],
                              query.length, skip))
            at += len(pick)
        kept = _shape(library, merge_best(votes, 3 * k + 10), query, k)
        if len(kept) >= k or all(len(h) < fetch for h in per_window) or fetch >= 20000:
            outlines = rows_of(library.catalog).levels(library.active_key, (p.track_id for p in kept))
            for p in kept:
                p.levels = outlines.get(p.track_id)
            return kept
        fetch *= 4


def _shape(library, hits: list[PassageHit], query: PassageQuery, k: int) -> list[Passage]:
    """Drop copies of the query track, tracks gone from the catalog or from the disk; add what to show."""
    from desktop.core.duplicates import song_text  # lazy: stays out of the window's start-up
    from desktop.core.similarity import SAME_AUDIO_SCORE, SAME_SONG_SECONDS  # lazy: stays out of the window's start-up

    tracks = library.catalog.many(h.track_id for h in hits)
    same_audio: set[int] = set()
    if query.track_id is not None:
        vectors = library.store().get_vectors([query.track_id, *tracks])
        mine = vectors.get(query.track_id)
        if mine is not None:
            same_audio = {t for t, v in vectors.items() if t != query.track_id and float(mine @ v) >= SAME_AUDIO_SCORE}
    out: list[Passage] = []
    for h in hits:
        t = tracks.get(h.track_id)
        if t is None or t.status != "indexed" or not os.path.exists(t.path):
            continue  # removed, changed since, or on a drive that is not there: hidden
        if h.track_id != query.track_id:
            if h.track_id in same_audio or (query.file_hash and t.file_hash == query.file_hash):
                continue
            if query.song and (song_text(t.artist), song_text(t.title)) == query.song[:2] \
                    and abs(t.duration - query.song[2]) <= SAME_SONG_SECONDS:
                continue
        end = min(h.end, t.duration) if t.duration > 0 else h.end
        out.append(Passage(h.track_id, t.path, round(h.start, 2), round(end, 2), round(h.score, 4), t.title, t.artist,
                           t.duration, t.artist_generated))
        if len(out) >= k:
            break
    return out


def fmt_time(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def track_label(track) -> str:
    if track.title:
        return f"{track.artist} - {track.title}" if track.artist else track.title
    return os.path.basename(track.path)
