"""The play queue: an ordered list of items (track ids, or paths for dropped files) and a cursor.

Pure Python, no threads, no I/O. The UI owns one, calls `next()` on the player's end of track, and
`previous(position)` on the Previous button (which restarts the current track past 3 seconds).

Cursor rules: `index` is None before anything was played. Removing the current item leaves the cursor
"between" items: `current` is None, `next()` gives the item that followed it, `previous()` the one
before it. Repeat "all" wraps around at both ends; repeat "one" plays the current item again.
Each item may carry a one-line reason (why a station chose it), kept beside it through every edit.
`state()`/`from_state()` and `save_state`/`load_state` carry the queue (and whatever the caller adds,
such as a station's seeds and skips) across a restart.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

RESTART_AFTER = 3.0  # seconds: past this, previous() restarts the current track
REPEAT_MODES = ("off", "one", "all")


class PlayQueue:
    def __init__(self, items: Iterable[Any] = (), repeat: bool | str = False):
        self._items: list[Any] = list(items)
        self._reasons: list[str] = [""] * len(self._items)
        self._index: int | None = None
        self._detached = False  # the current item was removed; _index is the one that followed it
        self.repeat = repeat

    @property
    def repeat(self) -> str:
        """"off", "one" or "all" (True means "all", False "off")."""
        return self._repeat

    @repeat.setter
    def repeat(self, mode: bool | str) -> None:
        mode = {True: "all", False: "off"}.get(mode, mode) if isinstance(mode, bool) else mode
        if mode not in REPEAT_MODES:
            raise ValueError(f"repeat is one of {REPEAT_MODES}, got {mode!r}")
        self._repeat = mode

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

    def reason(self, index: int) -> str:
        return self._reasons[index]

    @property
    def upcoming(self) -> list[Any]:
        """The items after the current one (what "Up next" shows below the playing track)."""
        start = 0 if self._index is None else self._index if self._detached else self._index + 1
        return self._items[start:]

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
            return 0 if self._repeat == "all" else None
        return i

    def _previous_index(self) -> int | None:
        n = len(self._items)
        if n == 0 or self._index is None:
            return None
        i = self._index - 1
        if i < 0:
            return n - 1 if self._repeat == "all" else None
        return min(i, n - 1)

    def peek_next(self) -> Any | None:
        """What `next()` would return, without moving (the player readies it for a gapless change)."""
        if self._repeat == "one" and self.current is not None:
            return self.current
        i = self._next_index()
        return None if i is None else self._items[i]

    @property
    def has_next(self) -> bool:
        return self._next_index() is not None

    @property
    def has_previous(self) -> bool:
        return self._previous_index() is not None

    # --- moving --------------------------------------------------------------------------------------

    def set(self, items: Iterable[Any], start: int = 0, reasons: Iterable[str] | None = None) -> Any | None:
        """Replace the queue and make `start` current; returns the current item (None if empty)."""
        self._items = list(items)
        self._reasons = _reasons(reasons, len(self._items))
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
        """Advance and return the new current item; None at the end (repeat off): the cursor stays.
        With repeat "one" the current item comes again."""
        if self._repeat == "one" and self.current is not None:
            return self.current
        return self._move_to(self._next_index())

    def _move_to(self, index: int | None) -> Any | None:
        """Make `index` current and return its item; None (no such item) leaves the cursor where it is."""
        if index is None:
            return None
        self._index, self._detached = index, False
        return self._items[index]

    def previous(self, position: float = 0.0) -> Any | None:
        """The item to play for "Previous": the current one again when `position` > 3 s (or at the
        start with repeat off), else the one before it, which becomes current."""
        if self.current is not None and (position > RESTART_AFTER or self._previous_index() is None):
            return self.current
        return self._move_to(self._previous_index())

    # --- editing -------------------------------------------------------------------------------------

    def append(self, item: Any, reason: str = "") -> None:
        """Add to the end ("Add to queue")."""
        self._items.append(item)
        self._reasons.append(reason)

    def extend(self, items: Iterable[Any], reasons: Iterable[str] | None = None) -> None:
        items = list(items)
        self._items.extend(items)
        self._reasons.extend(_reasons(reasons, len(items)))

    def insert_next(self, item: Any, reason: str = "") -> None:
        """Queue `item` to play right after the current one ("Play next")."""
        at = 0 if self._index is None else self._index if self._detached else self._index + 1
        self._items.insert(at, item)
        self._reasons.insert(at, reason)
        if self._detached and self._index is not None:
            self._index = at  # still between the removed item and what follows: the new one is next

    def move(self, source: int, target: int) -> None:
        """Move the item at `source` so that it ends up at index `target` (drag to reorder); the
        cursor stays on the same item."""
        n = len(self._items)
        if not (-n <= source < n and -n <= target < n):
            raise IndexError(f"move {source} -> {target} out of range for {n} items")
        source, target = source % n, target % n
        if source == target:
            return
        self._items.insert(target, self._items.pop(source))
        self._reasons.insert(target, self._reasons.pop(source))
        if self._index is not None:  # the current item (or, detached, the one that followed it) moves along
            self._index = _after_move(self._index, source, target)

    def shuffle(self, rng: random.Random | None = None) -> None:
        """Shuffle what has not played yet; the current item and those before it stay."""
        start = 0 if self._index is None else self._index if self._detached else self._index + 1
        rest = list(zip(self._items[start:], self._reasons[start:]))
        (rng or random).shuffle(rest)
        self._items[start:] = [i for i, _ in rest]
        self._reasons[start:] = [r for _, r in rest]

    def remove(self, index: int) -> Any:
        """Remove and return the item at `index`; the cursor keeps pointing at the same item."""
        if not -len(self._items) <= index < len(self._items):
            raise IndexError(f"index {index} out of range for {len(self._items)} items")
        index %= len(self._items)
        item = self._items.pop(index)
        self._reasons.pop(index)
        if self._index is not None:
            if index < self._index:
                self._index -= 1
            elif index == self._index and not self._detached:
                self._detached = True  # _index now names the item that followed the removed one
        return item

    def clear(self) -> None:
        self._items, self._reasons, self._index, self._detached = [], [], None, False

    # --- surviving a restart ---------------------------------------------------------------------------

    def state(self) -> dict:
        """Items must be JSON values (track ids, paths)."""
        return {"items": list(self._items), "reasons": list(self._reasons), "index": self._index,
                "detached": self._detached, "repeat": self._repeat}

    @classmethod
    def from_state(cls, state: dict) -> PlayQueue:
        q = cls(state.get("items", []), repeat=state.get("repeat", "off"))
        q._reasons = _reasons(state.get("reasons"), len(q._items))
        index = state.get("index")
        if isinstance(index, int) and 0 <= index < len(q._items) + (1 if state.get("detached") else 0):
            q._index, q._detached = index, bool(state.get("detached"))
        return q


def _reasons(reasons: Iterable[str] | None, n: int) -> list[str]:
    out = [str(r or "") for r in (reasons or [])][:n]
    return out + [""] * (n - len(out))


def save_state(path: str | os.PathLike, state: dict) -> None:
    """Write JSON next to `path` and rename it over: a crash leaves the old state or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def load_state(path: str | os.PathLike) -> dict | None:
    """The saved state, or None when there is none or it is unreadable (a fresh queue then)."""
    try:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _after_move(i: int, source: int, target: int) -> int:
    """Where the item at `i` is once the item at `source` has moved to `target`."""
    if i == source:
        return target
    if source < i <= target:
        return i - 1
    if target <= i < source:
        return i + 1
    return i
