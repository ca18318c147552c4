"""The GPU path's batching, run on the CPU (no GPU here): several tracks' windows share one forward and each
track still gets exactly its own vectors; a CUDA out-of-memory is met with a smaller batch, then with that
one file on a CPU copy of the model. The out-of-memory is the device's edge: a small subclass of the
transformers model raises torch.cuda.OutOfMemoryError from its forward, as a full card does."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from desktop.core.analysis import analyze_file
from desktop.core.decode import ArraySource
from desktop.core.embedders.wav2vec2 import Wav2Vec2Embedder
from desktop.core.events import TrackDone
from desktop.core.indexer import scan_and_index
from desktop.core.library import Library
from tests.tiny_model import build_tiny_model

SR = 16000
FAST = dict(windows=2, window_seconds=1.0, precision="fp32", layer=2)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-w2v")


def music(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    tone = np.sin(2 * np.pi * rng.uniform(100, 800) * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))
    return (0.3 * tone + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


def device_edge(embedder, too_big=lambda x: False) -> list[tuple[int, int]]:
    """Make the embedder's model a card that runs out of memory on inputs `too_big` says so of; returns the
    (windows, samples) of every forward it is asked for."""
    model, shapes = embedder._model, []

    class CardModel(type(model)):
        def forward(self, input_values, *args, **kwargs):
            shapes.append(tuple(input_values.shape))
            if too_big(input_values):
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return super().forward(input_values, *args, **kwargs)

    model.__class__ = CardModel
    return shapes


def assert_same(got, want) -> None:
    assert len(got) == len(want)
    for (raw, parts), (raw0, parts0) in zip(got, want, strict=True):
        assert parts.shape == parts0.shape
        assert np.allclose(raw, raw0, atol=1e-4) and np.allclose(parts, parts0, atol=1e-4)


@pytest.fixture(scope="module")
def tracks(tiny):
    reader = Wav2Vec2Embedder(str(tiny), device="cpu", **FAST)
    yield [reader.read_windows(ArraySource(music(6.0, seed))) for seed in range(3)]
    reader.close()


@pytest.fixture(scope="module")
def one_at_a_time(tiny, tracks):
    emb = Wav2Vec2Embedder(str(tiny), device="cpu", batch_size=1, **FAST)
    yield [emb.embed_window_parts(windows) for windows in tracks]
    emb.close()


def test_several_tracks_share_one_forward_and_each_gets_its_own_vectors(tiny, tracks, one_at_a_time):
    emb = Wav2Vec2Embedder(str(tiny), device="cpu", batch_size=6, **FAST)
    shapes = device_edge(emb)
    assert_same(emb.embed_many(tracks), one_at_a_time)
    assert shapes == [(6, SR)]  # 3 tracks x 2 windows in one forward


def test_out_of_memory_halves_the_batch_and_the_smaller_batch_stays(tiny, tracks, one_at_a_time):
    emb = Wav2Vec2Embedder(str(tiny), device="cpu", batch_size=6, **FAST)
    shapes = device_edge(emb, too_big=lambda x: x.shape[0] > 2)
    assert_same(emb.embed_many(tracks), one_at_a_time)
    assert [s[0] for s in shapes[:2]] == [6, 3] and all(s[0] == 1 for s in shapes[2:])
    assert emb.batch_size == 1 and emb.cpu_fallbacks == 0  # the card was full, not this file too big
    shapes.clear()
    emb.embed_many(tracks)
    assert shapes and all(s[0] == 1 for s in shapes)  # the next files keep the smaller batch


def test_a_file_too_big_even_alone_runs_on_the_cpu_and_only_that_file(tiny, tracks):
    emb = Wav2Vec2Embedder(str(tiny), device="cpu", batch_size=6, **FAST)
    emb._cpu_model = None  # as on a GPU: the CPU copy is loaded when first needed
    long = [music(1.5, seed=9), music(1.5, seed=10)]  # this file's windows never fit on the card
    shapes = device_edge(emb, too_big=lambda x: x.shape[1] > SR)
    group = [tracks[0], long, tracks[2]]
    ref = Wav2Vec2Embedder(str(tiny), device="cpu", batch_size=1, **FAST)
    assert_same(emb.embed_many(group), [ref.embed_window_parts(w) for w in group])
    assert emb.cpu_fallbacks == 1 and emb._cpu_model is not None and emb._cpu_model is not emb._model
    assert shapes[-2:] == [(1, SR), (1, SR)]  # the file after it stayed on the card
    ref.close()
    emb.close()


def test_the_indexer_hands_a_gpu_embedder_several_files_per_forward(home, family_dir, tiny):
    with Library.open(home, strict=True, embedder="wav2vec2", model=str(tiny), device="cpu") as lib:
        emb = lib.embedder
        emb.tracks_per_batch, emb.batch_size = 3, 18  # what a GPU gets (the test device is the CPU)
        shapes = device_edge(emb)
        events = list(scan_and_index(lib, [family_dir]))
        done = [ev for ev in events if isinstance(ev, TrackDone)]
        assert len(done) == 12 and all(ev.ok for ev in done) and events[-1].indexed == 12
        assert max(s[0] for s in shapes) > 1  # windows of several files in one forward
        first = lib.catalog.get(done[0].track_id)
        raw = dict(lib.catalog.raw_vectors(emb.key, [first.id]))[first.id]
    alone = Wav2Vec2Embedder(str(tiny), device="cpu", layer=emb.layers[0], batch_size=1)
    try:
        assert np.allclose(raw, analyze_file(alone, first.path).raw, atol=1e-4)  # as if it ran on its own
    finally:
        alone.close()
