"""One exception type per cause, so every client can show a clear message without a traceback.

Each message names the file or resource and the cause; `str(err)` is what the user reads.
"""

from __future__ import annotations


class SoundalikeError(Exception):
    """Base of every error the core raises on purpose (clients print `str(err)` and exit non-zero)."""


class DecodeError(SoundalikeError):
    """A file could not be decoded. `kind` is a short machine-readable cause (empty, truncated, ...).

    `playable`: for a file that breaks off part-way, the seconds that decode before the damage.
    """

    def __init__(self, path: str, kind: str, detail: str = "", playable: float | None = None):
        self.path, self.kind, self.detail, self.playable = str(path), kind, detail, playable
        super().__init__(f"{self.path}: {kind}" + (f" ({detail})" if detail else ""))


class ModelUnavailable(SoundalikeError):
    """Wav2Vec2 weights are neither a local folder nor in the local cache (we never wait on the network)."""


class LibraryInUse(SoundalikeError):
    """Another Soundalike process holds the library lock."""


class StoreUnavailable(SoundalikeError):
    """The vector store cannot be opened or reached (server down, dimension mismatch, bad folder)."""


class CatalogError(SoundalikeError):
    """The catalog cannot be opened or written (read-only folder, disk full, newer schema)."""


class TrackNotFound(SoundalikeError):
    """A track id or path that is not in the catalog."""
