"""Disk full is a message, not a crash.

The vector store grows memory-mapped files; when the disk cannot back a page the process dies with
SIGBUS (exit 135, no message) instead of getting ENOSPC. So before writing to the store or the catalog
we make sure a safety margin of free space is left, and stop cleanly otherwise: every track written
so far is complete (one transaction each) and the next `index` goes on from there.
"""

from __future__ import annotations

import os

from desktop.core.errors import SoundalikeError

# Larger than one growth step of the store's files (32 MB WAL segments and mmap chunks).
MIN_FREE_MB = 64


class DiskFull(SoundalikeError):
    """Too little free space on the disk holding the library to write safely."""


def free_mb(folder: os.PathLike | str) -> float:
    """Free megabytes for this user on the file system holding `folder` (its nearest existing parent)."""
    path = os.path.abspath(folder)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize / 2**20


def ensure_space(folder: os.PathLike | str, need_mb: float = 0.0) -> None:
    """Raise DiskFull unless `need_mb` plus the safety margin are free where `folder` lives."""
    free = free_mb(folder)
    if free < MIN_FREE_MB + need_mb:
        raise DiskFull(f"the disk holding the library ({folder}) is full ({free:.0f} MB free; Soundalike keeps "
                       f"{MIN_FREE_MB} MB spare); nothing already indexed was lost: free some space and run "
                       "the command again to go on")
