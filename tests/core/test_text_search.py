"""Text search in a CLAP space, on a tiny random CLAP saved to a folder: text -> vector of the audio
space's dimension -> hits, scores equal to transformers' own text/audio cosine; clear refusal otherwise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from desktop.core.indexer import scan_and_index
from desktop.core.library import Library
from desktop.core.text_search import NoTextSpace, search_text
from tests import audio
from tests.cli.test_cli import cli
from tests.tiny_models import build_family


@pytest.fixture(scope="module")
def clap_dir(tmp_path_factory):
    return build_family("clap", tmp_path_factory.mktemp("clap") / "tiny-clap")


@pytest.fixture
def music(tmp_path):
    for i, family in enumerate(("pad", "drums", "plucked")):
        audio.write(tmp_path / "music" / f"{family}.flac", audio.render(family, 3.0, seed=i), sr=48000)
    return tmp_path / "music"


def test_text_finds_tracks_in_the_clap_space(home, music, clap_dir):
    import transformers as tr

    with Library.open(home, strict=True, embedder="wav2vec2", model=str(clap_dir), device="cpu") as lib:
        list(scan_and_index(lib, [music]))
        assert lib.active_key.startswith("clap-tiny-clap_r") and lib.catalog.counts()["indexed"] == 3
        hits = search_text(lib, "slow piano with rain", k=2)
        raws = dict(lib.catalog.raw_vectors(lib.active_key))
        dim = lib.embedder.dim
    assert len(hits) == 2 and hits[0].score >= hits[1].score
    # The same cosine computed with transformers alone: CLAP's text tower, normalised, against the track.
    model = tr.AutoModel.from_pretrained(clap_dir).eval()
    processor = tr.AutoProcessor.from_pretrained(clap_dir)
    tokens = processor(text=["slow piano with rain"], return_tensors="pt", padding=True)
    with torch.inference_mode():
        text = torch.nn.functional.normalize(model.get_text_features(**tokens).pooler_output, dim=-1)[0].numpy()
    assert text.shape == (dim,)
    for h in hits:
        raw = raws[h.track_id]
        assert h.score == pytest.approx(float(raw @ text / np.linalg.norm(raw)), abs=1e-5)
    with Library.open(home, lock=True) as lib:
        with pytest.raises(ValueError, match="describe the sound"):
            search_text(lib, "  ")


def test_without_a_clap_space_the_message_says_which_model_to_get(home, music):
    out = cli("index", music, "--embedder", "spectral", home=home, timeout=600)
    assert out.returncode == 0, out.stderr
    with Library.open(home) as lib, pytest.raises(NoTextSpace, match="laion/larger_clap_music"):
        search_text(lib, "slow piano")
    out = cli("similar", "--text", "slow piano", home=home, timeout=600)
    assert out.returncode == 1 and "CLAP model" in out.stderr and "spectral" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    out = cli("similar", home=home, timeout=600)
    assert out.returncode == 2 and "--text" in out.stderr
