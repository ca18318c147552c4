"""Every supported transformers audio encoder family, as a tiny random model saved to a folder.

For each: the right embedder class from the config, vector dimension, one vector per window with the
windows spread over the whole track, the model's own sampling rate reaching it (CLAP: 48 kHz), and our
per-window vectors equal (to float tolerance) to the same computation done directly with transformers
on the same audio, so the preprocessing is proven right even though the weights are random.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from desktop.core.decode import open_audio
from desktop.core.embedders import create
from desktop.core.embedders.audio_encoder import SpectrogramEmbedder
from desktop.core.embedders.batching import plan_windows
from desktop.core.embedders.wav2vec2 import Wav2Vec2Embedder
from desktop.core.errors import ModelUnavailable
from tests.tiny_models import HIDDEN, LAYERS, build_family

FAMILIES = ["wav2vec2", "hubert", "wavlm", "data2vec-audio", "ast", "clap"]
NATIVE_SR = 48000
SECONDS = 20.0


@pytest.fixture(scope="module")
def track(tmp_path_factory):
    """20 s of a 48 kHz stereo file with content above 8 kHz (what a 16 kHz path would lose)."""
    t = np.arange(int(SECONDS * NATIVE_SR)) / NATIVE_SR
    rng = np.random.default_rng(3)
    x = 0.2 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 12000 * t) + 0.02 * rng.standard_normal(len(t))
    x *= 0.5 + 0.5 * np.sin(2 * np.pi * 0.2 * t)  # changes over time: windows differ
    path = tmp_path_factory.mktemp("enc") / "track.wav"
    sf.write(path, np.stack([x, x], 1).astype(np.float32), NATIVE_SR, subtype="FLOAT")
    return path


@pytest.fixture(scope="module", params=FAMILIES)
def family(request, tmp_path_factory):
    folder = build_family(request.param, tmp_path_factory.mktemp("fam") / request.param)
    layer = None if request.param == "clap" else 2
    emb = create("wav2vec2", model=str(folder), device="cpu", windows=3, window_seconds=2.0, layer=layer,
                 precision="fp32")
    yield request.param, folder, emb
    emb.close()


def direct(family: str, folder, windows: list[np.ndarray], layer: int, sr: int, emb) -> np.ndarray:
    """The same per-window vectors computed with transformers alone (Auto classes, no Soundalike code)."""
    import transformers as tr

    model = tr.AutoModel.from_pretrained(folder).eval()
    out = []
    for w in windows:
        with torch.inference_mode():
            if family == "clap":
                fe = tr.AutoProcessor.from_pretrained(folder).feature_extractor
                f = fe([w], sampling_rate=sr, return_tensors="pt")
                v = model.get_audio_features(input_features=f["input_features"],
                                             is_longer=torch.zeros((1, 1), dtype=torch.bool)).pooler_output
                v = torch.nn.functional.normalize(v, dim=-1)[0]
            elif family == "ast":
                f = tr.AutoFeatureExtractor.from_pretrained(folder)([w], sampling_rate=sr, return_tensors="pt")
                v = model(**f, output_hidden_states=True).hidden_states[layer][0].mean(0)
            else:  # the embedder adds a fixed -100 dBFS dither (documented) so silence is not all zeros
                fe = tr.AutoFeatureExtractor.from_pretrained(folder)
                f = fe([w + emb._dither_for(len(w))], sampling_rate=sr, return_tensors="pt")
                kw = {"attention_mask": f["attention_mask"]} if emb._pass_mask else {}
                v = model(f["input_values"], output_hidden_states=True, **kw).hidden_states[layer][0].mean(0)
        out.append(v.float().numpy())
    return np.stack(out)


def test_family_embeds_like_transformers_directly(family, track):
    name, folder, emb = family
    expected_cls = SpectrogramEmbedder if name in ("ast", "clap") else Wav2Vec2Embedder
    assert isinstance(emb, expected_cls)
    rate = 48000 if name == "clap" else 16000
    assert emb.sampling_rate == rate
    dim = 24 if name == "clap" else HIDDEN
    assert emb.dim == dim and emb.key.endswith(f"-{dim}") and "-w3x2-fp32-" in emb.key
    with open_audio(track) as src:
        windows = emb.read_windows(src)
        raw, parts = emb.embed_parts(src)
    # Windows spread over the whole track, each window_seconds long, at the model's own rate.
    assert plan_windows(SECONDS, 3, 2.0) == [0.0, 9.0, 18.0]
    assert [len(w) for w in windows] == [2 * rate] * 3
    native = sf.read(track, dtype="float32")[0].mean(1)
    if rate == NATIVE_SR:  # CLAP gets the file's own 48 kHz samples, untouched
        for w, start in zip(windows, (0, 9, 18)):
            np.testing.assert_array_equal(w, native[start * NATIVE_SR:(start + 2) * NATIVE_SR])
    assert parts.shape == (3, dim) and raw.shape == (dim,)
    np.testing.assert_allclose(raw, parts.mean(0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(parts[0], parts[1], atol=1e-4)  # windows at different places differ
    if name == "clap":
        np.testing.assert_allclose(np.linalg.norm(parts, axis=1), 1.0, rtol=1e-5)  # CLAP's joint space: unit
    want = direct(name, folder, windows, None if name == "clap" else 2, rate, emb)
    np.testing.assert_allclose(parts, want, rtol=1e-4, atol=1e-5)


def test_ast_defaults_to_its_last_layer_and_clap_refuses_layers(tmp_path):
    ast = build_family("ast", tmp_path / "ast")
    emb = create("wav2vec2", model=str(ast), device="cpu", windows=1, precision="fp32")
    assert emb.layers == (LAYERS, LAYERS) and emb.window_seconds == 10.0  # default windows fit AST's 10.24 s input
    with pytest.raises(ValueError, match="does not exist"):
        create("wav2vec2", model=str(ast), device="cpu", layer=LAYERS + 1)
    clap = build_family("clap", tmp_path / "clap")
    with pytest.raises(ValueError, match="--layer does not apply"):
        create("wav2vec2", model=str(clap), device="cpu", layer=2)


def test_a_model_that_is_not_an_audio_encoder_is_refused_by_its_config(tmp_path):
    import transformers as tr

    folder = tmp_path / "bert"
    tr.BertModel(tr.BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=64)).save_pretrained(folder)
    with pytest.raises(ModelUnavailable, match="is a bert model"):
        create("wav2vec2", model=str(folder), device="cpu")
