"""A new embedder is written from embedders/base.py alone: the optional capabilities have working defaults."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from desktop.core.analysis import analyze_file
from desktop.core.embedders.base import Embedder
from desktop.core.indexer import _results_in_process
from tests import audio


class Loudness(Embedder):
    """The smallest embedder there is: RMS and peak of the whole file."""

    name, dim = "loudness", 2

    def embed(self, source) -> np.ndarray:
        x = source.read_all()
        return np.array([np.sqrt(np.mean(x ** 2)), np.abs(x).max()], np.float32)


def test_only_embed_is_needed(tmp_path):
    emb = Loudness()
    assert (emb.parallel, emb.reads_windows, dict(emb.options), emb.key) == (False, False, {}, "loudness-v1-2")
    path = str(audio.write(tmp_path / "a.wav", audio.render("drums", 2.0, seed=1)))
    raw, error, seconds, parts = analyze_file(emb, path)
    assert error == "" and raw.shape == (2,) and seconds == pytest.approx(2.0, abs=0.05) and parts is None
    (tid, got_path, result), = _results_in_process(emb, [(7, path)], threading.Event())
    assert (tid, got_path) == (7, path) and np.array_equal(result.raw, raw)
    with pytest.raises(NotImplementedError, match="reads_windows"):
        emb.read_windows(None)


def test_a_bad_vector_is_a_failed_file_not_a_crash(tmp_path):
    class Broken(Loudness):
        def embed(self, source):
            return np.zeros(2, np.float32)

    path = str(audio.write(tmp_path / "a.wav", audio.render("pad", 1.0, seed=2)))
    result = analyze_file(Broken(), path)
    assert result.raw is None and "invalid vector" in result.error
