"""CUE sheets turn a single-file album into its tracks: exact boundaries, encodings, embedded sheets,
problems reported, edits re-scanned, playback and waveform limited to the track."""

import numpy as np
import pytest
import soundfile as sf

from desktop.core.catalog import Catalog
from desktop.core.cue import parse, split_track_path, track_path
from desktop.core.decode import open_audio
from desktop.core.scan import scan
from desktop.core.waveform import compute_peaks
from desktop.core.waveform import peaks as waveform_peaks

SR = 44100
# Three tracks of different pitch; the changes fall on the sheet's INDEX 01 times (CD frames: x/75 s).
STARTS = [0.0, 2.0 + 30 / 75, 5.0 + 15 / 75]
FREQS = [300.0, 1200.0, 600.0]
LENGTH = 8.0


def album_audio(path, ext="flac"):
    t = np.arange(int(LENGTH * SR)) / SR
    freq = np.select([t < STARTS[1], t < STARTS[2]], FREQS[:2], FREQS[2])
    x = (0.5 * np.sin(2 * np.pi * np.cumsum(freq) / SR)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, SR, format=ext.upper())
    return path


def sheet_text(file_name, titles=("Première", "Zweite Straße", "Third"), extra_track=None):
    lines = ['REM GENRE "Ambient"', "REM DATE 1998", 'PERFORMER "Café Orchestra"', 'TITLE "Tönende Räume"',
             f'FILE "{file_name}" WAVE']
    for i, (title, start) in enumerate(zip(titles, STARTS), start=1):
        m, rest = divmod(round(start * 75), 60 * 75)
        s, f = divmod(rest, 75)
        lines += [f"  TRACK {i:02d} AUDIO", f'    TITLE "{title}"', f"    INDEX 01 {m:02d}:{s:02d}:{f:02d}"]
    if extra_track:
        lines += ["  TRACK 04 AUDIO", '    TITLE "Ghost"', f"    INDEX 01 {extra_track}"]
    return "\n".join(lines) + "\n"


def run_scan(cat, root):
    return list(scan(cat, [root]))[-1]


def dominant(x, sr=16000):
    return np.abs(np.fft.rfft(x * np.hanning(len(x)))).argmax() * sr / len(x)


def test_parse_reads_album_and_track_fields():
    sheet = parse(sheet_text("a.flac"), "a.cue")
    assert (sheet.title, sheet.performer, sheet.genre, sheet.date) == ("Tönende Räume", "Café Orchestra",
                                                                     "Ambient", "1998")
    tracks = sheet.files[0].tracks
    assert [t.start for t in tracks] == pytest.approx(STARTS)
    assert [t.end for t in tracks] == pytest.approx([STARTS[1], STARTS[2], None])
    assert split_track_path(track_path("/m/a.flac", 2.4, None)) == ("/m/a.flac", 2.4, None)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_external_sheet_makes_tracks_with_exact_boundaries(tmp_path, encoding):
    music = tmp_path / "music"
    audio = album_audio(music / "Album" / "album.flac")
    (music / "Album" / "album.cue").write_bytes(sheet_text("album.wav").encode(encoding))  # says .wav: still found
    cat = Catalog(tmp_path / "c.sqlite3")
    summary = run_scan(cat, music)
    assert not summary.problems
    tracks = cat.tracks(order="album")
    assert [t.title for t in tracks] == ["Première", "Zweite Straße", "Third"]  # the whole file is hidden
    assert {t.album for t in tracks} == {"Tönende Räume"} and {t.artist for t in tracks} == {"Café Orchestra"}
    assert [t.track_number for t in tracks] == [1, 2, 3] and {t.track_total for t in tracks} == {3}
    assert {(t.genre, t.year) for t in tracks} == {("Ambient", 1998)} and all(t.generated == "" for t in tracks)
    assert [t.duration for t in tracks] == pytest.approx([STARTS[1], STARTS[2] - STARTS[1], LENGTH - STARTS[2]],
                                                         abs=0.02)
    assert len({t.file_hash for t in tracks}) == 3  # tracks of one file are not copies of each other
    for t, freq in zip(tracks, FREQS):
        assert split_track_path(t.path)[0] == str(audio)
        with open_audio(t.path) as src:
            x = src.read_all()
            assert len(x) / 16000 == pytest.approx(t.duration, abs=0.01)
            # a tone change at each index lands in the right track: the first and last 50 ms are this track's
            for edge in (x[int(0.005 * 16000): int(0.055 * 16000)], x[-int(0.055 * 16000): -int(0.005 * 16000)]):
                assert abs(dominant(edge) - freq) < 40, (t.title, dominant(edge))


