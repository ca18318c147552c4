"""similar(): the tracks that sound most like a track of the library or like any audio file.

Search (Qdrant, cosine, payload filters) is kept apart from result shaping (dropping duplicates,
capping tracks per artist): the store over-fetches and shaping walks the hits in order, fetching more
only when shaping ate too many. A file outside the library is embedded on the fly and never added.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, make_dataclass
from dataclasses import field as dc_field

import numpy as np

from desktop.core import late_interaction
from desktop.core.analysis import analyze_file, embed_decoded
from desktop.core.duplicates import DUPLICATE_SCORE, CopyGuard, KnownCopies, song_text
from desktop.core.errors import SoundalikeError, StoreUnavailable, TrackNotFound
from desktop.core.library import Library
from desktop.core.scan import file_hash
from desktop.core.store.base import Hit
from desktop.core.tags import read_tags
from desktop.core.track import BY_NAME, PAYLOAD_KEYS, PAYLOAD_TYPES

# Two vectors this close are the same recording (another encoding or copy of one file); measured in
# bench/duplicates_quality.py (see duplicates.py).
SAME_AUDIO_SCORE = DUPLICATE_SCORE
# Same artist + title within this many seconds: the same song filed twice.
SAME_SONG_SECONDS = 2.0


class NotIndexed(SoundalikeError):
    """The query track has no vector yet (pending or failed). `track`: the catalog's track as the query found it,
    so a window shows its state (and a failure's reason) without reading the catalog on its GUI thread."""

    def __init__(self, message: str, track=None):
        super().__init__(message)
        self.track = track


# A hit is the track id, the score and the track's store payload (the payload fields of track.py).
_HIT_DEFAULTS = {key: BY_NAME[name].default if name in BY_NAME else False
                 for name, key in [*PAYLOAD_KEYS.items(), ("artist_generated", "artist_generated")]
                 if key != "track_id"}
SimilarHit = make_dataclass(
    "SimilarHit",
    [("track_id", int), ("score", float),
     *[(key, PAYLOAD_TYPES[key] | None, dc_field(default=default)) for key, default in _HIT_DEFAULTS.items()],
     # on the library's own scale (desktop.core.calibration) and why (spectral spaces)
     ("closeness", float | None, dc_field(default=None)),  # 0-100, 50 = as close as the neighbourhood's best
     ("words", str, dc_field(default="")),  # "very close", "close", "related", "distant"
     ("why", str, dc_field(default="")),  # "same rhythm and tempo, similar tone colour, different brightness"
     ("why_groups", list, dc_field(default_factory=list))],
    namespace={"to_dict": lambda self: asdict(self),
               "__doc__": "One similar track: id, cosine score and the payload fields declared in track.py."},
)
SimilarHit.__module__ = __name__


def _hit_values(payload: dict) -> dict:
    """The payload's values as the hit's fields, coerced to their declared types (default when absent)."""
    out = {}
    for key, default in _HIT_DEFAULTS.items():
        value = payload.get(key)
        out[key] = default if value is None else PAYLOAD_TYPES[key](value)
    return out


@dataclass
class Query:
    """What we search with: a unit vector and what identifies the query's own audio."""

    vector: np.ndarray
    track_id: int | None = None
    file_hash: str = ""
    artist: str = ""
    title: str = ""
    duration: float = 0.0
    label: str = ""
    raw: np.ndarray | None = None  # the raw (unstandardised) vector: what the why-text compares
    mb_recording_id: str = ""  # the same MusicBrainz recording is the same audio: never a hit
    parts: np.ndarray | None = None  # raw per-part vectors (k x dim): what late interaction compares


def resolve(library: Library, query: int | str) -> Query:
    """A track id (int or digits) or a path: the library's vector if it has one, else embed the file."""
    catalog = library.catalog
    if isinstance(query, int) or (isinstance(query, str) and query.isdigit() and not os.path.exists(query)):
        track = catalog.get(int(query))
    else:
        path = os.path.abspath(os.fspath(query))
        track = catalog.by_path(path)
        if track is None or track.status != "indexed":
            return embed_file(library, path)
    key = library.active_key
    vectors = library.store().get_vectors([track.id]) if key else {}
    if track.id not in vectors and key:  # a missing file's track is out of the store but keeps its vector
        vectors = {tid: library.space().to_unit(raw) for tid, raw in library.catalog.raw_vectors(key, [track.id])}
    if track.id in vectors and not np.isfinite(vectors[track.id]).all():
        raise StoreUnavailable("the vector store holds damaged vectors (NaN or infinity); run "
                               "`soundalike check --repair` to rebuild it from the catalog (no decoding)")
    if track.id not in vectors:
        why = f"failed: {track.error}" if track.status == "failed" else "not indexed yet"
        raise NotIndexed(f"track {track.id} ({track.title}) is {why}", track)
    raw = dict(catalog.raw_vectors(key, [track.id])).get(track.id)
    return Query(vectors[track.id], track.id, track.file_hash, track.artist, track.title, track.duration,
                 f"{track.artist} - {track.title}", raw, track.mb_recording_id,
                 late_interaction.track_parts(catalog, key, [track.id]).get(track.id))


def embed_file(library: Library, path: str) -> Query:
    """Embed a file that is not (or not yet) in the library, in the library's vector space."""
    if not os.path.exists(path):
        raise TrackNotFound(f"{path}: no such file and no track with that id")
    embedder = library.query_embedder()  # the library's own vector space, whatever the settings say now
    from desktop.core.workers import analyze_isolated, decode_isolated  # lazy: worker processes only for a file query

    # Decoded in a child process: a decoder's native crash costs the query, not the app. A model embeds
    # here what its child decoded (one copy of the weights).
    if embedder.parallel:
        raw, error, seconds, parts = analyze_isolated(embedder, path)
    elif embedder.reads_windows:
        raw, error, seconds, parts = embed_decoded(embedder, decode_isolated(embedder.window_reader(), path))
    else:
        raw, error, seconds, parts = analyze_file(embedder, path)
    if raw is None:
        raise SoundalikeError(f"{path}: {error}")
    tags = read_tags(path)
    return Query(library.space().to_unit(raw), None, file_hash(path, os.path.getsize(path)), tags["artist"],
                 tags["title"], seconds or tags["duration"], os.path.basename(path), raw, tags["mb_recording_id"],
                 parts)


def similar(library: Library, query: int | str | Query, k: int = 10, *, per_artist: int | None = None,
            genre: str | None = None) -> list[SimilarHit]:
    """Top-k tracks like `query`, best first, without the query itself or duplicates of any hit."""
    if k < 1:
        raise ValueError("k must be at least 1")
    q = query if isinstance(query, Query) else resolve(library, query)
    store = library.store()
    exclude = [q.track_id] if q.track_id is not None else []
    exclude += sorted(KnownCopies.load(library.catalog).excluded(exclude))  # copies found by duplicates.py
    key = library.active_key
    late = late_interaction.applies(key)
    fetch = max(k * 3 + 10, late_interaction.RERANK_POOL) if late else k * 3 + 10
    while True:
        found = store.search(q.vector, fetch, exclude_ids=exclude, genre=genre or None)
        if late:
            found = by_parts(library, q, found)
        hits = present_hits(library.catalog, found)
        shaped = drop_copies(store, shape(hits, q, k + 5, per_artist), q)[:k]
        if len(shaped) >= k or len(found) < fetch:
            from desktop.core.calibration import annotate  # lazy: calibration imports this module

            return annotate(library, q, shaped)
        fetch *= 3


def by_parts(library: Library, q: Query, found: list[Hit]) -> list[Hit]:
    """The store's candidates re-ordered by late interaction (their part vectors against the query's); each
    keeps its track-vector cosine as its score, which copy detection and closeness are measured on."""
    space = library.space()
    ids = [h.id for h in found]
    sets = late_interaction.part_sets(space, ids)
    order = late_interaction.rerank(late_interaction.query_set(space, q.vector, q.parts), ids, sets)
    return [found[i] for i in order]


def drop_copies(store, hits: list[SimilarHit], q: Query) -> list[SimilarHit]:
    """Leave out hits that are another copy of the query or of a better hit (same-recording vectors
    and durations, see duplicates.py), so a FLAC and its MP3 do not fill two places."""
    vectors = store.get_vectors([h.track_id for h in hits])
    guard = CopyGuard()
    guard.add(q.vector, {"duration": q.duration})
    kept = []
    for h in hits:
        v = vectors.get(h.track_id)
        info = {"duration": h.duration}
        if v is not None and guard.is_copy(v, info):
            continue
        if v is not None:
            guard.add(v, info)
        kept.append(h)
    return kept


def present_hits(catalog, hits: list) -> list:
    """Only hits the catalog knows and whose file is there, with the catalog's exact path.

    The store may briefly hold what the catalog does not (a deleted or restored catalog, a crash between
    the two writes, a file gone since the last scan): such a point is never shown. Radio and duplicate
    search use this too."""
    tracks = catalog.many(h.id for h in hits)
    out = []
    for h in hits:
        track = tracks.get(h.id)
        if track is not None and not track.missing:
            out.append(Hit(h.id, h.score, {**h.payload, "path": track.path}))
    return out


def shape(hits, q: Query, k: int, per_artist: int | None) -> list[SimilarHit]:
    """Walk hits best-first: drop copies of the query and of earlier hits, cap per artist, stop at k."""
    kept: list[SimilarHit] = []
    songs = {(song_text(q.artist), song_text(q.title), q.duration)} if q.title else set()
    hashes = {q.file_hash} if q.file_hash else set()
    recordings = {q.mb_recording_id} if q.mb_recording_id else set()
    per: dict[str, int] = {}
    for h in hits:
        p = h.payload
        if h.score >= SAME_AUDIO_SCORE:
            continue  # the query's own recording (a copy, another encoding, or the dropped file itself)
        if p.get("file_hash") and p["file_hash"] in hashes:
            continue
        if p.get("mb_recording_id") and p["mb_recording_id"] in recordings:
            continue  # tagged as the same MusicBrainz recording: a copy, whatever its encoding
        song = (song_text(p.get("artist", "")), song_text(p.get("title", "")), float(p.get("duration") or 0))
        if any(song[0] == a and song[1] == t and abs(song[2] - d) <= SAME_SONG_SECONDS for a, t, d in songs):
            continue
        artist = song_text(p.get("artist", ""))
        if per_artist and per.get(artist, 0) >= per_artist:
            continue
        per[artist] = per.get(artist, 0) + 1
        hashes.add(p.get("file_hash", ""))
        recordings.add(p.get("mb_recording_id") or "")
        songs.add(song)
        kept.append(SimilarHit(track_id=int(p.get("track_id", h.id)), score=float(h.score), **_hit_values(p)))
        if len(kept) >= k:
            break
    return kept
