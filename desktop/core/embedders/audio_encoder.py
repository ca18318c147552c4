"""Any transformers audio encoder, chosen from the model's config (never from its name).

* The wav2vec2 family (Wav2Vec2, HuBERT, WavLM, Data2VecAudio...: waveform in, frames out) runs in
  `Wav2Vec2Embedder`, which cuts unused layers and overlaps decoding with the model.
* AST (`audio-spectrogram-transformer`) takes log-mel spectrograms from its own feature extractor:
  per window, the mean over all tokens of the chosen layer(s); by default the *last* layer, because
  AST checkpoints are supervised (AudioSet labels), so the last layer holds what the sound *is*.
* CLAP (`clap`) gives its joint audio-text space: per window, the audio tower's projected and
  normalised embedding (`get_audio_features`), decoded at CLAP's 48 kHz. Because the vectors live in
  the joint space, `embed_text` places a description in the same space (text search). There are no
  layers to choose: only the projection is in the joint space.

`create("wav2vec2", model=...)` (the "neural model" setting) reads config.json and builds the right
one. Every model embedder returns one vector per window too, so the library's within-track whitening
applies to them as to the spectral embedder.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from desktop.core.decode import TARGET_SR
from desktop.core.embedders.base import Embedder, register
from desktop.core.embedders.batching import WindowedModelEmbedder
from desktop.core.embedders.model_files import import_torch, layer_text, locate_model, quiet, read_config
from desktop.core.embedders.wav2vec2 import (
    DEFAULT_MODEL,
    DEFAULT_WINDOW_SECONDS,
    DEFAULT_WINDOWS,
    WAVEFORM_TYPES,
    Wav2Vec2Embedder,
)
from desktop.core.errors import ModelUnavailable

SPECTROGRAM_TYPES = ("audio-spectrogram-transformer",)
JOINT_TYPES = ("clap",)
KNOWN = WAVEFORM_TYPES + SPECTROGRAM_TYPES + JOINT_TYPES


@register("wav2vec2")
def neural_embedder(model: str = DEFAULT_MODEL, cache_dir: str | None = None, **options) -> Embedder:
    """The embedder for `model`'s family, from its config.json (a fast local read, no torch yet)."""
    source, _, folder = locate_model(str(model), cache_dir)
    model_type = str(read_config(source, folder, cache_dir).get("model_type", ""))
    if model_type in WAVEFORM_TYPES:
        return Wav2Vec2Embedder(model, cache_dir=cache_dir, **options)
    if model_type in SPECTROGRAM_TYPES + JOINT_TYPES:
        return SpectrogramEmbedder(model, cache_dir=cache_dir, **options)
    raise ModelUnavailable(f"model {model!r} is a {model_type or 'unknown'} model; Soundalike embeds audio with "
                           f"{', '.join(KNOWN)}")


@dataclass
class EncoderParts:
    model_type: str
    config: object
    model: object
    extractor: object
    processor: object | None  # CLAP: feature extractor + tokenizer (text queries)

    @property
    def sampling_rate(self) -> int:
        return int(getattr(self.extractor, "sampling_rate", TARGET_SR) or TARGET_SR)


def load_encoder_parts(source: str, **hub_kw) -> EncoderParts:
    """Config, model and feature extractor (and CLAP's processor) through transformers' Auto classes."""
    torch, tr = import_torch()
    try:
        with quiet(tr):
            config = tr.AutoConfig.from_pretrained(source, **hub_kw)
            if config.model_type not in KNOWN:
                raise ModelUnavailable(f"{config.model_type} is not an audio encoder Soundalike knows "
                                       f"({', '.join(KNOWN)})")
            model = tr.AutoModel.from_pretrained(source, dtype=torch.float32, **hub_kw).eval()
            processor = tr.AutoProcessor.from_pretrained(source, **hub_kw) if config.model_type in JOINT_TYPES else None
            extractor = processor.feature_extractor if processor is not None else _extractor(tr, source, config, hub_kw)
    except ModelUnavailable:
        raise
    except Exception as e:
        raise ModelUnavailable(f"model {source!r} cannot be loaded: {type(e).__name__}: {e}") from e
    return EncoderParts(config.model_type, config, model, extractor, processor)


def _extractor(tr, source: str, config, hub_kw: dict):
    try:
        return tr.AutoFeatureExtractor.from_pretrained(source, **hub_kw)
    except Exception:  # a checkpoint without preprocessor_config.json: the family's standard one
        if config.model_type in SPECTROGRAM_TYPES:
            return tr.ASTFeatureExtractor()
        return tr.Wav2Vec2FeatureExtractor(sampling_rate=TARGET_SR, do_normalize=True, return_attention_mask=True)


