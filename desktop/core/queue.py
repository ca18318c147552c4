"""The play queue: an ordered list of items (track ids, or paths for dropped files) and a cursor.

Pure Python, no threads, no I/O. The UI owns one, calls `next()` on the player's end of track, and
`previous(position)` on the Previous button (which restarts the current track past 3 seconds).

Cursor rules: `index` is None before anything was played. Removing the current item leaves the cursor
"between" items: `current` is None, `next()` gives the item that followed it, `previous()` the one
before it. Repeat (off by default) wraps around at both ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

RESTART_AFTER = 3.0  # seconds: past this, previous() restarts the current track


class PlayQueue:
    def __init__(self, items: Iterable[Any] = (), repeat: bool = False):
        self._items: list[Any] = list(items)
        self._index: int | None = None
        self._detached = False  # the current item was removed; _index is the one that followed it
        self.repeat = repeat

    # --- reading -------------------------------------------------------------------------------------

    @property
    def items(self) -> list[Any]:
        return list(self._items)

    @property
    def index(self) -> int | None:
        """Index of the current item, or None (nothing started, or the current item was removed)."""
        return None if self._detached else self._index

    @property
    def current(self) -> Any | None:
        i = self.index
        return self._items[i] if i is not None else None

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._items))

    def __bool__(self) -> bool:
        return bool(self._items)

    def _next_index(self) -> int | None:
        n = len(self._items)
        if n == 0:
            return None
        if self._index is None:
            i = 0
        elif self._detached:
            i = self._index
        else:
            i = self._index + 1
        if i >= n:
            return 0 if self.repeat else None
        return i

    def _previous_index(self) -> int | None:
        n = len(self._items)
        if n == 0 or self._index is None:
            return None
        i = self._index - 1
        if i < 0:
            return n - 1 if self.repeat else None
        return min(i, n - 1)

    @property
    def has_next(self) -> bool:
        return self._next_index() is not None

    @property
    def has_previous(self) -> bool:
        return self._previous_index() is not None

    # --- moving --------------------------------------------------------------------------------------

    def set(self, items: Iterable[Any], start: int = 0) -> Any | None:
        """Replace the queue and make `start` current; returns the current item (None if empty)."""
        self._items = list(items)
        self._detached = False
        if not self._items:
            self._index = None
            return None
        if not -len(self._items) <= start < len(self._items):
            raise IndexError(f"start {start} out of range for {len(self._items)} items")
        self._index = start % len(self._items)
        return self.current

    def jump(self, index: int) -> Any:
        """Make `index` current (a double click in the queue view); returns that item."""
        if not -len(self._items) <= index < len(self._items):
            raise IndexError(f"index {index} out of range for {len(self._items)} items")
        self._index, self._detached = index % len(self._items), False
        return self.current

    def next(self) -> Any | None:
        """Advance and return the new current item; None at the end (repeat off): the cursor stays."""
        i = self._next_index()
        if i is None:
            return None
        self._index, self._detached = i, False
        return self._items[i]

    def previous(self, position: float = 0.0) -> Any | None:
        """The item to play for "Previous": the current one again when `position` > 3 s (or at the
        start with repeat off), else the one before it, which becomes current."""
        if self.current is not None and (position > RESTART_AFTER or self._previous_index() is None):
            return self.current
        i = self._previous_index()
        if i is None:
            return None
        self._index, self._detached = i, False
        return self._items[i]

    # --- editing -------------------------------------------------------------------------------------

    def append(self, item: Any) -> None:
        self._items.append(item)

    def extend(self, items: Iterable[Any]) -> None:
        self._items.extend(items)

    def insert_next(self, item: Any) -> None:
        """Queue `item` to play right after the current one ("Play next")."""
        if self._index is None:
            self._items.insert(0, item)
        elif self._detached:
            self._items.insert(self._index, item)
        else:
            self._items.insert(self._index + 1, item)

    def remove(self, index: int) -> Any:
        """Remove and return the item at `index`; the cursor keeps pointing at the same item."""
        if not -len(self._items) <= index < len(self._items):
            raise IndexError(f"index {index} out of range for {len(self._items)} items")
        index %= len(self._items)
        item = self._items.pop(index)
        if self._index is not None:
            if index < self._index:
                self._index -= 1
            elif index == self._index and not self._detached:
                self._detached = True  # _index now names the item that followed the removed one
        return item

    def clear(self) -> None:
        self._items, self._index, self._detached = [], None, False
