"""The play queue: next/previous, repeat, editing around the cursor."""

from __future__ import annotations

import pytest

from desktop.core.queue import PlayQueue


def test_queue_set_next_previous():
    q = PlayQueue()
    assert (q.current, q.index, q.has_next, q.next(), q.previous()) == (None, None, False, None, None)
    assert q.set(["a", "b", "c"], start=1) == "b"
    assert (q.current, q.index, len(q), q.has_next, q.has_previous) == ("b", 1, 3, True, True)
    assert q.next() == "c" and not q.has_next
    assert q.next() is None and q.current == "c"  # end, repeat off: the cursor stays
    assert q.previous(position=1.0) == "b"
    assert q.previous(position=10.0) == "b" and q.index == 1  # past 3 s: restart the same track
    assert q.previous(position=0.0) == "a"
    assert q.previous(position=0.0) == "a" and q.index == 0  # at the start: restart
    assert q.set([]) is None and q.current is None
    with pytest.raises(IndexError):
        q.set(["x"], start=3)


def test_queue_repeat_wraps():
    q = PlayQueue(["a", "b"], repeat=True)
    assert q.index is None and q.has_next and q.next() == "a"
    assert q.next() == "b" and q.has_next
    assert q.next() == "a"
    assert q.previous() == "b"  # wraps backwards too
    q.repeat = False
    assert q.has_next is False


def test_queue_append_insert_jump():
    q = PlayQueue()
    q.append("a")
    q.extend(["b", "/music/dropped.flac"])
    assert q.items == ["a", "b", "/music/dropped.flac"] and q.current is None
    assert q.next() == "a"  # nothing played yet: next starts at the top
    q.insert_next("z")
    assert q.items == ["a", "z", "b", "/music/dropped.flac"]
    assert q.jump(3) == "/music/dropped.flac" and q.current == "/music/dropped.flac"
    with pytest.raises(IndexError):
        q.jump(9)
    assert list(q) == q.items and bool(q)
    q.clear()
    assert (len(q), q.current, q.index, bool(q)) == (0, None, None, False)


def test_queue_remove_keeps_the_cursor():
    q = PlayQueue()
    q.set(["a", "b", "c", "d"], start=2)  # playing c
    assert q.remove(0) == "a"
    assert (q.current, q.index) == ("c", 1)
    assert q.remove(-1) == "d"
    assert (q.current, q.items) == ("c", ["b", "c"])
    q.append("e")
    assert q.remove(1) == "c"  # the playing track itself
    assert q.current is None and q.index is None
    assert q.has_next and q.has_previous
    q.insert_next("n")  # plays right after the removed track, i.e. before "e"
    assert q.items == ["b", "n", "e"]
    assert q.next() == "n" and q.next() == "e"
    q.remove(q.index)  # remove the last, playing item
    assert q.next() is None and q.previous() == "n"
    with pytest.raises(IndexError):
        q.remove(5)


def test_queue_remove_current_then_previous():
    q = PlayQueue(["a", "b", "c"])
    q.set(q.items, start=1)
    q.remove(1)
    assert q.previous(position=50.0) == "a"  # the removed track cannot restart: go back
    q.remove(0)
    q.remove(0)
    assert (q.current, q.has_next, q.next(), q.previous()) == (None, False, None, None)
