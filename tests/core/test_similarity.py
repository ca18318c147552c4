"""similarity.shape (copies dropped, per-artist cap, k) on store hits, and the genre filter end to end."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from desktop.core.indexer import scan_and_index
from desktop.core.library import Library
from desktop.core.similarity import SAME_AUDIO_SCORE, Query, shape, similar
from desktop.core.track import Track


@dataclass
class Hit:  # what VectorStore.search returns: id, score, payload
    id: int
    score: float
    payload: dict


def hit(tid: int, score: float, artist: str, title: str, duration: float = 200.0, file_hash: str = "",
        genre: str = "rock") -> Hit:
    t = Track(id=tid, path=f"/m/{tid}.flac", title=title, artist=artist, duration=duration,
              file_hash=file_hash or f"h{tid}", genre=genre)
    return Hit(tid, score, t.payload())


QUERY = Query(np.ones(4, np.float32), track_id=1, file_hash="hq", artist="Ann", title="Song", duration=200.0)


def ids(hits) -> list[int]:
    return [h.track_id for h in hits]


def test_copies_of_the_query_are_dropped():
    hits = [
        hit(2, SAME_AUDIO_SCORE, "X", "Other"),  # the same recording (another encoding)
        hit(3, 0.9, "Y", "Other", file_hash="hq"),  # the query's file, copied
        hit(4, 0.8, "ann", "song!", duration=201.5),  # the same song filed again (same artist+title, ±2 s)
        hit(5, 0.7, "Ann", "Song", duration=240.0),  # same names, another length: another recording
        hit(6, 0.6, "Z", "Third"),
    ]
    assert ids(shape(hits, QUERY, 10, None)) == [5, 6]


def test_copies_among_the_hits_keep_only_the_best():
    hits = [hit(2, 0.9, "B", "Tune", file_hash="x"), hit(3, 0.8, "C", "Else", file_hash="x"),
            hit(4, 0.7, "b", "TUNE"), hit(5, 0.6, "D", "New")]
    assert ids(shape(hits, QUERY, 10, None)) == [2, 5]


def test_per_artist_cap_and_k():
    hits = [hit(i, 1 - i / 100, "Same" if i < 6 else f"A{i}", f"T{i}") for i in range(2, 12)]
    assert ids(shape(hits, QUERY, 10, 2)) == [2, 3, 6, 7, 8, 9, 10, 11]
    assert ids(shape(hits, QUERY, 3, 2)) == [2, 3, 6]
    assert len(shape(hits, QUERY, 10, None)) == 10
    assert ids(shape(hits, QUERY, 10, 1))[:2] == [2, 6]


def test_hits_are_ordered_best_first_and_carry_the_payload():
    (first, second) = shape([hit(2, 0.9, "B", "Tune", genre="jazz"), hit(3, 0.5, "C", "Else")], QUERY, 10, None)
    assert (first.score, first.genre, first.title, first.path) == (pytest.approx(0.9), "jazz", "Tune", "/m/2.flac")
    assert second.score < first.score


def test_genre_filter_reaches_only_that_genre(home, family_dir):
    with Library.open(home, embedder="spectral") as lib:
        events = list(scan_and_index(lib, [str(family_dir)], workers=1))
        assert events[-1].indexed == 12
        drums = next(t for t in lib.catalog.tracks() if t.genre == "drums")
        hits = similar(lib, drums.id, k=10, genre="pad")
        unfiltered = similar(lib, drums.id, k=10)
    assert len(hits) == 4 and {h.genre for h in hits} == {"pad"}
    assert {h.genre for h in unfiltered} > {"pad"}


def test_a_track_without_a_vector_raises_not_indexed_with_the_track_as_it_is(home, family_dir):
    """The window shows a not-indexed track's state (and a failure's reason) from the answer, without a catalog
    read of its own; across a process (pickled) the message stays."""
    import pickle

    from desktop.core.scan import scan
    from desktop.core.similarity import NotIndexed

    with Library.open(home, embedder="spectral") as lib:
        list(scan(lib.catalog, [str(family_dir)]))
        track = lib.catalog.tracks()[0]
        with pytest.raises(NotIndexed, match="not indexed yet") as caught:
            similar(lib, track.id, k=5)
    assert caught.value.track == track and caught.value.track.status == "pending"
    assert str(pickle.loads(pickle.dumps(caught.value))) == str(caught.value)
