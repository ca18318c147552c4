"""A damaged file indexes and plays its decodable part with a visible note; no usable audio still fails."""

import numpy as np
import pytest

from desktop.cli import main as cli_main
from desktop.core.decode import open_audio
from desktop.core.embedders import create
from desktop.core.indexer import analyze_file, scan_and_index
from desktop.core.library import Library
from desktop.core.ranged import RangedSource, damaged_note
from tests import audio


def cut(tmp_path, ext, keep, seconds=20.0):
    full = audio.write(tmp_path / f"full.{ext}", audio.render("drums", seconds, seed=3))
    data = full.read_bytes()
    part = tmp_path / "music" / f"cut-{keep:g}.{ext}"
    part.parent.mkdir(exist_ok=True)
    part.write_bytes(data[: int(len(data) * keep)])
    full.unlink()
    return part


@pytest.mark.parametrize("ext", ["mp3", "flac"])
def test_truncated_file_indexes_its_decodable_part_with_a_note(tmp_path, ext):
    part = cut(tmp_path, ext, 0.25)
    result = analyze_file(create("spectral"), str(part))
    assert result.raw is not None and result.error == "damaged: plays 0:05 of 0:20"
    assert 4.0 < result.seconds < 5.2


def test_a_file_with_no_usable_audio_still_fails(tmp_path):
    part = cut(tmp_path, "mp3", 0.01)
    result = analyze_file(create("spectral"), str(part))
    assert result.raw is None and "truncated" in result.error


def test_note_is_shown_by_the_cli_and_the_summary(home, tmp_path, capsys):
    part = cut(tmp_path, "mp3", 0.25)
    with Library.open(home, embedder="spectral") as lib:
        summary = list(scan_and_index(lib, [part.parent]))[-1]
        track = lib.catalog.by_path(str(part))
    assert summary.notes == [(str(part), "damaged: plays 0:05 of 0:20")] and not summary.failed
    assert track.status == "indexed" and track.error == "damaged: plays 0:05 of 0:20"
    assert cli_main(["tracks", "--home", str(home)]) == 0
    assert "[damaged: plays 0:05 of 0:20]" in capsys.readouterr().out


def test_model_embedder_path_keeps_the_note_too(home, tmp_path, tiny_model_dir):
    part = cut(tmp_path, "flac", 0.25)
    with Library.open(home, embedder="wav2vec2", model=str(tiny_model_dir), device="cpu") as lib:
        summary = list(scan_and_index(lib, [part.parent]))[-1]
        track = lib.catalog.by_path(str(part))
    assert track.status == "indexed" and track.error.startswith("damaged: plays 0:0"), track.error
    assert summary.notes and not summary.failed


def test_ranged_source_reads_only_its_range(tmp_path):
    sr = 16000
    t = np.arange(sr * 6) / sr
    x = np.where(t < 2, np.sin(2 * np.pi * 300 * t), np.where(t < 4, np.sin(2 * np.pi * 900 * t), 0.0)) * 0.5
    path = tmp_path / "three.wav"
    import soundfile as sf

    sf.write(path, x.astype(np.float32), sr)
    with RangedSource(open_audio(path), 2.0, 4.0) as src:
        assert src.duration == pytest.approx(2.0)
        whole = np.concatenate(list(src.blocks(0.5)))
        assert len(whole) == 2 * sr
        spectrum = np.abs(np.fft.rfft(whole))
        assert abs(spectrum.argmax() * sr / len(whole) - 900) < 2
        native = np.concatenate(list(src.native_blocks(1.0, 1000)))
        assert len(native) == sr and np.abs(native).max() > 0.4
        assert len(src.read(1.5, 10.0)) == sr // 2  # clamped at the range's end


def test_damaged_note_format():
    assert damaged_note(16.8, 217.0) == "damaged: plays 0:17 of 3:37"
    assert damaged_note(3725, 7200) == "damaged: plays 1:02:05 of 2:00:00"
