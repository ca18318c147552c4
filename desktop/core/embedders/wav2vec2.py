"""wav2vec2 embedder: a pretrained Wav2Vec2Model's intermediate layer, pooled over windows of the track.

Why it is shaped so:

* **Lazy and offline.** Importing this module imports neither torch nor transformers (the spectral-only
  app never pays their ~5 s import and ~300 MB); they load when an instance is built. We never touch
  the network: a folder is checked with `os.path.isdir`, a hub id with the local Hugging Face cache
  (`try_to_load_from_cache`, before transformers is even imported), then loaded with
  `local_files_only=True`, with `HF_HUB_OFFLINE=1` set before the first HF import unless the user set it.
  Missing weights raise `ModelUnavailable` in well under a second instead of the 23-46 s retry loop.
* **Windows, not the whole track.** K windows of W s (default 6 x 10 s) spread evenly from 0 to the end
  (`plan_windows`): the start, the end and everything between are sampled, at a cost independent of
  track length. 60 s of audio per track keeps wav2vec2-base above 30x realtime on 2 CPU cores for
  typical 3-5 min tracks (see bench/index_speed.py), while 10 s windows give the transformer enough
  context (about 500 frames) to see rhythm and texture. Tracks shorter than K*W get fewer,
  non-overlapping windows; a clip shorter than W is one window.
* **An intermediate layer (default: the middle one, 6 of 12 for base).** Layer-wise studies agree that
  the last layers of self-supervised audio models specialise in their pretext task while the middle
  carries the most transferable acoustic/musical information: Pasad et al. 2021 ("Layer-wise analysis
  of a self-supervised speech representation model") found wav2vec 2.0's last layers turn back toward
  the input ("autoencoder-style") with acoustic and phonetic content peaking mid-network; Castellon et
  al. 2021 (Jukebox) got their best MIR probes from the middle of the network; Zhou et al. 2025
  (MusicFM, MuQ) find the best layers for most MIR tasks in the middle. Ragano et al. 2022 and Ma et
  al. 2023 find wav2vec2/HuBERT-style models encode pitch and instrument, far better when pretrained on
  music than on speech: a music-trained checkpoint, given as `model`, is the better choice if you have one.
  `layer` may also be a range ("4-8" or (4, 8)): the mean of those layers. Layers above the deepest one
  asked for are cut off the model, so layer 6 of base also saves ~25 % of the compute (measured: the
  transformer's second half goes; the convolutional front end, a large share of the cost, stays).
* **Pooling.** Per window: mean over the valid (unpadded) frames of the hidden states; then the mean
  over windows. Windows are sorted by length before batching so equal-length windows share a batch
  and padding (which wav2vec2-base's group-norm encoder handles badly) almost never happens. Default
  batch: 1 window on a CPU (batches of 2 and 4 ran 2-15 % slower and use more memory), all K on a GPU.
* **Silence.** The feature extractor normalises each window to zero mean and unit variance, so digital
  silence or DC becomes all zeros, and a model whose biases are zero (e.g. a random test model) would
  output zeros. We add a fixed, seeded dither at 1e-5 (about 16-bit quantisation noise, -100 dBFS)
  before normalisation: inaudible under music, but silence becomes the same faint noise every time,
  so every silent track gets the same finite, non-zero vector (and silent tracks match each other).
* **Devices.** auto = CUDA (fp16 autocast), then MPS (fp32), then CPU: fp32, or bf16 autocast when
  torch reports native bf16 (AVX512-BF16/AMX; bf16 is slower where it is emulated). `precision` overrides
  it. torch uses all cores this process may run on (torch releases the GIL in forward, so the UI
  stays responsive). A CUDA out-of-memory on a file retries that file on a CPU copy of the model.
"""

from __future__ import annotations

import contextlib
import logging

import numpy as np