class SpectrogramEmbedder(WindowedModelEmbedder):
    """AST and CLAP: spectrogram encoders, fed fixed-length windows at the model's own sampling rate."""

    version = "1"

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "auto", windows: int = DEFAULT_WINDOWS,
                 window_seconds: float = DEFAULT_WINDOW_SECONDS, layer=None, batch_size: int | None = None,
                 precision: str = "auto", cache_dir: str | None = None, **ignored):
        layers, self._source, _ = self._open_model(model, device, windows, window_seconds, layer, batch_size,
                                                   precision, cache_dir)
        parts = load_encoder_parts(self._source, **self._hub_kw)
        self.model_type, self._fe, self.processor = parts.model_type, parts.extractor, parts.processor
        self.sampling_rate = parts.sampling_rate
        self.joint = self.model_type in JOINT_TYPES
        self.name = "clap" if self.joint else "ast"
        if self.joint:
            if layers is not None:
                raise ValueError("CLAP vectors come from its joint audio-text projection: --layer does not apply")
            self.layers = None
            self.dim = int(parts.config.projection_dim)
            # CLAP sees at most max_length_s (10 s): longer windows would be cropped at random.
            self.window_seconds = min(self.window_seconds, float(getattr(self._fe, "max_length_s", 10) or 10))
        else:
            n = int(parts.config.num_hidden_layers)
            self.layers = layers or (n, n)
            if self.layers[1] > n:
                raise ValueError(f"layer {layer_text(self.layers)} does not exist: model {self.short_name!r} has "
                                 f"{n} transformer layers (use 0-{n})")
            self.dim = int(parts.config.hidden_size)
            frames = int(getattr(self._fe, "max_length", 1024) or 1024)  # 10 ms hops: 1024 frames = 10.24 s
            self.window_seconds = min(self.window_seconds, frames / 100.0)
        self.groups = ((self.name, 0, self.dim),)
        self._model = parts.model.to(self.device)
        self._cpu_model = self._model if self.device == "cpu" else None
        self.cpu_fallbacks = 0
        self.options = self._options(device, precision)

    def _load_model(self, device: str):
        return load_encoder_parts(self._source, **self._hub_kw).model.to(device)

    # -- embedding --------------------------------------------------------------------------------
    def _prepare(self, windows: list[np.ndarray]) -> list[np.ndarray]:
        """An empty read embeds 1 s of silence."""
        return windows or [np.zeros(self.sampling_rate, np.float32)]

    def _forward(self, windows: list[np.ndarray], model, device: str, precision: str) -> np.ndarray:
        torch, _ = import_torch()
        out = np.zeros((len(windows), self.dim), np.float32)
        for b in range(0, len(windows), self.batch_size):
            batch = windows[b:b + self.batch_size]
            feats = self._fe(batch, sampling_rate=self.sampling_rate, return_tensors="pt")
            with torch.inference_mode(), _autocast(torch, device, precision):
                if self.joint:
                    # is_longer: our windows never exceed CLAP's 10 s; the extractor may flag one at random.
                    longer = torch.zeros((len(batch), 1), dtype=torch.bool, device=device)
                    emb = model.get_audio_features(input_features=feats["input_features"].to(device),
                                                   is_longer=longer).pooler_output.float()
                    emb = torch.nn.functional.normalize(emb, dim=-1)
                else:
                    x = feats["input_values"].to(device)
                    hidden = model(input_values=x, output_hidden_states=True).hidden_states
                    first, last = self.layers
                    emb = sum(hidden[i].float() for i in range(first, last + 1)) / (last - first + 1)
                    emb = emb.mean(1)
            out[b:b + len(batch)] = emb.cpu().numpy()
        return out

    def embed_text(self, texts: list[str]) -> np.ndarray:
        """CLAP only: normalised text vectors in the same joint space as the audio (len(texts) x dim)."""
        if not self.joint:
            raise ModelUnavailable(f"{self.short_name} has no text tower: text search needs a CLAP model")
        torch, _ = import_torch()
        tokens = self.processor(text=list(texts), return_tensors="pt", padding=True)
        model = self._model if self._model is not None else self._cpu_model
        with torch.inference_mode():
            emb = model.get_text_features(**{k: v.to(self.device) for k, v in tokens.items()}).pooler_output.float()
        return torch.nn.functional.normalize(emb, dim=-1).cpu().numpy().astype(np.float32)

    def close(self) -> None:
        if getattr(self, "_model", None) is None:
            return
        cuda = self.device.startswith("cuda")
        self._model = self._cpu_model = None
        if cuda:
            torch, _ = import_torch()
            torch.cuda.empty_cache()


def _autocast(torch, device: str, precision: str):
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
    return torch.autocast(device.split(":")[0], dtype=dtype) if dtype is not None else contextlib.nullcontext()


def layer_count(model: str, cache_dir: str | None = None) -> int:
    """Transformer layers of `model` (from its config.json); CLAP has none to choose."""
    source, _, folder = locate_model(str(model), cache_dir)
    config = read_config(source, folder, cache_dir)
    if config.get("model_type") in JOINT_TYPES:
        raise ValueError("CLAP vectors come from its joint audio-text projection: there are no layers to sweep")
    try:
        return int(config["num_hidden_layers"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelUnavailable(f"model {model!r}: its config.json does not say how many layers it has") from e
