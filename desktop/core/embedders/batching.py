"""What every model embedder shares: reading its windows at its own rate, and surviving a full GPU.

* Windows are planned by `plan_windows` (spread from start to end) and decoded at the *model's*
  sampling rate: 16 kHz for the wav2vec2 family and AST, 48 kHz for CLAP. Resampling 16 kHz audio up
  to 48 kHz would hand CLAP a signal with nothing above 8 kHz, so the decoder resamples from the file's
  native rate instead.
* On a GPU the windows of several tracks share each forward (`embed_many`; the indexer hands it
  `tracks_per_batch` decoded files at a time). A CUDA out-of-memory first halves the batch (the next
  files keep the smaller batch: the card is that full); at batch 1 the tracks are retried one by one,
  and only the file that still does not fit moves to a CPU copy of the model; the run goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from desktop.core.decode import TARGET_SR, AudioSource
from desktop.core.device import check_device_name, cpu_cores, pick_precision, resolve_device
from desktop.core.embedders.base import Embedder
from desktop.core.embedders.model_files import (
    import_torch,
    layer_text,
    locate_model,
    model_revision,
    parse_layers,
    slug,
)
from desktop.core.model_cache import hub_cache_dir

log = logging.getLogger(__name__)
TRACKS_PER_GPU_BATCH = 4  # 4 tracks x 6 windows of 10 s per forward: small for any GPU that runs base models


def plan_windows(duration: float, windows: int, window_seconds: float) -> list[float]:
    """Start times of up to `windows` windows of `window_seconds` spread evenly over `duration`.

    The first starts at 0 and the last ends at the end of the track. A track shorter than
    windows * window_seconds gets floor(duration / window_seconds) non-overlapping windows, a single
    window is centred, and a clip no longer than one window (or of unknown length) is read from 0.
    """
    if windows < 1 or window_seconds <= 0:
        raise ValueError("windows must be >= 1 and window_seconds > 0")
    if not duration > window_seconds:  # also NaN / unknown
        return [0.0]
    n = min(int(windows), int(duration // window_seconds))
    span = duration - window_seconds
    if n <= 1:
        return [span / 2.0]
    return [span * i / (n - 1) for i in range(n)]


def read_planned_windows(source: AudioSource, windows: int, window_seconds: float, rate: int) -> list[np.ndarray]:
    """The planned windows of `source` as float32 arrays at `rate` (I/O only: safe in a decode thread)."""
    width = int(window_seconds * rate)
    out = []
    for start in plan_windows(float(source.duration or 0.0), windows, window_seconds):
        x = source.read(start, window_seconds) if rate == TARGET_SR else source.read(start, window_seconds, rate=rate)
        x = np.asarray(x, dtype=np.float32).reshape(-1)[:width]
        if len(x):
            out.append(x)
    return out


def run_with_fallback(embedder, windows: list, forward, cpu_ok: bool = True):
    """`forward(windows, model, device, precision)` on the embedder's device; on CUDA out-of-memory,
    smaller batches, then this file on the CPU (`cpu_ok` False, windows of several files: None instead,
    so the caller retries each file alone). The embedder has `_model`, `_cpu_model`, `_load_model`,
    `device`, `precision`, `batch_size` and `cpu_fallbacks`."""
    import torch

    while True:
        try:
            return forward(windows, embedder._model, embedder.device, embedder.precision)
        except torch.cuda.OutOfMemoryError:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            if embedder.batch_size <= 1:
                break
            embedder.batch_size = max(1, embedder.batch_size // 2)
            log.warning("%s: CUDA out of memory; batches of %d windows from now on", embedder.name, embedder.batch_size)
    if not cpu_ok:
        return None
    log.warning("%s: CUDA out of memory even one window at a time; this file runs on the CPU", embedder.name)
    embedder.cpu_fallbacks += 1
    if embedder._cpu_model is None:
        embedder._cpu_model = embedder._load_model("cpu")
    # The configured precision where the CPU runs it too (a file's vectors as its neighbours'), fp16 (GPU only) as
    # the CPU's own choice; the CPU's "auto" instead gave bf16 vectors to an fp32 run on CPUs with native bf16.
    precision = pick_precision("cpu") if embedder.precision == "fp16" else embedder.precision
    return forward(windows, embedder._cpu_model, "cpu", precision)


def space_key(name: str, slug_: str, rev: str, layers: tuple[int, int] | None, windows: int, seconds: float,
              precision: str, dim: int, version: str) -> str:
    """Everything that changes the vectors: model and revision, layer(s), windows, precision class."""
    layer = f"-L{layer_text(layers)}" if layers else ""
    half = "fp32" if precision == "fp32" else "half"
    return f"{name}-{slug_}_r{rev}{layer}-w{windows}x{seconds:g}-{half}-v{version}-{dim}"


@dataclass(frozen=True)
class WindowReader:
    """What a decode process needs to read a model's windows: the plan, no model (cheap to pickle)."""

    windows: int
    window_seconds: float
    rate: int

    def __call__(self, source: AudioSource) -> list[np.ndarray]:
        return read_planned_windows(source, self.windows, self.window_seconds, self.rate)


