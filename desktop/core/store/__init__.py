"""Vector store: where track embeddings live and how "sounds alike" queries run.

`open_store()` returns the embedded Qdrant Edge store (default; one shard folder per embedder key under
`root_dir`) or, when a server is configured, a store on that Qdrant server. Both implement
`VectorStore` (base.py), so catalog, UI and CLI never know which one they hold.
`open_library_store()` is what a library uses: it names the server collection after the library's id.

Several libraries on one server (a household's laptops on one NAS): each library has a stable id (a
UUID kept in its catalog) and every vector space gets its own collection, `soundalike-<id>-<key>`.
Chosen over one shared collection with a library-id payload filter because point ids are catalog track
ids, which every library numbers from 1: a shared collection would need new point ids (and a
translation on every read and write) and a filter on every query, and one library's bug or forgotten
filter would show another's tracks. Separate collections cannot leak, a library is removed by
dropping its collections, and each can have its own size-based layout. Qdrant's advice for payload
partitioning targets thousands of tenants, where per-collection overhead adds up; a household has a
handful. Measured on the in-process engine (bench/server_store.py, two libraries of 20k x 768): own
collection p50 660 ms vs shared collection + library filter 5,749 ms (that engine filters in Python).
"""

from __future__ import annotations

import uuid

from desktop.core.store.base import Hit, VectorStore

__all__ = ["Hit", "VectorStore", "open_store", "open_library_store", "open_library_passages", "library_id",
           "server_collection", "probe"]

LIBRARY_ID = "library_id"


def open_store(
    root_dir: str, name: str, dim: int, url: str | None = None, timeout: float = 3.0, *, server=None,
    params=None, in_child: bool = False,
) -> VectorStore:
    """Open (creating if needed) the collection `name` of `dim`-dimensional vectors.

    `server` (a `ServerConfig`) or a bare `url` selects a Qdrant server; `params` (`CollectionParams`)
    lays out a collection the server has to create. Raises `StoreUnavailable` (unreachable server,
    rejected key, untrusted certificate, dimension mismatch, unusable folder) or `LibraryInUse`, each
    with a message for the user. Imports are lazy so that each backend pays only for its own client.
    `in_child`: the embedded store is served by a child process (the window's choice, in_child.py says why).
    """
    if server is None and url:
        from desktop.core.store.server import ServerConfig  # lazy: only the backend in use is loaded

        server = ServerConfig(url=url, timeout=timeout)
    if server is not None:
        from desktop.core.store.remote import open_remote  # lazy: only the backend in use is loaded

        return open_remote(server, name, dim, params)
    if in_child:
        from desktop.core.store.in_child import StoreInChild  # lazy: only the backend in use is loaded

        return StoreInChild(root_dir, name, dim)
    from desktop.core.store.edge import open_edge  # lazy: only the backend in use is loaded

    return open_edge(root_dir, name, dim)


def library_id(catalog) -> str:
    """The library's stable id (created once, kept in the catalog's meta table)."""
    return catalog.meta_default(LIBRARY_ID, uuid.uuid4().hex)


def server_collection(catalog, key: str) -> str:
    """The name of vector space `key`'s collection on a server shared by several libraries."""
    return f"soundalike-{library_id(catalog)}-{key}"


def open_library_store(settings, catalog, key: str, dim: int, *, url: str | None = None,
                       in_child: bool = False) -> VectorStore:
    """The store of vector space `key` for a library: its embedded folder (served by a child process with
    `in_child`), or its collection on the configured server (`url` overrides the settings' URL, as
    `store migrate` does for its target)."""
    url = settings.qdrant_url if url is None else url
    if not url:
        return open_store(str(settings.vectors_dir), key, dim, in_child=in_child)
    # Sized for every track the catalog knows, not only those with vectors yet: the first index run scans
    # (adds every track) before it embeds, so a library built on the server gets its final layout at once.
    size = max(catalog.vector_count(key), catalog.counts()["total"])
    server, params = _server_layout(settings, url, size, dim)
    return open_store("", server_collection(catalog, key), dim, server=server, params=params)


def open_library_passages(settings, catalog, key: str, dim: int, windows: int, *, url: str | None = None,
                          in_child: bool = False):
    """The passage index of vector space `key`: an embedded shard beside the track store (served by a child
    process with `in_child`), or on the server the collection `soundalike-<id>-passages-<key>`, laid out for
    `windows` points."""
    url = settings.qdrant_url if url is None else url
    if in_child and not url:
        from desktop.core.store.in_child import PassagesInChild  # lazy: only the backend in use is loaded

        return PassagesInChild(str(settings.vectors_dir), key, dim)
    if not url:
        from desktop.core.passage_store import PassageStore  # lazy: only the backend in use is loaded

        return PassageStore(str(settings.vectors_dir), key, dim)
    from desktop.core.store.remote import open_remote  # lazy: only the backend in use is loaded
    from desktop.core.store.remote_passages import RemotePassageStore  # lazy: only the backend in use is loaded

    server, params = _server_layout(settings, url, windows, dim)
    return open_remote(server, server_collection(catalog, f"passages-{key}"), dim, params, kind=RemotePassageStore)


def _server_layout(settings, url: str, points: int, dim: int):
    """The library's server settings aimed at `url`, and the layout for a collection of `points`."""
    from dataclasses import replace

    from desktop.core.store.params import CollectionParams  # lazy: only the backend in use is loaded
    from desktop.core.store.server import ServerConfig  # lazy: only the backend in use is loaded

    return replace(ServerConfig.from_settings(settings), url=url), CollectionParams.choose(points, dim, settings)


def probe(settings, timeout: float = 3.0) -> None:
    """Raise `StoreUnavailable` (with a message for the user) when the configured server cannot be reached
    or refuses us; the embedded store (no URL) is always there. A network call: keep it off the GUI thread."""
    if settings.qdrant_url:
        from desktop.core.store.remote import probe_server  # lazy: only the backend in use is loaded
        from desktop.core.store.server import ServerConfig  # lazy: only the backend in use is loaded

        probe_server(ServerConfig.from_settings(settings, timeout=timeout))
