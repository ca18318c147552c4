"""The queue's player operations: play next, move, remove, shuffle, repeat modes, reasons, restarts."""

from __future__ import annotations

import random

import pytest

from desktop.core.queue import PlayQueue, load_state, save_state


def test_play_next_add_move_remove_keep_the_cursor_and_reasons():
    q = PlayQueue()
    q.set([1, 2, 3, 4], 1, reasons=["", "like a, 0.9", "like b, 0.8", ""])
    q.insert_next(9, "picked by hand")
    assert q.items == [1, 2, 9, 3, 4] and q.current == 2 and q.reason(2) == "picked by hand"
    q.append(7, "added")
    q.move(4, 0)  # drag item 4 to the top
    assert q.items == [4, 1, 2, 9, 3, 7] and q.current == 2 and q.index == 2
    assert q.reason(2) == "like a, 0.9" and q.reason(5) == "added"
    q.move(2, 5)  # drag the playing track to the end
    assert q.items == [4, 1, 9, 3, 7, 2] and q.current == 2
    assert q.upcoming == []
    q.move(0, 3)
    assert q.items == [1, 9, 3, 4, 7, 2] and q.current == 2
    q.remove(5)  # Delete on the playing track: the next one follows
    assert q.current is None and q.items == [1, 9, 3, 4, 7] and q.previous() == 7
    with pytest.raises(IndexError):
        q.move(0, 99)


def test_insert_next_after_removing_the_current_plays_it_next():
    q = PlayQueue([1, 2, 3])
    q.jump(1)
    q.remove(1)
    q.insert_next(8)
    assert q.next() == 8 and q.next() == 3


def test_shuffle_keeps_what_played_and_the_current_item():
    q = PlayQueue(list(range(20)))
    q.jump(4)
    q.shuffle(random.Random(3))
    assert q.items[:5] == [0, 1, 2, 3, 4] and q.current == 4
    assert sorted(q.items) == list(range(20)) and q.items[5:] != list(range(5, 20))


def test_repeat_one_all_off():
    q = PlayQueue(["a", "b"], repeat="one")
    q.next()
    assert q.next() == "a" and q.next() == "a"
    q.repeat = "all"
    assert q.next() == "b" and q.next() == "a"
    q.repeat = "off"
    q.jump(1)
    assert q.next() is None
    with pytest.raises(ValueError):
        q.repeat = "sometimes"
    assert PlayQueue(repeat=True).repeat == "all"


def test_state_survives_a_restart(tmp_path):
    q = PlayQueue()
    q.set([5, "/music/dropped é.flac", 7], 1, reasons=["", "dropped", "like x, 0.91"])
    q.repeat = "all"
    target = tmp_path / "state" / "queue.json"
    save_state(target, {"queue": q.state(), "station": {"seeds": [5], "negatives": [7]}})
    loaded = load_state(target)
    again = PlayQueue.from_state(loaded["queue"])
    assert again.items == q.items and again.current == "/music/dropped é.flac"
    assert again.reason(2) == "like x, 0.91" and again.repeat == "all"
    assert loaded["station"] == {"seeds": [5], "negatives": [7]}
    target.write_text("{broken")
    assert load_state(target) is None and load_state(tmp_path / "none.json") is None
