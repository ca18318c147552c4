"""An excerpt (seek + decode of only its frames) holds the samples a whole decode holds at that time.

The spectral embedder reads six 15 s excerpts per track, so a seek that lands a few ms off, or lossy
decoders that have not converged after a seek (Opus, MP3's bit reservoir, AAC's overlap), would give a
track a different vector than decoding it whole. Exact formats must match to float noise; Opus and AAC
to their decoders' own noise (AAC's noise substitution and Opus's state are not bit-exact after a seek).
"""

import numpy as np
import pytest

from desktop.core.cue import track_path
from desktop.core.decode import TARGET_SR, open_audio
from desktop.core.errors import DecodeError
from tests import audio

# Max difference from the whole decode (full scale 0.8; 1 ms off gives ~1.0): libsndfile and FFmpeg's Vorbis,
# MP3 and Opus decoders measured exact after a seek; AAC fills noisy bands with pseudo-random noise
# (perceptual noise substitution), which differs from run to run of the decoder (0.03-0.05 measured).
TOLERANCE = {"wav": 1e-5, "flac": 1e-5, "ogg": 1e-5, "mp3": 1e-5, "m4a": 0.1, "opus": 0.02}


def _music(seconds: float, sr: int) -> np.ndarray:
    x = 0.6 * audio.render("plucked", seconds, seed=21, sr=sr) + 0.4 * audio.render("drums", seconds, seed=22, sr=sr)
    return (0.8 * x / np.abs(x).max()).astype(np.float32)


def _matches(excerpt: np.ndarray, whole: np.ndarray, start: float, tolerance: float) -> None:
    """The excerpt equals the whole decode's samples from `start` (resampler edges aside), and not the
    samples 1 ms earlier or later: a seek that landed off would fail the first and pass one of those."""
    a, edge = int(round(start * TARGET_SR)), TARGET_SR // 50  # 20 ms: the resampler's own start-up
    inner = excerpt[edge:-edge]

    def diff(shift: int) -> float:
        return float(np.max(np.abs(inner - whole[a + edge + shift : a + edge + shift + len(inner)])))

    assert diff(0) < tolerance
    assert min(diff(-16), diff(16)) > 5 * max(diff(0), 1e-3)


@pytest.mark.parametrize("ext", sorted(TOLERANCE))
def test_an_excerpt_equals_the_same_samples_of_a_whole_decode(tmp_path, ext):
    sr = 48000 if ext == "opus" else 44100
    path = audio.write(tmp_path / f"music.{ext}", _music(12.0, sr), sr)
    with open_audio(path) as src:
        whole = src.read_all()
        excerpts = {start: src.read(start, 2.0) for start in (7.0, 1.0, 5.0, 9.5)}  # back and forth
    assert len(whole) == pytest.approx(12.0 * TARGET_SR, abs=0.05 * TARGET_SR)
    for start, excerpt in excerpts.items():
        assert len(excerpt) == 2 * TARGET_SR
        _matches(excerpt, whole, start, TOLERANCE[ext])


@pytest.mark.parametrize("ext", ["ogg", "flac", "mp3"])
def test_a_cue_tracks_excerpt_is_its_range_of_the_album(tmp_path, ext):
    sr = 44100
    album = audio.write(tmp_path / f"album.{ext}", _music(12.0, sr), sr)
    with open_audio(album) as src:
        whole = src.read_all()
    with open_audio(track_path(str(album), 4.0, 10.0)) as track:
        assert track.duration == pytest.approx(6.0)
        excerpt = track.read(2.0, 3.0)
        blocks = np.concatenate(list(track.blocks(2.5)))
    assert len(excerpt) == 3 * TARGET_SR
    _matches(excerpt, whole, 6.0, TOLERANCE[ext])
    assert len(blocks) == pytest.approx(6 * TARGET_SR, abs=2)
    _matches(blocks[: 2 * TARGET_SR], whole, 4.0, TOLERANCE[ext])


@pytest.mark.parametrize("ext", ["ogg", "opus", "mp3", "flac"])
def test_a_truncated_files_excerpts_match_the_intact_file(tmp_path, ext):
    """Half of the file is gone: what survives reads as before; a whole decode keeps the surviving part
    (Ogg: its length comes from the last page left) or is reported truncated, naming the file and how
    much of it plays (MP3 and FLAC: their headers still say 20 s), also after an excerpt read past the cut."""
    sr = 48000 if ext == "opus" else 44100
    full = audio.write(tmp_path / f"full.{ext}", _music(20.0, sr), sr)
    with open_audio(full) as src:
        whole = src.read_all()
    data = full.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: len(data) // 2])
    with open_audio(cut) as src:
        excerpt = src.read(3.0, 2.0)
        if ext in ("mp3", "flac"):
            with pytest.raises(DecodeError, match="truncated") as past:
                src.read(15.0, 2.0)  # past the cut: the error says where the audio really ends
            said = f"{past.value.playable:.1f} s"  # "audio ends at 9.8 s of 20.0 s" or "cannot decode past 9.8 s"
            assert 9.0 < past.value.playable < 11.0 and said in str(past.value)
            with pytest.raises(DecodeError, match="truncated") as err:
                src.read_all()
            assert str(cut) in str(err.value) and 9.0 < err.value.playable < 11.0
            rest = None
        else:
            rest = src.read_all()
    _matches(excerpt, whole, 3.0, TOLERANCE[ext])
    if rest is not None:
        assert 8.0 < len(rest) / TARGET_SR < 10.5
        _matches(rest[: 4 * TARGET_SR], whole, 0.0, TOLERANCE[ext])
