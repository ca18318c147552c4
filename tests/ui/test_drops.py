"""Drag and drop with real QDropEvents: add and index, query by example, and clear per-file problems."""

import os

from PySide6.QtCore import Qt

from desktop.ui.library_model import COLUMNS
from tests import audio
from tests.ui.conftest import drop_event


def test_dropping_a_folder_adds_and_indexes_it(spectral_empty_home, family_dir, make_window, qtbot):
    w = make_window(spectral_empty_home)
    assert w.model.rowCount() == 0
    with qtbot.waitSignal(w.session.idle, timeout=30000):
        w.table.dropEvent(drop_event([family_dir / "drums"]))
    assert w.model.rowCount() == 4
    assert w.session.catalog.counts() == {"pending": 0, "indexed": 4, "failed": 0, "total": 4, "missing": 0}
    status = [name for name, _ in COLUMNS].index("status")
    qtbot.waitUntil(lambda: all(w.model.index(r, status).data() == "✓" for r in range(4)), timeout=2000)
    # the passage pass follows the index job and shows its own progress there: hidden once it is done too
    qtbot.waitUntil(lambda: not w.index_status.isVisible(), timeout=30000)


def test_a_file_dropped_on_the_library_is_added_not_played(spectral_empty_home, tmp_path, make_window, qtbot):
    clip = audio.write(tmp_path / "in" / "one.flac", audio.render("plucked", 3.0, seed=11))
    w = make_window(spectral_empty_home)
    with qtbot.waitSignal(w.session.idle, timeout=30000):
        w.table.dropEvent(drop_event([clip]))
    assert w.model.rowCount() == 1 and w.session.catalog.counts()["indexed"] == 1
    assert w.playback.current is None  # README: a drop adds; double-click plays
    w.play_row(0)
    assert w.playback.current.path == str(clip)


def test_unsupported_and_broken_files_are_named_with_the_reason(spectral_empty_home, tmp_path, make_window, qtbot):
    good = audio.write(tmp_path / "in" / "good.wav", audio.render("pad", 2.0, seed=5))
    notes = tmp_path / "in" / "notes.txt"
    notes.write_text("not music")
    empty = tmp_path / "in" / "empty.flac"
    empty.write_bytes(b"")
    garbage = tmp_path / "in" / "garbage.mp3"
    garbage.write_bytes(b"ID3" + bytes(range(256)) * 40)
    zero = tmp_path / "in" / "zero.mp3"
    zero.symlink_to("/dev/zero")  # a device: "empty" or an endless read would both be wrong
    fifo = tmp_path / "in" / "pipe.wav"
    os.mkfifo(fifo)
    w = make_window(spectral_empty_home)
    with qtbot.waitSignal(w.session.idle, timeout=30000):
        w.table.dropEvent(drop_event([good, notes, empty, garbage, tmp_path / "missing.ogg", zero, fifo]))
    text = w.notices.text
    assert "zero.mp3: not a regular file" in text and "pipe.wav: not a regular file" in text
    assert "notes.txt: not a supported audio file (.txt)" in text
    assert "empty.flac: the file is empty" in text
    assert "missing.ogg: no such file or folder" in text
    qtbot.waitUntil(lambda: "garbage.mp3:" in w.notices.text, timeout=5000)
    counts = w.session.catalog.counts()
    assert counts["indexed"] == 1 and counts["failed"] == 1
    assert w.notices.isVisible()  # a strip in the window, not a modal dialog


def _new_clip(tmp_path, family="drums"):
    return audio.write(tmp_path / "outside" / f"new_{family}.ogg", audio.render(family, 6.0, seed=4242))


def test_dropping_a_file_on_the_similar_pane_searches_by_it_without_adding(indexed_home, tmp_path, make_window, qtbot):
    clip = _new_clip(tmp_path, "drums")
    w = make_window(indexed_home)
    w.similar.dropEvent(drop_event([clip]))
    qtbot.waitUntil(lambda: not w.similar.pending and len(w.similar.hits) > 0, timeout=15000)
    assert [h.genre for h in w.similar.hits[:2]] == ["drums"] * 2
    assert w.session.catalog.counts()["total"] == 12  # not added
    assert "not in the library" in w.similar.query_label.text()
    assert w.similar.play_example_button.isVisible()
    assert w.playback.current is None  # a drop searches; the pane's button plays (README says so)
    w.similar.play_example_button.click()
    assert w.playback.current.path == str(clip) and w.playback.current.track_id is None
    assert w.playback.state == "playing"


def test_ctrl_drop_on_the_library_searches_instead_of_adding(indexed_home, tmp_path, make_window, qtbot):
    clip = _new_clip(tmp_path, "pad")
    w = make_window(indexed_home)
    w.table.dropEvent(drop_event([clip], Qt.ControlModifier))
    qtbot.waitUntil(lambda: not w.similar.pending and len(w.similar.hits) > 0, timeout=15000)
    assert [h.genre for h in w.similar.hits[:2]] == ["pad"] * 2
    assert not w.session.busy and w.session.catalog.counts()["total"] == 12


def test_a_broken_file_dropped_for_search_says_why(indexed_home, tmp_path, make_window, qtbot):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    w = make_window(indexed_home)
    w.similar.dropEvent(drop_event([bad]))
    qtbot.waitUntil(lambda: "broken.wav" in w.notices.text, timeout=15000)
    assert w.similar.hits == [] and "broken.wav" in w.similar.state_text
