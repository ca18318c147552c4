"""Song paths on the listening library: ends, no repeats, a falling distance to B, the largest jump."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.core.errors import SoundalikeError
from desktop.core.songpath import slerp, song_path
from tests.listen_library import family_of


def tid(lib, path):
    return lib.catalog.by_path(path).id


def test_path_from_one_family_to_another(listening):
    lib, info = listening
    a = tid(lib, next(iter(info["copies"])))  # plucked_00
    b = lib.catalog.by_path(info["missing"].replace("pad_11", "pad_03")).id
    path = song_path(lib, a, b, steps=10)
    ids = [p.track_id for p in path.steps]
    assert ids[0] == a and ids[-1] == b and len(ids) == 10
    assert len(set(ids)) == len(ids)
    vecs = lib.store().get_vectors(ids)
    dist = [1 - float(vecs[i] @ vecs[b]) for i in ids]
    half = len(ids) // 2
    assert np.mean(dist[:half]) > np.mean(dist[half:])  # it gets closer to B along the way
    assert dist[0] > dist[-2] > dist[-1] == pytest.approx(0, abs=1e-5)
    assert family_of(path.steps[1].path) == "plucked" and family_of(path.steps[-2].path) == "pad"
    assert 1 <= path.largest_jump_at < len(ids) and 0 < path.largest_jump <= 2
    assert info["missing"] not in [p.path for p in path.steps]
    # no copy of a song on the path: the MP3 of plucked_00 never appears
    assert tid(lib, info["copies"][next(iter(info["copies"]))][0]) not in ids


def test_path_per_artist_cap_and_bad_arguments(listening):
    lib, info = listening
    a = tid(lib, next(iter(info["copies"])))
    b = lib.catalog.by_path(info["missing"].replace("pad_11", "pad_03")).id
    path = song_path(lib, a, b, steps=12, per_artist=2)
    artists = [p.artist for p in path.steps]
    assert all(artists.count(x) <= 2 for x in set(artists))
    with pytest.raises(ValueError):
        song_path(lib, a, b, steps=1)
    with pytest.raises(SoundalikeError):
        song_path(lib, a, a)


def test_slerp_stays_on_the_sphere_and_hits_the_ends(rng):
    a, b = rng.standard_normal(16), rng.standard_normal(16)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    assert np.allclose(slerp(a, b, 0), a) and np.allclose(slerp(a, b, 1), b)
    assert abs(np.linalg.norm(slerp(a, b, 0.3)) - 1) < 1e-6
