"""The duplicate finder on re-encodings it must group and family members it must keep apart."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from desktop.core.config import load_settings
from desktop.core.duplicates import CopyGuard, extra_copy_ids, find_duplicates
from desktop.core.fingerprint import SAME_RECORDING, excerpt, match
from desktop.core.indexer import scan_and_index
from desktop.core.library import Library
from tests import audio

ENCODINGS = [("wav", None), ("flac", None), ("ogg", 96000), ("mp3", 128000), ("mp3", 64000), ("m4a", 128000)]


@pytest.fixture(scope="module")
def reencoded(tmp_path_factory):
    """2 families x 2 distinct tracks, each in 6 encodings; returns (home, path -> recording)."""
    root = tmp_path_factory.mktemp("reencoded")
    recording = {}
    for fi, family in enumerate(("plucked", "drums")):
        for i in range(2):
            x = audio.render(family, 8.0, seed=300 + 10 * fi + i, sr=44100)
            for ext, br in ENCODINGS:
                p = audio.encode(root / "music" / family / f"{family}{i}-{br or 'full'}.{ext}", x, sr=44100,
                                 bitrate=br)
                recording[str(p)] = f"{family}{i}"
    home = root / "home"
    replace(load_settings(home), embedder="spectral").save()
    with Library.open(home) as lib:
        summary = list(scan_and_index(lib, [str(root / "music")]))[-1]
    assert summary.indexed == len(recording), summary
    return home, recording


def test_groups_are_exactly_the_recordings(reencoded):
    home, recording = reencoded
    with Library.open(home) as lib:
        groups = find_duplicates(lib)
    got = sorted(sorted(c.path for c in g.copies) for g in groups)
    want = sorted(sorted(p for p in recording if recording[p] == r) for r in set(recording.values()))
    assert got == want  # every re-encoding found, no group mixes two tracks of one family
    for g in groups:
        assert g.best.lossless and g.best.format in ("WAV", "FLAC")
        formats = {c.format for c in g.copies}
        assert formats == {"WAV", "FLAC", "OGG", "MP3", "M4A"}
        mp3s = sorted((c for c in g.copies if c.format == "MP3"), key=lambda c: c.bitrate)
        assert mp3s[0].bitrate < mp3s[1].bitrate and all(c.size > 0 and c.sample_rate for c in g.copies)
        assert all(SAME_RECORDING <= c.score <= 1.0 for c in g.copies)
    assert len(extra_copy_ids(groups)) == len(recording) - len(groups)


def test_a_recording_split_by_a_narrow_search_is_joined_again(reencoded):
    """With one neighbour per track the first pass leaves a recording in pieces (mutual nearest pairs); the
    second pass over the groups and the tracks already decoded joins them, and still keeps the family apart."""
    home, recording = reencoded
    with Library.open(home) as lib:
        groups = find_duplicates(lib, neighbours=1, remember=False)
    got = sorted(sorted(c.path for c in g.copies) for g in groups)
    want = sorted(sorted(p for p in recording if recording[p] == r) for r in set(recording.values()))
    assert got == want


def test_waveform_match_separates_copies_from_family(reencoded):
    _, recording = reencoded
    paths = sorted(recording)
    ex = {p: excerpt(p) for p in paths}
    for a in paths:
        for b in paths:
            if a < b and a.split("/")[-2] == b.split("/")[-2]:
                m = match(ex[a], ex[b])
                if recording[a] == recording[b]:
                    assert m >= SAME_RECORDING, (a, b, m)
                else:
                    assert m < SAME_RECORDING, (a, b, m)


def test_copy_guard_rules():
    g = CopyGuard(threshold=0.99)
    v = np.zeros(4, np.float32)
    v[0] = 1
    g.add(v, {"file_hash": "abc", "artist": "A", "title": "Song (Live)", "duration": 200})
    assert g.is_copy(np.array([0, 1, 0, 0], np.float32), {"file_hash": "abc"})
    assert g.is_copy(np.array([0, 1, 0, 0], np.float32), {"artist": "a", "title": "song live", "duration": 201})
    assert not g.is_copy(np.array([0, 1, 0, 0], np.float32), {"artist": "a", "title": "song live", "duration": 230})
    assert g.is_copy(v, {"duration": 200.5}) and not g.is_copy(v, {"duration": 215})


def test_found_copies_are_left_out_of_similar_lists_stations_and_paths_until_shown(reencoded, tmp_path):
    import shutil

    from desktop.core.duplicates import KnownCopies
    from desktop.core.radio import Station
    from desktop.core.similarity import similar
    from desktop.core.songpath import song_path

    src, recording = reencoded
    home = tmp_path / "home"
    shutil.copytree(src, home)
    with Library.open(home) as lib:
        ids = {lib.catalog.by_path(p).id: r for p, r in recording.items()}
        KnownCopies.remember(lib.catalog, [])  # forget what the tests above found in the shared home
        before = {tid: [h.track_id for h in similar(lib, tid, 12)] for tid in ids}
        # Without a search nothing is known: other encodings of the query's own recording show up.
        assert any(ids[h] == ids[tid] for tid, hits in before.items() for h in hits)
        groups = find_duplicates(lib)
        extras, best = extra_copy_ids(groups), {g.best.track_id for g in groups}
        assert KnownCopies.load(lib.catalog).extras == extras and KnownCopies.load(lib.catalog).hide
        for tid in ids:
            hits = [h.track_id for h in similar(lib, tid, 12)]
            assert not set(hits) & extras, tid  # no extra copy anywhere
            assert all(ids[h] != ids[tid] for h in hits), tid  # not even the best copy of the query's recording
        for seed in sorted(best):
            picks = [p.track_id for p in Station(lib, [seed]).take(3)]
            assert not set(picks) & extras and all(ids[p] != ids[seed] for p in picks)
        a, b = sorted(best)[:2]
        assert not {p.track_id for p in song_path(lib, a, b, 4).steps} & extras
        KnownCopies.set_hidden(lib.catalog, False)  # "show the copies" again: lists are as before
        assert {tid: [h.track_id for h in similar(lib, tid, 12)] for tid in ids} == before


def test_drum_loops_of_one_or_a_near_tempo_are_not_one_recording(tmp_path):
    """The low band alone grouped such loops (same kicks, other hi-hat noise); the offset that must
    hold through the excerpt and the high band keep them apart, and every re-encoding together."""
    import itertools

    from desktop.core.fingerprint import compare

    clips = {}
    for i, bpm in enumerate([90.0, 90.0, 90.05]):
        x = audio.render("drums", 6.0, seed=900 + i, sr=44100, bpm=bpm)
        for ext, br in [("flac", None), ("ogg", 64000), ("mp3", 128000), ("m4a", 96000)]:
            clips[str(audio.encode(tmp_path / f"d{i}-{br or 'full'}.{ext}", x, sr=44100, bitrate=br))] = i
    ex = {p: excerpt(p) for p in clips}
    fooled = 0
    for a, b in itertools.combinations(clips, 2):
        same, low = compare(ex[a], ex[b])
        assert same == (clips[a] == clips[b]), (a, b, low)
        fooled += clips[a] != clips[b] and low >= SAME_RECORDING
    assert fooled >= 16  # the low band alone would have called all of these one recording
