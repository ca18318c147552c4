"""Tags read like tagging tools write them, in every container; fallbacks the way players fill gaps."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core.tags import generated_artist, read_tag_values, read_tags
from tests.formats_audio import tone, write_audio
from tests.tag_writers import FULL, TAGGABLE, write_tags

DATA = Path(__file__).resolve().parent.parent / "data"
ROOT = DATA.parent.parent


def audio_file(folder: Path, ext: str, name: str = "t") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if ext in ("ape", "mpc"):  # no encoder in FFmpeg: the kept fixtures (tests/data/README.md)
        return Path(shutil.copy(DATA / f"tone.{ext}", folder / f"{name}.{ext}"))
    return write_audio(folder / f"{name}.{ext}", tone(0.5))


@pytest.mark.parametrize("ext", TAGGABLE)
def test_full_tags_in_every_container(tmp_path, ext):
    path = audio_file(tmp_path, ext)
    write_tags(path, FULL)
    v = read_tag_values(str(path))
    assert (v["title"], v["artist"], v["album_artist"], v["album"], v["genre"]) == (
        "Blue in Green", "Ann Example", "The Example Band", "Kind of Test", "Jazz")
    assert (v["track_number"], v["track_total"], v["disc_number"], v["disc_total"]) == (3, 12, 1, 2)
    assert (v["year"], v["date"], v["compilation"]) == (2003, "2003-05-01", True)
    assert (v["mb_recording_id"], v["mb_release_id"]) == (FULL["mb_recording"], FULL["mb_release"])
    assert (v["rg_track_gain"], v["rg_track_peak"], v["rg_album_gain"], v["rg_album_peak"]) == (
        -6.54, 0.987654, -7.10, 1.0)
    assert v["has_cover"] is True
    assert v["duration"] == pytest.approx(0.5 if ext not in ("ape", "mpc") else 1.0, abs=0.1)


@pytest.mark.parametrize("ext", ["mp3", "aiff", "flac", "m4a", "wv", "wma"])
def test_minimal_tags_leave_the_rest_unknown(tmp_path, ext):
    path = audio_file(tmp_path / "Some Album", ext)
    write_tags(path, {"title": "Only a Title"})
    v = read_tags(str(path))
    assert v["title"] == "Only a Title"
    assert v["year"] is None and v["track_number"] is None and v["rg_track_gain"] is None
    assert v["compilation"] is False and v["has_cover"] is False and v["mb_recording_id"] == ""
    assert v["album"] == "Some Album" and "album" in v["generated"].split(",")


@pytest.mark.parametrize("ext", ["mp3", "aiff", "flac", "ogg", "m4a", "ape", "wma"])
def test_unparseable_values_never_become_numbers(tmp_path, ext):
    path = audio_file(tmp_path, ext)
    numbers = (0, 0) if ext == "m4a" else ("x", "y")  # MP4 stores numbers as integers: 0 is its "unknown"
    write_tags(path, {"title": "T", "date": "unknown", "track": numbers, "disc": (0, 0),
                      "rg_track_gain": "loud", "rg_track_peak": ""})
    v = read_tag_values(str(path))
    assert v["year"] is None and v["date"] == ""  # no year 0
    assert (v["track_number"], v["track_total"], v["disc_number"], v["disc_total"]) == (None, None, None, None)
    assert v["rg_track_gain"] is None and v["rg_track_peak"] is None


def test_year_zero_is_no_year(tmp_path):
    path = audio_file(tmp_path, "mp3")
    write_tags(path, {"title": "T", "date": "0000"})
    assert read_tag_values(str(path))["year"] is None


def test_empty_and_broken_tag_blocks_do_not_stop_reading(tmp_path):
    empty = audio_file(tmp_path / "Album A", "flac", "empty")
    import mutagen

    f = mutagen.File(empty)
    f.add_tags() if f.tags is None else None
    f.save()
    assert read_tags(str(empty))["title"] == "empty"
    broken = audio_file(tmp_path / "Album A", "mp3", "broken")
    raw = broken.read_bytes()
    broken.write_bytes(b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + b"\xff" * 64 + raw)  # a header that lies about its size
    v = read_tags(str(broken))
    assert v["title"] == "broken" and v["album"] == "Album A"


def test_aiff_id3_tags_are_read(tmp_path):
    """The bug that started this: AIFF's ID3 chunk was ignored."""
    path = audio_file(tmp_path, "aiff")
    write_tags(path, {"title": "Aiff Title", "artist": "Aiff Artist", "album": "Aiff Album", "date": "1999"})
    v = read_tags(str(path))
    assert (v["title"], v["artist"], v["album"], v["year"], v["generated"]) == (
        "Aiff Title", "Aiff Artist", "Aiff Album", 1999, "genre")