from desktop.core.decode import TARGET_SR
from desktop.core.embedders.batching import (  # noqa: F401  (plan_windows: re-exported for callers)
    WindowedModelEmbedder,
    plan_windows,
)
from desktop.core.embedders.model_files import import_torch, layer_text, quiet
from desktop.core.errors import ModelUnavailable

log = logging.getLogger(__name__)

DEFAULT_MODEL = "facebook/wav2vec2-base"
DEFAULT_WINDOWS = 6
DEFAULT_WINDOW_SECONDS = 10.0
MIN_SAMPLES = TARGET_SR // 10  # 0.1 s: the conv front end needs >= 400 samples for one frame
DITHER = 1e-5


WAVEFORM_TYPES = ("wav2vec2", "hubert", "wavlm", "data2vec-audio", "unispeech", "unispeech-sat", "wav2vec2-conformer")


class Wav2Vec2Embedder(WindowedModelEmbedder):
    """Self-supervised waveform encoders of the wav2vec2 family: Wav2Vec2, HuBERT, WavLM, Data2VecAudio."""

    name = "wav2vec2"
    version = "2"

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "auto", windows: int = DEFAULT_WINDOWS,
                 window_seconds: float = DEFAULT_WINDOW_SECONDS, layer=None, batch_size: int | None = None,
                 precision: str = "auto", cache_dir: str | None = None, **ignored):
        layers, source, transformers = self._open_model(model, device, windows, window_seconds, layer, batch_size,
                                                        precision, cache_dir, what="wav2vec2: ")
        try:
            with quiet(transformers):
                config = transformers.AutoConfig.from_pretrained(source, **self._hub_kw)
        except Exception as e:
            raise ModelUnavailable(f"wav2vec2 model {self.model_id!r} cannot be loaded: {e}") from e
        if config.model_type not in WAVEFORM_TYPES:
            raise ModelUnavailable(f"model {self.model_id!r} is a {config.model_type} model, not of the wav2vec2 "
                                   f"family ({', '.join(WAVEFORM_TYPES)})")
        n = int(config.num_hidden_layers)
        self.layers = layers or (n // 2, n // 2)
        if self.layers[1] > n:
            raise ValueError(f"wav2vec2: layer {layer_text(self.layers)} does not exist: model "
                             f"{self.short_name!r} has {n} transformer layers (use 0-{n}; 0 = before the first)")
        self.dim = int(config.hidden_size)
        self.groups = (("wav2vec2", 0, self.dim),)
        self._source = source
        # Group-norm models (base) were trained without an attention mask: padding must stay plain zeros.
        # (Data2VecAudio has no such setting: its feature encoder is layer-normed and wants the mask.)
        self._pass_mask = getattr(config, "feat_extract_norm", "layer") == "layer"
        self._fe = self._load_fe(transformers)
        self.sampling_rate = int(getattr(self._fe, "sampling_rate", TARGET_SR) or TARGET_SR)
        self._model = self._load_model(self.device)
        self._cpu_model = self._model if self.device == "cpu" else None
        self._dither = np.random.default_rng(0).standard_normal(int(self.window_seconds * self.sampling_rate) + 1)
        self._dither = (self._dither * DITHER).astype(np.float32)
        self.cpu_fallbacks = 0  # files retried on the CPU after a CUDA out-of-memory
        self.options = self._options(device, precision)

    # -- loading ----------------------------------------------------------------------------------
    def _load_fe(self, transformers):
        try:
            with quiet(transformers):
                return transformers.AutoFeatureExtractor.from_pretrained(self._source, **self._hub_kw)
        except Exception:  # some checkpoints ship no preprocessor_config.json: use wav2vec2's standard one
            return transformers.Wav2Vec2FeatureExtractor(sampling_rate=TARGET_SR, do_normalize=True,
                                                         return_attention_mask=self._pass_mask)

    def _load_model(self, device: str):
        torch, transformers = import_torch()
        try:
            with quiet(transformers):
                model = transformers.AutoModel.from_pretrained(
                    self._source, dtype=torch.float32, **self._hub_kw)
        except Exception as e:
            raise ModelUnavailable(f"wav2vec2 model {self.model_id!r} cannot be loaded: {e}") from e
        # Hidden state i = output of transformer layer i (0 = input of the first layer), caught by hooks
        # (as HF's hidden_states, except that the "stable layer norm" variant's last one is not normed).
        # Layers past the deepest one we read are dropped: they would cost time and change nothing.
        layers = model.encoder.layers
        keep = max(self.layers[1], 1)
        model.encoder.layers = torch.nn.ModuleList(list(layers)[:keep])
        taps: dict[int, object] = {}
        model.encoder.layers[0].register_forward_pre_hook(lambda m, args: taps.__setitem__(0, args[0]))
        for i, layer in enumerate(model.encoder.layers):
            layer.register_forward_hook(
                lambda m, a, out, i=i: taps.__setitem__(i + 1, out[0] if isinstance(out, tuple) else out))
        model._soundalike_taps = taps
        return model.eval().to(device)

    # -- embedding --------------------------------------------------------------------------------
    def _prepare(self, windows: list[np.ndarray]) -> list[np.ndarray]:
        """Each window at least MIN_SAMPLES long, with the fixed dither; nothing read: silence."""
        windows = [np.pad(w, (0, max(0, MIN_SAMPLES - len(w)))) + self._dither_for(len(w)) for w in windows]
        return windows or [self._dither[:MIN_SAMPLES].copy()]  # embedded like any silent track

    def _dither_for(self, n: int) -> np.ndarray:
        n = max(n, MIN_SAMPLES)
        return self._dither[:n] if n <= len(self._dither) else np.resize(self._dither, n)

    def _forward(self, windows: list[np.ndarray], model, device: str, precision: str) -> np.ndarray:
        """One pooled vector per window (len(windows) x dim), in the windows' order. One thread at a time
        per instance: the layer taps live on the model."""
        torch, _ = import_torch()
        order = sorted(range(len(windows)), key=lambda i: -len(windows[i]))
        out = np.zeros((len(windows), self.dim), np.float32)
        taps = model._soundalike_taps
        first, last = self.layers
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
        for b in range(0, len(order), self.batch_size):
            batch = [windows[i] for i in order[b:b + self.batch_size]]
            feats = self._fe(batch, sampling_rate=self.sampling_rate, padding="longest", return_attention_mask=True,
                             return_tensors="np")
            x = torch.from_numpy(feats["input_values"]).to(device)
            mask = torch.from_numpy(feats["attention_mask"]).to(device)
            kw = {"attention_mask": mask} if self._pass_mask else {}
            autocast = (torch.autocast(device.split(":")[0], dtype=dtype) if dtype is not None
                        else contextlib.nullcontext())
            taps.clear()
            with torch.inference_mode(), autocast:
                model(x, **kw)
                hidden = sum(taps[i].float() for i in range(first, last + 1)) / (last - first + 1)
                frames = _frame_counts(model, mask.sum(-1)).clamp(min=1)
                valid = (torch.arange(hidden.shape[1], device=hidden.device)[None, :] < frames[:, None]).float()
                pooled = (hidden * valid[..., None]).sum(1) / valid.sum(1, keepdim=True)
            out[order[b:b + self.batch_size]] = pooled.float().cpu().numpy()
            taps.clear()
        return out

    def close(self) -> None:
        """Drop the model(s) so their memory can be freed (GPU memory too)."""
        if getattr(self, "_model", None) is None:
            return
        cuda = self.device.startswith("cuda")
        self._model = self._cpu_model = self._fe = None  # the last references: freed right away
        if cuda:
            torch, _ = import_torch()
            torch.cuda.empty_cache()


def _frame_counts(model, samples):
    """Frames the conv front end makes of `samples` (Wav2Vec2 takes add_adapter, HuBERT & co do not)."""
    try:
        return model._get_feat_extract_output_lengths(samples, add_adapter=False)
    except TypeError:
        return model._get_feat_extract_output_lengths(samples)
