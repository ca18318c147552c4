"""Vector store: where track embeddings live and how "sounds alike" queries run.

`open_store()` is the only entry point the rest of Soundalike needs. It returns the embedded
Qdrant Edge store (default; one shard folder per embedder key under `root_dir`) or, when the user
configured a server URL, a store on that Qdrant server. Both implement `VectorStore` (base.py),
so catalog, UI and CLI never know which one they hold.
"""

from __future__ import annotations

from desktop.core.store.base import PAYLOAD_FIELDS, Hit, VectorStore

__all__ = ["Hit", "VectorStore", "PAYLOAD_FIELDS", "open_store"]


def open_store(
    root_dir: str, name: str, dim: int, url: str | None = None, timeout: float = 3.0
) -> VectorStore:
    """Open (creating if needed) the collection `name` of `dim`-dimensional vectors.

    Raises `StoreUnavailable` (unreachable server, dimension mismatch, unusable folder) or
    `LibraryInUse` (the folder is open in another process or window), each with a message for the user.
    Imports are lazy so that a remote-only or edge-only install does not pay for the other client.
    """
    if url:
        from desktop.core.store.remote import open_remote

        return open_remote(url, name, dim, timeout=timeout)
    from desktop.core.store.edge import open_edge

    return open_edge(root_dir, name, dim)
