"""The field table (desktop/core/track.py) is what the catalog, the store payload, hits and the CLI use."""

from __future__ import annotations

import numpy as np

from desktop.core.similarity import Query, SimilarHit, shape
from desktop.core.store import open_store
from desktop.core.store.base import PAYLOAD_INDEXES
from desktop.core.track import FIELDS, JSON_KEYS, SORTABLE, Track


def test_the_payload_carries_what_shaping_needs():
    t = Track(id=7, path="/m/a.flac", title="A", artist="Ann", file_hash="h1", generated="artist", year=1999)
    p = t.payload()
    assert p["track_id"] == 7 and p["file_hash"] == "h1" and p["artist_generated"] is True and p["year"] == 1999
    assert set(p) == {"track_id", "artist_generated"} | {f.name for f in FIELDS if f.payload and f.name != "id"}


def test_every_declared_index_exists_in_a_new_store(tmp_path):
    store = open_store(str(tmp_path), "fields-v1-4", 4)
    store.upsert([(1, np.ones(4, np.float32), Track(id=1, path="/m/a", genre="jazz", year=2001).payload())])
    assert {kind for _, kind in PAYLOAD_INDEXES} <= {"keyword", "integer", "float", "bool"}
    assert [h.id for h in store.search(np.ones(4), 5, genre="jazz", must={"year": {"gte": 2000}})] == [1]
    store.close()


def test_a_hit_has_every_payload_field():
    t = Track(id=3, path="/m/b.flac", title="B", artist="Bo", album="X", genre="folk", year=1970, duration=61.5)

    class Raw:
        id, score, payload = 3, 0.9, t.payload()

    (hit,) = shape([Raw()], Query(np.ones(4)), 5, None)
    assert isinstance(hit, SimilarHit)
    assert (hit.track_id, hit.title, hit.year, hit.duration, hit.path) == (3, "B", 1970, 61.5, "/m/b.flac")
    assert {"track_id", "score", "title", "artist", "album", "genre", "path", "duration"} <= set(hit.to_dict())


def test_sort_and_json_keys_are_real_fields():
    names = {f.name for f in FIELDS}
    assert set(SORTABLE) <= names and set(JSON_KEYS) <= names and "status" in SORTABLE
