"""File names are bytes: how a path is kept exactly, and how it is shown.

On Linux a file name is any bytes; Python hands a name that is not valid UTF-8 (an old Latin-1 `café.wav`
copied from Windows or a Samba share) to us as text with "surrogate escapes". Such text can be opened,
but not written to SQLite or JSON, nor printed. So: the catalog stores `os.fsencode` bytes (lossless),
the vector store's payload and every screen get `shown(path)`, with U+FFFD where a byte was not UTF-8.
"""

from __future__ import annotations

import os
import stat


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


ABSENT = "no such file or folder"
NOT_REGULAR = "not a regular file (a device, pipe or socket)"


def path_problem(path: str | os.PathLike) -> str:
    """Why `path` cannot be read as music or a folder of it ('' for a regular file or a folder, links
    followed): absent, unreadable, or something that is neither (a link to /dev/zero, a FIFO, a socket)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return ABSENT
    except OSError as e:
        return f"cannot read it ({e.strerror or e})"
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
        return ""
    return NOT_REGULAR
