"""The keyboard drives the player wherever the focus is, except while typing in a text field."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QLineEdit


def press(qtbot, keys: str) -> None:
    """Type a key sequence into whatever has the focus now, as a user would (shortcuts included)."""
    seq = QKeySequence(keys)[0]
    target = QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard focus"
    qtbot.keyClick(target, seq.key(), seq.keyboardModifiers())


def shortcut_actions(window):
    return [a for a in window.actions() if a.shortcuts()]


def test_no_shortcut_is_bound_twice(indexed_home, make_window):
    w = make_window(indexed_home)
    keys = Counter(s.toString() for a in shortcut_actions(w) for s in a.shortcuts())
    assert not [k for k, n in keys.items() if n > 1], keys
    assert "Ctrl+Q" in keys and "Space" in keys and "Esc" in keys


def test_every_shortcut_reaches_its_action_from_the_library(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    assert QApplication.focusWidget() is w.table  # the library, not the filter box, starts with the keys
    fired = []
    skip = {"Ctrl+Q", "Ctrl+O", "Ctrl+Shift+O", "Ctrl+,"}  # close the window or open a modal dialog
    for action in shortcut_actions(w):
        action.triggered.connect(lambda *_a, t=action.text(): fired.append(t))
    walked = 0
    for action in shortcut_actions(w):
        for seq in action.shortcuts():
            text = seq.toString()
            if text in skip or not text or seq[0].key() >= Qt.Key_Back:  # media keys: no keyClick path
                continue
            fired.clear()
            w.table.setFocus()
            press(qtbot, text)
            assert fired == [action.text()], f"{text} fired {fired}, expected {action.text()!r}"
            walked += 1
    assert walked >= 10


def test_space_plays_after_launch_and_after_clicking_pane_buttons(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    pb = w.playback
    w.table.select_row(0)
    press(qtbot, "Return")  # Enter plays the selection
    assert pb.state == "playing"
    press(qtbot, "Space")
    qtbot.waitUntil(lambda: pb.state == "paused", timeout=2000)
    qtbot.waitUntil(lambda: w.similar.play_all_button.isEnabled(), timeout=10000)
    for button in (w.similar.play_all_button, w.transport.play_button, w.transport.next_button):
        qtbot.mouseClick(button, Qt.LeftButton)
        assert not isinstance(QApplication.focusWidget(), QLineEdit), button.text() or button.toolTip()
        before = pb.state
        press(qtbot, "Space")
        qtbot.waitUntil(lambda b=before: pb.state != b, timeout=2000)
    assert w.panel.filter_edit.text() == ""


def test_typing_in_the_filter_does_not_play_and_esc_clears_it(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    pb = w.playback
    press(qtbot, "Ctrl+F")
    assert QApplication.focusWidget() is w.panel.filter_edit
    for key in ("d", "r", "u", "m", "Space", "s", "Left", "Right"):
        press(qtbot, key)
    assert w.panel.filter_edit.text() == "drum s" and pb.state == "stopped"
    w.panel.apply_filter()  # the matches are listed off the GUI thread
    qtbot.waitUntil(lambda: 0 < w.model.rowCount() < 12, timeout=5000)
    press(qtbot, "Esc")
    assert w.panel.filter_edit.text() == "" and QApplication.focusWidget() is w.table
    qtbot.waitUntil(lambda: w.model.rowCount() == 12, timeout=5000)
    press(qtbot, "Ctrl+F")
    # "pad/": the folder; plain "pad" also matches a made-up artist such as "Rebecca Padilla", whose name
    # follows the (random) test folder's path, so the first match could be a drums track
    qtbot.keyClicks(w.panel.filter_edit, "pad/")
    press(qtbot, "Return")  # Enter in the filter: to the first match (once listed); Enter again plays it
    assert QApplication.focusWidget() is w.table
    qtbot.waitUntil(lambda: w.table.currentIndex().isValid() and w.model.rowCount() < 12, timeout=5000)
    press(qtbot, "Return")
    assert pb.state == "playing" and "/pad/" in pb.current.path
