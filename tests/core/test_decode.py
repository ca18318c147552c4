"""Decode real files of every format we claim, streamed, to 16 kHz mono; errors name file and cause."""

import os

import numpy as np
import pytest
import soundfile as sf

from desktop.core.decode import TARGET_SR, open_audio
from desktop.core.decode_pyav import PyAVSource
from desktop.core.decode_soundfile import SoundFileSource
from desktop.core.errors import DecodeError
from tests import audio


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3", "m4a", "aiff", "opus"])
def test_every_format_decodes_to_16k_mono(tmp_path, ext):
    sr = 48000 if ext == "opus" else 44100
    x = audio.render("plucked", 3.0, seed=1, sr=sr)
    path = audio.write(tmp_path / f"clip.{ext}", x, sr)
    with open_audio(path) as src:
        assert src.channels == 2 and src.sample_rate == sr
        assert src.duration == pytest.approx(3.0, abs=0.1)
        y = src.read_all()
    assert y.dtype == np.float32 and y.ndim == 1
    assert len(y) == pytest.approx(3.0 * TARGET_SR, rel=0.03)
    # same loudness as the source (mono mix of identical channels = the channel)
    rms_in = np.sqrt(np.mean(x**2))
    assert np.sqrt(np.mean(y**2)) == pytest.approx(rms_in, rel=0.1)


def test_soundfile_and_pyav_give_the_same_mono_signal(tmp_path):
    """Both decoders must mix down identically or a file's vector would depend on the decoder."""
    sr = 44100
    left = audio.render("plucked", 2.0, seed=3, sr=sr)
    right = audio.render("pad", 2.0, seed=4, sr=sr)
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([left, right], 1), sr)
    a = SoundFileSource(str(path))
    b = PyAVSource(str(path))
    ya, yb = a.read_all(), b.read_all()
    a.close(), b.close()
    n = min(len(ya), len(yb))
    assert abs(len(ya) - len(yb)) < 32
    assert np.max(np.abs(ya[:n] - yb[:n])) < 1e-3


def test_blocks_stream_whole_track_in_pieces(tmp_path):
    x = audio.render("drums", 25.0, seed=5)
    path = audio.write(tmp_path / "long.ogg", x)
    with open_audio(path) as src:
        sizes = [len(b) for b in src.blocks(block_seconds=5.0)]
    assert len(sizes) >= 5
    assert max(sizes) <= 6 * TARGET_SR
    assert sum(sizes) == pytest.approx(25 * TARGET_SR, rel=0.01)


@pytest.mark.parametrize("ext", ["flac", "ogg", "m4a"])
def test_read_excerpt_lands_where_asked(tmp_path, ext):
    """A click at a known time must appear at the same offset in the excerpt."""
    sr = 44100
    x = np.zeros(sr * 10, np.float32)
    x[int(6.5 * sr) : int(6.5 * sr) + 200] = 0.9
    path = audio.write(tmp_path / f"click.{ext}", x, sr)
    with open_audio(path) as src:
        y = src.read(6.0, 1.0)
    assert len(y) == pytest.approx(TARGET_SR, rel=0.02)
    peak = int(np.argmax(np.abs(y))) / TARGET_SR
    assert peak == pytest.approx(0.5, abs=0.06)


def test_errors_name_file_and_cause(tmp_path):
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp3"
    text.write_text("this is not music\n" * 100)
    cases = {empty: "empty file", text: "not an audio file", tmp_path / "gone.flac": "file not found"}
    for path, cause in cases.items():
        with pytest.raises(DecodeError) as err:
            with open_audio(path) as src:
                src.read_all()
        assert str(path) in str(err.value)
        assert cause in str(err.value)


def test_truncated_flac_is_reported(tmp_path):
    x = audio.render("pad", 20.0, seed=2)
    path = audio.write(tmp_path / "cut.flac", x)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(DecodeError) as err:
        with open_audio(path) as src:
            for _ in src.blocks():
                pass
    assert "truncated" in str(err.value) or "corrupt" in str(err.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path):
    path = audio.write(tmp_path / "locked.wav", audio.render("pad", 1.0, seed=1))
    path.chmod(0)
    with pytest.raises(DecodeError, match="permission denied"):
        open_audio(path)