def test_playback_and_waveform_stay_inside_the_track(tmp_path):
    music = tmp_path / "music"
    album_audio(music / "Album" / "album.flac")
    (music / "Album" / "album.cue").write_text(sheet_text("album.flac"), encoding="utf-8")
    cat = Catalog(tmp_path / "c.sqlite3")
    run_scan(cat, music)
    second = cat.tracks(order="album")[1]
    with open_audio(second.path) as src:
        pcm = np.concatenate(list(src.native_blocks()))[:, 0]  # what the player sends to the device
        assert len(pcm) == pytest.approx((STARTS[2] - STARTS[1]) * SR, abs=2)
        assert abs(dominant(pcm[:2205], SR) - 1200) < 40 and abs(dominant(pcm[-2205:], SR) - 1200) < 40
        later = np.concatenate(list(src.native_blocks(1.0)))
        assert len(later) == pytest.approx((STARTS[2] - STARTS[1] - 1.0) * SR, abs=2)  # seeking is track-relative
    peaks = compute_peaks(second.path, 100)
    assert peaks.shape == (100, 2) and peaks[:, 1].min() > 0.3  # the tone fills the whole waveform
    cached = waveform_peaks(second.path, 100, cache_dir=tmp_path / "wave-cache")
    assert np.allclose(cached, peaks) and len(list((tmp_path / "wave-cache").iterdir())) == 1


def test_embedded_cuesheet_in_flac_and_wavpack(tmp_path):
    import mutagen
    from mutagen.apev2 import APEv2

    music = tmp_path / "music"
    flac = album_audio(music / "A" / "embedded.flac")
    f = mutagen.File(flac)
    f["CUESHEET"] = sheet_text("whatever.wav")
    f.save()
    from tests.formats_audio import write_audio

    wv = write_audio(music / "B" / "embedded.wv", sf.read(flac, dtype="float32")[0], SR)
    tag = APEv2()
    tag["Cuesheet"] = sheet_text("CDImage.wav", titles=("Eins", "Zwei", "Drei"))
    tag.save(wv)
    cat = Catalog(tmp_path / "c.sqlite3")
    run_scan(cat, music)
    titles = sorted(t.title for t in cat.tracks())
    assert titles == sorted(["Première", "Zweite Straße", "Third", "Eins", "Zwei", "Drei"])
    assert not any(split_track_path(t.path) is None for t in cat.tracks())  # both whole files hidden


def test_missing_file_and_index_past_the_end_are_reported_not_fatal(tmp_path):
    music = tmp_path / "music"
    album_audio(music / "Album" / "album.flac")
    (music / "Album" / "album.cue").write_text(sheet_text("album.flac", extra_track="09:00:00"), encoding="utf-8")
    (music / "Album" / "gone.cue").write_text(sheet_text("not-there.flac"), encoding="utf-8")
    cat = Catalog(tmp_path / "c.sqlite3")
    summary = run_scan(cat, music)
    why = dict(summary.problems)
    assert 'FILE "not-there.flac" is missing' in why[str(music / "Album" / "gone.cue")]
    assert "track 4 starts at 9:00, after the end of album.flac (0:08)" in why[str(music / "Album" / "album.cue")]
    assert [t.title for t in cat.tracks(order="album")] == ["Première", "Zweite Straße", "Third"]


