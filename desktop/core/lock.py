"""One Soundalike process per library: an advisory lock file that names its holder.

The embedded vector store refuses a second opener with an obscure WAL error; taking our own lock
first lets us say *who* holds the library ("pid 1234: soundalike index ~/Music"). flock is released
by the kernel when the holder exits or crashes, so a stale lock file never blocks anyone.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from pathlib import Path

from desktop.core.errors import CatalogError, LibraryInUse

LOCK_NAME = "soundalike.lock"


class LibraryLock:
    def __init__(self, home: Path, purpose: str = ""):
        self.path = Path(home) / LOCK_NAME
        self.purpose = purpose or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:200]
        self._fd: int | None = None

    def acquire(self) -> LibraryLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise CatalogError(f"cannot write to the library folder {self.path.parent}: {e.strerror or e}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self.holder()
            os.close(fd)
            raise LibraryInUse(f"the library at {self.path.parent} is in use by another Soundalike ({holder})") \
                from None
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "purpose": self.purpose, "since": time.time()}
        os.write(fd, json.dumps(info).encode())
        self._fd = fd
        return self

    def holder(self) -> str:
        """A readable description of the process holding the lock, as far as the file tells."""
        try:
            info = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return "unknown process"
        pid, purpose = info.get("pid"), info.get("purpose", "")
        return f"pid {pid}: {purpose}" if purpose else f"pid {pid}"

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> LibraryLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
