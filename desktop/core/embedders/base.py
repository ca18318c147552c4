"""The embedder interface and the registry of embedders by name.

An embedder turns an open `AudioSource` into one float32 vector. Vectors are only ever compared with
vectors of the same `key` (name + version + model details + dimension): the key names the vector
collection, so changing features or models can never mix incomparable vectors.

`embed()` returns the *raw* vector. The library then standardises raw vectors with statistics of the
whole library (see `desktop.core.standardize`) before they reach the store, giving every feature
`group` equal weight; `groups` tells it where the groups are. `embed_parts()` may also return the
vectors of the parts it read, from which the library learns what varies inside a track.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from desktop.core.decode import ArraySource, AudioSource


@dataclass(frozen=True)
class EmbedderInfo:
    """What a client shows about the active embedder ("wav2vec2-base · CPU")."""

    name: str
    label: str
    device: str = "cpu"
    notice: str = ""  # e.g. why we fell back to spectral


class Embedder:
    name: str = ""
    version: str = "1"
    dim: int = 0
    # (group name, start, stop) slices of the raw vector that get equal weight after standardisation.
    groups: tuple[tuple[str, int, int], ...] = ()
    device: str = "cpu"

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

    def embed_array(self, samples_16k: np.ndarray) -> np.ndarray:
        return self.embed(ArraySource(samples_16k))

    def close(self) -> None:
        """Free models and threads (wav2vec2); a no-op for feature extractors."""


@dataclass
class EmbedderSpec:
    """How to build an embedder: its name plus options (model id or folder, device, windows...)."""

    name: str = "spectral"
    options: dict = field(default_factory=dict)


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


def _load_builtins() -> None:
    # Importing registers them; wav2vec2's module imports torch only when an instance is built.
    from desktop.core.embedders import spectral, wav2vec2  # noqa: F401


def unit(v: np.ndarray) -> np.ndarray:
    """L2-normalise; a zero or non-finite vector is an error upstream, so it is refused here."""
    v = np.asarray(v, dtype=np.float32)
    n = float(np.linalg.norm(v))
    if not np.isfinite(n) or n < 1e-12:
        raise ValueError("cannot normalise a zero or non-finite vector")
    return v / n
