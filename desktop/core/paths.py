"""File names are bytes: how a path is kept exactly, and how it is shown.

On Linux a file name is any bytes; Python hands a name that is not valid UTF-8 (an old Latin-1 `café.wav`
copied from Windows or a Samba share) to us as text with "surrogate escapes". Such text can be opened,
but not written to SQLite or JSON, nor printed. So: the catalog stores `os.fsencode` bytes (lossless),
the vector store's payload and every screen get `shown(path)`, with U+FFFD where a byte was not UTF-8.
"""

from __future__ import annotations

import os


def to_db_path(path: str) -> bytes:
    return os.fsencode(path)


def from_db_path(value: bytes | str) -> str:
    return os.fsdecode(value) if isinstance(value, bytes) else value


def shown(path: str) -> str:
    """The path for people (and JSON, Qt, Qdrant payloads): undecodable bytes become U+FFFD."""
    path = os.fspath(path)
    if isinstance(path, bytes):
        return path.decode("utf-8", "replace")
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
