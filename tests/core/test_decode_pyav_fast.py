"""The FFmpeg backend's own sample conversion and mix-down (decode_pyav: planar float views, integer formats
scaled as libswresample does, any channel count averaged) must give the signal libsndfile gives."""

import numpy as np
import pytest
import soundfile as sf

from desktop.core.decode_pyav import PyAVSource
from desktop.core.decode_soundfile import SoundFileSource
from tests import audio


def _channels(n: int, seconds: float, sr: int) -> np.ndarray:
    families = ["plucked", "pad", "drums"]
    return np.stack([audio.render(families[i % 3], seconds, seed=10 + i, sr=sr) * (0.5 + 0.1 * i)
                     for i in range(n)], axis=1)


@pytest.mark.parametrize(("subtype", "channels"), [("PCM_16", 2), ("PCM_24", 1), ("PCM_32", 2), ("PCM_U8", 2),
                                                   ("FLOAT", 2), ("DOUBLE", 1), ("PCM_16", 6)])
def test_pyav_mixes_every_sample_format_like_soundfile(tmp_path, subtype, channels):
    """wav's integer and float formats reach the FFmpeg backend as packed or planar int/float frames."""
    sr = 22050
    path = tmp_path / f"{subtype}_{channels}.wav"
    sf.write(path, _channels(channels, 3.0, sr), sr, subtype=subtype)
    with SoundFileSource(str(path)) as a, PyAVSource(str(path)) as b:
        whole_a, whole_b = a.read_all(), b.read_all()
        part_a, part_b = a.read(1.0, 1.0), b.read(1.0, 1.0)  # a whole native sample
    assert len(whole_a) == len(whole_b) == pytest.approx(3.0 * 16000, abs=2)
    tolerance = 2e-6 if subtype in ("FLOAT", "DOUBLE", "PCM_32", "PCM_24") else 1e-5
    assert np.max(np.abs(whole_a - whole_b)) < tolerance
    assert len(part_a) == len(part_b) == 16000
    assert np.max(np.abs(part_a - part_b)) < tolerance


def test_surround_flac_is_the_average_of_its_channels(tmp_path):
    sr = 44100
    x = _channels(6, 2.0, sr)
    path = tmp_path / "surround.flac"
    sf.write(path, x, sr)
    with PyAVSource(str(path)) as src:
        assert src.channels == 6
        native = np.concatenate(list(src._native_blocks(0.0, 4096)))  # playback folds to stereo
        mono = src.read(0.0, 2.0, rate=sr)
    assert native.shape[1] == 2
    assert np.max(np.abs(mono - x.mean(axis=1))) < 1e-4  # flac is 16-bit: its quantisation step


def test_a_broken_float_file_decodes_to_silence_not_nan(tmp_path):
    sr = 16000
    x = audio.render("pad", 2.0, seed=3, sr=sr)
    x[4000:4100] = np.nan
    x[9000] = np.inf
    path = tmp_path / "nan.wav"
    sf.write(path, np.stack([x, x], 1), sr, subtype="FLOAT")
    with PyAVSource(str(path)) as src:
        y = src.read_all()
        part = src.read(0.2, 0.5)
    assert np.isfinite(y).all() and np.isfinite(part).all()
    assert np.all(y[4000:4100] == 0)