def test_matroska_tags_come_from_ffmpeg(tmp_path):
    import av

    path = write_audio(tmp_path / "t.mka", tone(0.5))
    with av.open(str(path)) as src, av.open(str(tmp_path / "tagged.mka"), "w") as out:
        out.metadata.update({"title": "Mka Title", "artist": "Mka Artist", "album": "Mka Album", "date": "2011"})
        stream = out.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux(src.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    v = read_tags(str(tmp_path / "tagged.mka"))
    assert (v["title"], v["artist"], v["album"], v["year"]) == ("Mka Title", "Mka Artist", "Mka Album", 2011)
    assert v["duration"] == pytest.approx(0.5, abs=0.05)


def test_opus_r128_gain_becomes_replaygain(tmp_path):
    import mutagen

    path = audio_file(tmp_path, "opus")
    f = mutagen.File(path)
    f["R128_TRACK_GAIN"] = str(-512)  # -2 dB relative to -23 LUFS = +3 dB relative to ReplayGain's -18
    f.save()
    assert read_tag_values(str(path))["rg_track_gain"] == pytest.approx(3.0)


# -- fallbacks when tags are missing (issue 18: tags the way players read them) ----------------------------
def test_artist_album_track_layout_gives_artist_and_album(tmp_path):
    root = tmp_path / "Music"
    path = audio_file(root / "Nina Example" / "Quiet Songs", "flac", "01_first")
    v = read_tags(str(path), root=str(root))
    assert (v["title"], v["album"], v["artist"]) == ("01 first", "Quiet Songs", "Nina Example")
    assert set(v["generated"].split(",")) == {"title", "album", "genre", "artist_folder"}  # not made up


def test_album_folder_directly_under_the_root_gets_one_made_up_artist(tmp_path):
    root = tmp_path / "Music"
    a = audio_file(root / "Some Soundtrack", "flac", "a")
    b = audio_file(root / "Some Soundtrack", "mp3", "b")
    other = audio_file(root / "Other Folder", "flac", "c")
    va, vb, vc = (read_tags(str(p), root=str(root)) for p in (a, b, other))
    assert va["artist"] == vb["artist"] == generated_artist(str(a.parent)) != vc["artist"]
    assert "artist" in va["generated"].split(",") and va["album"] == "Some Soundtrack"


def test_album_artist_stands_in_for_a_missing_artist(tmp_path):
    path = audio_file(tmp_path / "x", "flac")
    write_tags(path, {"albumartist": "The Example Band"})
    v = read_tags(str(path), root=str(tmp_path))
    assert v["artist"] == "The Example Band" and "artist" not in v["generated"]


def test_read_tags_returns_exactly_the_track_tag_fields(tmp_path):
    from desktop.core.track import FROM_TAGS

    path = audio_file(tmp_path / "Album", "flac")
    write_tags(path, FULL)
    assert set(read_tags(str(path))) == set(FROM_TAGS)  # what Track(**tags) takes, nothing else


def test_warm_up_imports_what_the_first_scan_reads_tags_with():
    """The window warms the tag readers up while idle after its first paint (a fresh interpreter, as a user's)."""
    code = ("import sys; from desktop.core import tags; assert 'faker' not in sys.modules; tags.warm_up(); "
            "assert 'faker' in sys.modules and tags._faker.cache_info().currsize == 1; "
            "assert {'mutagen.flac', 'mutagen.mp3', 'mutagen.oggvorbis', 'mutagen.mp4'} <= set(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)
