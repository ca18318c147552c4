"""The spectral embedder on synthesized audio: shape and determinism, odd inputs, bounded memory on a
long stream, the excerpt plan, and families of clips that must find their own kind first."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from desktop.core.decode import TARGET_SR, AudioSource
from desktop.core.embedders import create
from desktop.core.embedders.spectral import SpectralEmbedder
from desktop.core.standardize import Standardizer
from tests import audio

SR = TARGET_SR


@pytest.fixture(scope="module")
def emb() -> SpectralEmbedder:
    return SpectralEmbedder()


def music(seconds: float, seed: int = 0, family: str = "plucked") -> np.ndarray:
    return audio.render(family, seconds, seed=seed, sr=SR)


class SynthSource(AudioSource):
    """A long synthetic track generated on demand (never held whole), with call counters.

    The signal is a function of the absolute sample index, so blocks() and read() agree."""

    def __init__(self, seconds: float, duration: float | None = None):
        self.total = int(seconds * SR)
        self.duration = seconds if duration is None else duration
        self.path, self.sample_rate, self.channels, self.decoder = "<synth>", SR, 1, "synth"
        self.reads, self.blocks_read = [], 0

    def _make(self, a: int, b: int) -> np.ndarray:
        out = np.zeros(max(0, min(b, self.total) - a), np.float32)
        for k in range(0, len(out), SR):  # one second at a time: the generator's own memory stays small
            n = np.arange(a + k, a + min(k + SR, len(out)))
            t = n / SR
            tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
            hiss = 0.05 * np.sin(n * 12.9898) * np.sin(n * 78.233)  # deterministic noise-like signal
            out[k : k + len(n)] = tone + hiss
        return out

    def blocks(self, block_seconds: float = 10.0):
        step = int(block_seconds * SR)
        for a in range(0, self.total, step):
            self.blocks_read += 1
            yield self._make(a, a + step)

    def read(self, start: float, seconds: float) -> np.ndarray:
        self.reads.append((start, seconds))
        a = max(0, int(start * SR))
        return self._make(a, a + int(seconds * SR))


def test_vector_has_the_declared_shape_groups_and_is_deterministic(emb):
    x = music(20.0, seed=1)
    v = emb.embed_array(x)
    assert v.dtype == np.float32 and v.shape == (emb.dim,) and np.isfinite(v).all()
    assert emb.dim <= 512
    assert np.array_equal(v, emb.embed_array(x))
    assert np.array_equal(v, SpectralEmbedder().embed_array(x.copy()))
    assert not np.allclose(v, emb.embed_array(music(20.0, seed=2)))
    # groups tile the vector in order, each non-empty
    edges = [(a, b) for _, a, b in emb.groups]
    assert edges[0][0] == 0 and edges[-1][1] == emb.dim
    assert all(a < b for a, b in edges) and all(edges[i][1] == edges[i + 1][0] for i in range(len(edges) - 1))
    assert emb.key == f"spectral-v{emb.version}-{emb.dim}"


def test_registered_and_ignores_unknown_options():
    e = create("spectral", device="cuda", model="facebook/wav2vec2-base", precision="bf16")
    assert isinstance(e, SpectralEmbedder) and e.parallel
    assert np.isfinite(e.embed_array(music(3.0))).all()


@pytest.mark.parametrize(
    "name, x",
    [
        ("silence 2 s", np.zeros(2 * SR)),
        ("silence 40 s", np.zeros(40 * SR)),
        ("DC", np.full(10 * SR, 0.7)),
        ("0.1 s clip", np.random.default_rng(0).standard_normal(SR // 10) * 0.3),
        ("one sample", np.array([0.5])),
        ("empty", np.zeros(0)),
        ("loud clipping noise", np.clip(np.random.default_rng(1).standard_normal(10 * SR) * 10, -1, 1)),
        ("huge values", np.random.default_rng(2).standard_normal(3 * SR) * 1e30),
        ("denormals", np.full(3 * SR, 1e-40)),
        ("single click", np.pad([1.0], (SR, SR))),
        ("nyquist square", np.tile([1.0, -1.0], 5 * SR)),
    ],
)
def test_odd_inputs_give_finite_nonzero_vectors(emb, name, x):
    v = emb.embed_array(np.asarray(x, np.float32))
    assert v.shape == (emb.dim,)
    assert np.isfinite(v).all(), name
    assert np.linalg.norm(v) > 1e-3, name


def test_silence_has_one_vector_whatever_its_length(emb):
    """Documented behaviour: every silent input (any length, even empty) gives the same raw vector."""
    ref = emb.embed_array(np.zeros(SR, np.float32))
    for n in (0, 100, SR // 10, 30 * SR, 200 * SR):
        assert np.allclose(emb.embed_array(np.zeros(n, np.float32)), ref, atol=1e-4), n
    assert not np.allclose(emb.embed_array(music(5.0)), ref, atol=1e-2)


def test_long_track_reads_evenly_spaced_excerpts(emb):
    src = SynthSource(1200.0)
    v = emb.embed(src)
    assert np.isfinite(v).all()
    assert len(src.reads) == emb.excerpts and src.blocks_read == 0
    starts = [s for s, _ in src.reads]
    assert all(sec == emb.excerpt_seconds for _, sec in src.reads)
    assert starts == sorted(starts) and starts[0] > 0 and starts[-1] + emb.excerpt_seconds < 1200
    gaps = np.diff(starts)
    assert np.allclose(gaps, gaps[0])


def test_short_track_is_streamed_whole(emb):
    src = SynthSource(60.0)
    emb.embed(src)
    assert not src.reads and src.blocks_read == 4  # 60 s in 15 s blocks


def test_bogus_header_length_falls_back_to_the_stream(emb):
    """An mp3 whose header promises an hour but holds 30 s: the excerpts come back (nearly) empty."""
    src = SynthSource(30.0, duration=3600.0)
    v = emb.embed(src)
    assert src.blocks_read == 2
    assert np.allclose(v, emb.embed(SynthSource(30.0)), atol=1e-5)


@pytest.mark.parametrize("duration", [None, 0.0])  # known length (excerpts) and unknown (whole stream)
def test_ten_minute_stream_has_bounded_memory(emb, duration):
    seconds = 600.0
    signal_bytes = int(seconds * SR) * 4  # 38 MB as float32
    src = SynthSource(seconds, duration=duration)
    emb.embed(SynthSource(20.0))  # warm caches outside the measurement
    tracemalloc.start()
    try:
        v = emb.embed(src)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.isfinite(v).all()
    if duration == 0.0:
        assert src.blocks_read == 40  # all of it, 15 s at a time
    assert peak < 0.25 * signal_bytes, f"peak {peak / 1e6:.1f} MB for a {signal_bytes / 1e6:.0f} MB signal"


def test_each_clip_finds_its_own_family_first(emb):
    """plucked notes at ~120 bpm, a noise drum loop at ~90 bpm, sustained pad chords: five clips each,
    random pitch/tempo/level; after the library standardisation a clip's nearest neighbour is its kind."""
    fams = list(audio.FAMILIES)
    clips = [(f, audio.render(f, 12.0, seed=100 + 10 * i + k, sr=SR)) for i, f in enumerate(fams) for k in range(5)]
    raw = np.stack([emb.embed_array(x) for _, x in clips])
    unit = Standardizer.fit(raw, emb.groups).apply(raw)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    labels = [f for f, _ in clips]
    for i, f in enumerate(labels):
        nearest = labels[int(np.argmax(sims[i]))]
        assert nearest == f, f"{f} clip {i} is closest to a {nearest}"
    # and a family is clearly closer to itself on average than to the others
    same = np.array([[a == b for b in labels] for a in labels]) & ~np.eye(len(labels), dtype=bool)
    other = np.array([[a != b for b in labels] for a in labels])
    assert sims[same].mean() > sims[other].mean() + 0.3


def test_level_changes_move_the_vector_less_than_a_different_family(emb):
    """A quieter copy of a clip stays nearer to it than a clip of another family does."""
    kinds = ["plucked", "pad", "drums", "plucked"]
    clips = [audio.render(f, 10.0, seed=7 + i, sr=SR) for i, f in enumerate(kinds)]
    quiet = clips[0] * 0.25
    raw = np.stack([emb.embed_array(x) for x in clips + [quiet]])
    unit = Standardizer.fit(raw, emb.groups).apply(raw)
    s = unit @ unit[-1]
    assert s[0] > s[1] and s[0] > s[2]
