"""The embedder interface and the registry of embedders by name: a new embedder is written from this file.

To add one: subclass `Embedder` in its own module under desktop/core/embedders/, set `name`, `version`
and `dim` (and `groups`), implement `embed()`, decorate a factory with `@register("name")` and import the
module in `_load_builtins()`. Everything optional below has a default that works; override it only when
the embedder has that capability. Heavy imports (torch, transformers) go inside `__init__`, never at the
top of the module: the registry imports every embedder module at start.

An embedder turns an open `AudioSource` into one float32 vector. Vectors are only ever compared with
vectors of the same `key` (name + version + model details + dimension): the key names the vector
collection, so changing features or models can never mix incomparable vectors.

`embed()` returns the *raw* vector. The library then standardises raw vectors with statistics of the
whole library (see `desktop.core.standardize`) before they reach the store, giving every feature
`group` equal weight; `groups` tells it where the groups are. `embed_parts()` may also return the
vectors of the parts it read, from which the library learns what varies inside a track.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np

from desktop.core.decode import ArraySource, AudioSource


class Embedder:
    name: str = ""
    version: str = "1"
    dim: int = 0
    # (group name, start, stop) slices of the raw vector that get equal weight after standardisation.
    groups: tuple[tuple[str, int, int], ...] = ()
    device: str = "cpu"  # where it runs ("cpu", "cuda:0", "mps"); shown in the status bar
    # True: the indexer runs it in worker processes, one per core (a feature extractor whose cost is the
    # decode). False: in the indexing process, one file at a time (a model that keeps every core busy).
    parallel: bool = False
    # True: `window_reader()` + `embed_window_parts` split decoding from the model: a child process decodes
    # (a decoder's native crash costs that file only), and the next files while the model embeds this one.
    # Such an embedder implements `window_reader` (a picklable callable(source) -> windows) and the model side.
    reads_windows: bool = False
    # The keyword arguments that make `create(name, **options)` build an equal embedder: how a worker
    # process (parallel=True) gets its own copy. An embedder with options sets its own dict in __init__.
    options: Mapping = MappingProxyType({})

    @property
    def key(self) -> str:
        """Identity of the vector space: collection name and catalog tag. Safe as a folder name."""
        return f"{self.name}-v{self.version}-{self.dim}"

    @property
    def label(self) -> str:
        return self.name

    def embed(self, source: AudioSource) -> np.ndarray:
        """Raw float32 vector of length `dim`; finite for any input, silence included."""
        raise NotImplementedError

    def embed_parts(self, source: AudioSource) -> tuple[np.ndarray, np.ndarray | None]:
        """The raw vector and, if the embedder reads the track in parts, one raw vector per part
        (k x dim): the library learns from them what varies inside tracks (within-track whitening)."""
        return self.embed(source), None

    def window_reader(self):
        """A picklable callable(source) -> what `embed_window_parts` needs (reads_windows=True); it runs in
        a decode process, so it holds no model."""
        raise NotImplementedError(f"{self.name} does not read windows (reads_windows is False)")

    def read_windows(self, source: AudioSource) -> list[np.ndarray]:
        """Decode what `embed_windows` needs from `source`, here (reads_windows=True)."""
        return self.window_reader()(source)

    def embed_windows(self, windows: list[np.ndarray]) -> np.ndarray:
        """The raw vector from what `read_windows` returned (reads_windows=True)."""
        raise NotImplementedError(f"{self.name} does not read windows (reads_windows is False)")

    def embed_window_parts(self, windows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """The raw vector and one raw vector per window (for within-track whitening), from what
        `read_windows` returned; model embedders return both, the default only the raw vector."""
        return self.embed_windows(windows), None

    def embed_array(self, samples_16k: np.ndarray) -> np.ndarray:
        return self.embed(ArraySource(samples_16k))

    def close(self) -> None:
        """Free models and threads (wav2vec2); a no-op for feature extractors."""


_REGISTRY: dict[str, Callable[..., Embedder]] = {}


def register(name: str):
    def deco(factory):
        _REGISTRY[name] = factory
        return factory

    return deco


def available() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def create(name: str, **options) -> Embedder:
    """Build the embedder called `name`. Unknown names raise ValueError listing the valid ones."""
    _load_builtins()
    if name not in _REGISTRY:
        raise ValueError(f"unknown embedder {name!r}; choose one of: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](**options)


def groups_for(key: str) -> tuple[tuple[str, int, int], ...]:
    """The feature groups of vector space `key` as its embedder's class declares them, without building it
    (no model is loaded); () when no registered embedder made that key."""
    _load_builtins()
    for name, factory in _REGISTRY.items():
        if key.startswith(name + "-") and isinstance(factory, type):
            return tuple(factory.groups)
    return ()


def _load_builtins() -> None:
    # Importing registers them; wav2vec2's module imports torch only when an instance is built.
    from desktop.core.embedders import audio_encoder, spectral, wav2vec2  # noqa: F401


def unit(v: np.ndarray) -> np.ndarray:
    """L2-normalise; a zero or non-finite vector is an error upstream, so it is refused here."""
    v = np.asarray(v, dtype=np.float32)
    n = float(np.linalg.norm(v))
    if not np.isfinite(n) or n < 1e-12:
        raise ValueError("cannot normalise a zero or non-finite vector")
    return v / n
