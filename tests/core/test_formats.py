"""Every format in the table is scanned and decoded; skipped files are counted; the .desktop entry agrees."""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main as cli_main
from desktop.core import formats
from desktop.core.decode import open_audio
from desktop.core.indexer import scan_and_index
from desktop.core.library import Library
from desktop.integration import resources_dir
from tests.formats_audio import PYAV, SOUNDFILE, tone, write_audio

DATA = Path(__file__).resolve().parent.parent / "data"
WRITABLE = sorted({*SOUNDFILE, *PYAV, "dsf", "dff"})


def make_all_formats(folder: Path) -> dict[str, Path]:
    """One 1 s 440 Hz tone per extension the tests can write, plus the kept APE and Musepack files."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {ext: write_audio(folder / f"tone.{ext}", tone(1.0)) for ext in WRITABLE}
    for name in ("tone.ape", "tone.mpc"):
        out[name.split(".")[1]] = Path(shutil.copy(DATA / name, folder / name))
    return out


@pytest.fixture(scope="module")
def all_formats(tmp_path_factory):
    return make_all_formats(tmp_path_factory.mktemp("formats"))


def test_the_table_covers_what_collections_hold():
    want = "mp3 mp2 aac m4a alac flac ogg oga opus wav w64 aiff aif aifc ape wv mpc tta wma dsf dff mka webm"
    assert {"." + e for e in want.split()} <= formats.audio_extensions()
    assert all(f.decoder in ("soundfile", "pyav") and f.mime for f in formats.formats())
    assert formats.is_audio_path("/x/Song.FLAC") and not formats.is_audio_path("/x/cover.jpg")


@pytest.mark.parametrize("ext", WRITABLE + ["ape", "mpc"])
def test_each_format_decodes_to_the_tone(all_formats, ext):
    with open_audio(all_formats[ext]) as src:
        x = src.read_all()
        assert src.decoder == formats.format_of(str(all_formats[ext])).decoder
    assert abs(len(x) / 16000 - 1.0) < 0.06, f".{ext}: {len(x) / 16000:.3f} s"
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    assert abs(spectrum.argmax() * 16000 / len(x) - 440) < 3, f".{ext}: the tone is not there"


def test_dsd_is_converted_to_pcm_for_playback_too(all_formats):
    for ext in ("dsf", "dff"):
        with open_audio(all_formats[ext]) as src:
            assert src.sample_rate == 2822400 // 8  # FFmpeg's DSD decoder gives float PCM at 352.8 kHz
            pcm = np.concatenate(list(src.native_blocks()))
        assert pcm.dtype == np.float32 and abs(len(pcm) / src.sample_rate - 1.0) < 0.02
        assert 0.1 < float(np.sqrt((pcm**2).mean())) < 0.5


def test_scan_indexes_every_format_counts_skipped_and_fails_undecodable(home, all_formats, tmp_path, capsys):
    music = tmp_path / "music"
    shutil.copytree(next(iter(all_formats.values())).parent, music)
    (music / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    (music / "notes.txt").write_text("liner notes")
    (music / "back.JPG").write_bytes(b"\xff\xd8")
    (music / "README").write_text("x")
    (music / "broken.wma").write_bytes(b"\x00" * 4096)  # a known audio extension, nothing decodable
    with Library.open(home, embedder="spectral") as lib:
        summary = list(scan_and_index(lib, [music]))[-1]
        tracks = {Path(t.path).name: t for t in lib.catalog.tracks()}
    assert set(tracks) == {p.name for p in all_formats.values()} | {"broken.wma"}
    failed = {n: t.error for n, t in tracks.items() if t.status != "indexed"}
    assert list(failed) == ["broken.wma"] and failed["broken.wma"].startswith("not an audio file or unsupported format")
    assert [Path(p).name for p, _ in summary.failed] == ["broken.wma"]  # the summary names the file
    assert summary.indexed == len(all_formats)
    assert cli_main(["status", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert "skipped (not audio, last scan): .jpg 2, (no extension) 1, .txt 1" in out


def test_desktop_entry_mimetypes_come_from_the_table():
    text = (resources_dir() / "soundalike.desktop").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("MimeType="))
    assert line == formats.desktop_mime_line(), "regenerate resources/soundalike.desktop from formats.json"
    assert all(re.fullmatch(r"audio/[\w.+-]+", m) for m in formats.mime_types())
    if shutil.which("desktop-file-validate"):
        result = subprocess.run(["desktop-file-validate", str(resources_dir() / "soundalike.desktop")],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_installed_entry_uses_the_table(tmp_path, monkeypatch):
    from desktop import integration

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    integration.install_desktop_entry()
    text = (tmp_path / "applications" / "soundalike.desktop").read_text()
    assert formats.desktop_mime_line() in text.splitlines()


def test_dialog_filter_lists_every_extension():
    first = formats.dialog_filter().split(";;")[0]
    assert all(f"*{e}" in first for e in formats.audio_extensions())