class WindowedModelEmbedder(Embedder):
    """A model that reads `windows` windows of `window_seconds` at `sampling_rate`, spread over the track.

    Decoding (`window_reader`, run by the indexer in a decode process) is kept apart from the model
    (`embed_window_parts`, which a subclass implements: the mean vector and one vector per window)."""

    reads_windows = True  # a child process decodes the next files while the model embeds this one
    windows: int
    window_seconds: float
    sampling_rate: int

    def _open_model(self, model, device: str, windows: int, window_seconds: float, layer, batch_size: int | None,
                    precision: str, cache_dir: str | None, what: str = ""):
        """What every model embedder's constructor starts with: check the window plan and the device name
        (a typo fails before the slow imports), find the model's files (ModelUnavailable at once when they
        are not here), import torch, then pick device, precision, batch size and threads.
        Returns (the layers asked for or None, what to pass to from_pretrained, transformers)."""
        self.windows, self.window_seconds = int(windows), float(window_seconds)
        # 0/None: 1 window per forward on a CPU (batching only cost time and memory there), all on a GPU.
        self.batch_size = int(batch_size) if batch_size else 0
        if self.windows < 1 or not 0.5 <= self.window_seconds <= 120 or self.batch_size < 0:
            raise ValueError(f"{what}need windows >= 1, 0.5 <= window_seconds <= 120 and batch_size >= 1")
        layers = parse_layers(layer)
        check_device_name(device)
        self.model_id = str(model)
        self._cache_dir = str(cache_dir) if cache_dir else None  # a hub cache other than HF_HOME's
        source, self.short_name, folder = locate_model(self.model_id, self._cache_dir)
        self._slug = slug(self.short_name if folder else self.model_id)  # folder name, or org-name
        self.revision = model_revision(source, folder, self._cache_dir)
        torch, transformers = import_torch()
        self.device = resolve_device(device)
        self.precision = pick_precision(self.device, precision)
        # A GPU takes several tracks' windows per forward (its throughput grows with the batch); a CPU one file.
        self.tracks_per_batch = 1 if self.device == "cpu" else TRACKS_PER_GPU_BATCH
        self.batch_size = self.batch_size or (1 if self.device == "cpu" else self.windows * self.tracks_per_batch)
        torch.set_num_threads(cpu_cores())
        return layers, source, transformers

    # -- identity ---------------------------------------------------------------------------------
    @property
    def key(self) -> str:
        return space_key(self.name, self._slug, self.revision, self.layers, self.windows, self.window_seconds,
                         self.precision, self.dim, self.version)

    @property
    def label(self) -> str:
        dev = self.device.split(":")[0].upper()
        return f"{self.short_name} · {dev}" + ("" if self.precision == "fp32" else f" {self.precision}")

    def _options(self, device: str, precision: str) -> dict:
        """The constructor arguments that rebuild this embedder (in an analysis process, say)."""
        return {"model": self.model_id, "device": device, "windows": self.windows,
                "window_seconds": self.window_seconds, "layer": layer_text(self.layers) if self.layers else None,
                "batch_size": self.batch_size, "precision": precision, "cache_dir": self._cache_dir}

    @property
    def _hub_kw(self) -> dict:
        """from_pretrained's arguments: never the network, and the hub cache the model was found in."""
        return {"local_files_only": True, "cache_dir": self._cache_dir or str(hub_cache_dir())}

    def window_reader(self) -> WindowReader:
        return WindowReader(self.windows, self.window_seconds, self.sampling_rate)

    def read_windows(self, source: AudioSource) -> list[np.ndarray]:
        """The planned windows of `source` as float32 arrays at the model's sampling rate (I/O only)."""
        return self.window_reader()(source)

    def embed(self, source: AudioSource) -> np.ndarray:
        return self.embed_windows(self.read_windows(source))

    def embed_parts(self, source: AudioSource) -> tuple[np.ndarray, np.ndarray]:
        return self.embed_window_parts(self.read_windows(source))

    def embed_windows(self, windows: list[np.ndarray]) -> np.ndarray:
        return self.embed_window_parts(windows)[0]

    def embed_window_parts(self, windows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(raw vector, one vector per window) from windows read by `window_reader()`; the raw vector is
        the windows' mean, the per-window vectors feed the library's within-track whitening."""
        return self.embed_many([windows])[0]

    def embed_many(self, tracks: list[list[np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """`embed_window_parts` of several tracks, their windows sharing batches (`tracks_per_batch` on a
        GPU). A CUDA out-of-memory first halves the batch; if one window at a time still does not fit, each
        track is retried alone, so only the file that does not fit runs on the CPU.

        One thread at a time per instance; the indexer's decode process reads the next files meanwhile."""
        if self._model is None:
            raise RuntimeError(f"{self.name} embedder is closed")
        prepared = [self._prepare(windows) for windows in tracks]
        flat = [w for windows in prepared for w in windows]
        parts = run_with_fallback(self, flat, self._forward, cpu_ok=len(tracks) == 1)
        if parts is None:
            return [one for windows in tracks for one in self.embed_many([windows])]
        if not np.isfinite(parts).all() and self.precision != "fp32":  # fp16 overflow: redo in fp32
            parts = self._forward(flat, self._model, self.device, "fp32")
        parts = np.nan_to_num(parts).astype(np.float32)
        out, start = [], 0
        for windows in prepared:
            mine = parts[start:start + len(windows)]
            start += len(windows)
            out.append((mine.astype(np.float64).mean(0).astype(np.float32), mine))
        return out

    def _prepare(self, windows: list[np.ndarray]) -> list[np.ndarray]:
        """The model's input windows of one track (what an empty read becomes, padding...)."""
        raise NotImplementedError

    def _forward(self, windows: list[np.ndarray], model, device: str, precision: str) -> np.ndarray:
        """One vector per window (len(windows) x dim), in the windows' order, `batch_size` per forward."""
        raise NotImplementedError