def test_changing_the_sheet_rescans_its_tracks_and_removing_it_brings_the_file_back(tmp_path):
    import os

    music = tmp_path / "music"
    audio = album_audio(music / "Album" / "album.flac")
    cue = music / "Album" / "album.cue"
    cue.write_text(sheet_text("album.flac"), encoding="utf-8")
    cat = Catalog(tmp_path / "c.sqlite3")
    run_scan(cat, music)
    ids = [t.id for t in cat.tracks(order="album")]
    cue.write_text(sheet_text("album.flac", titles=("One", "Two", "Three")), encoding="utf-8")
    os.utime(cue, (os.stat(cue).st_atime, os.stat(cue).st_mtime + 5))
    again = run_scan(cat, music)
    assert sorted(again.changed) == sorted(ids) and not again.added and not again.removed
    assert [t.title for t in cat.tracks(order="album")] == ["One", "Two", "Three"]
    cue.unlink()
    back = run_scan(cat, music)
    assert sorted(back.removed) == sorted(ids) and len(back.added) == 1
    assert cat.by_path(str(audio)) is not None


def test_plain_album_file_becomes_tracks_when_a_sheet_appears(tmp_path):
    music = tmp_path / "music"
    audio = album_audio(music / "Album" / "album.flac")
    cat = Catalog(tmp_path / "c.sqlite3")
    run_scan(cat, music)
    whole = cat.by_path(str(audio)).id
    (music / "Album" / "album.cue").write_text(sheet_text("album.flac"), encoding="utf-8")
    summary = run_scan(cat, music)
    assert summary.removed == [whole] and len(summary.added) == 3


def test_cue_tracks_are_indexed_and_searched_as_tracks(home, tmp_path):
    from desktop.core.indexer import scan_and_index
    from desktop.core.library import Library
    from desktop.core.similarity import similar

    music = tmp_path / "music"
    album_audio(music / "Album" / "album.flac")
    (music / "Album" / "album.cue").write_text(sheet_text("album.flac"), encoding="utf-8")
    with Library.open(home, embedder="spectral") as lib:
        summary = list(scan_and_index(lib, [music]))[-1]
        assert summary.indexed == 3 and not summary.failed
        first = lib.catalog.tracks(order="album")[0]
        hits = similar(lib, first.id, 5)
        assert {h.title for h in hits} == {"Zweite Straße", "Third"}
        assert lib.catalog.tracks(text="straße")[0].title == "Zweite Straße"


def test_a_sheet_given_by_itself_adds_its_album_as_tracks(tmp_path):
    from desktop.ui.library_controller import drop_problem

    music = tmp_path / "music"
    album_audio(music / "Album" / "album.flac")
    cue = music / "Album" / "album.cue"
    cue.write_text(sheet_text("album.flac"), encoding="utf-8")
    assert drop_problem(str(cue), by_example=False) == ""  # a dropped .cue is added to the library
    cat = Catalog(tmp_path / "c.sqlite3")
    list(scan(cat, [cue]))
    assert [t.title for t in cat.tracks(order="album")] == ["Première", "Zweite Straße", "Third"]


def test_a_cue_track_shows_its_album_files_cover(tmp_path):
    import mutagen
    from mutagen.flac import Picture

    from desktop.core.covers import find_cover

    audio = album_audio(tmp_path / "Album" / "album.flac")
    f = mutagen.File(audio)
    pic = Picture()
    pic.type, pic.mime, pic.data = 3, "image/jpeg", b"\xff\xd8\xff\xe0 cover \xff\xd9"
    f.add_picture(pic)
    f.save()
    cover = find_cover(track_path(str(audio), STARTS[1], STARTS[2]))
    assert cover is not None and cover.data == pic.data
