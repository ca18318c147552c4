"""The window's menus and keyboard shortcuts, built from the window's own slots.

Every action is also added to the window itself, so its shortcut works while the menu bar is hidden.
Features that add actions later (listening.py: radio, skip) find the Playback menu in `Menus.playback`.
"""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu

SEEK_STEP_S = 5.0
VOLUME_STEP = 0.05
REPLAYGAIN_MODES = (("off", "Off: play files as they are"), ("track", "Even out every track"),
                    ("album", "Even out albums, keep their own dynamics"))


class Menus(NamedTuple):
    rescan: QAction
    replaygain: dict[str, QAction]  # mode -> its checkable action
    playback: QMenu


def add_action(window, menu, text: str, slot, shortcuts=(), tip: str = "") -> QAction:
    """An action in `menu` (or only on the window when None) with window-wide shortcuts."""
    a = QAction(text, window)
    if shortcuts:
        a.setShortcuts([QKeySequence(s) for s in shortcuts])
        a.setShortcutContext(Qt.WindowShortcut)
    if tip:
        a.setStatusTip(tip)
    a.triggered.connect(slot)
    if menu is not None:
        menu.addAction(a)
    window.addAction(a)  # shortcuts work even when the menu bar is hidden
    return a


def build_menus(w) -> Menus:
    """File, Playback, Library and Help for the MainWindow `w` (its slots, its playback controller)."""
    mb = w.menuBar()
    m = mb.addMenu("&File")
    add_action(w, m, "Add &folder…", w.add_folder_dialog, ["Ctrl+O"])
    add_action(w, m, "Add fi&les…", w.add_files_dialog, ["Ctrl+Shift+O"])
    rescan = add_action(w, m, "&Rescan library", w.rescan, ["F5"])
    m.addSeparator()
    add_action(w, m, "&Settings…", w.open_settings, ["Ctrl+,"])
    m.addSeparator()
    add_action(w, m, "&Quit", w.close, ["Ctrl+Q"])
    playback = m = mb.addMenu("&Playback")
    pb = w.playback
    add_action(w, m, "Play / Pause", w.play_or_pause, [Qt.Key_Space, Qt.Key_MediaTogglePlayPause])
    add_action(w, None, "Play", w.media_play, [Qt.Key_MediaPlay])
    add_action(w, None, "Pause", w.media_pause, [Qt.Key_MediaPause])
    add_action(w, m, "Stop", pb.stop, [Qt.Key_MediaStop])
    add_action(w, m, "Previous", pb.previous, ["Ctrl+Left", Qt.Key_MediaPrevious])
    add_action(w, m, "Next", pb.next, ["Ctrl+Right", Qt.Key_MediaNext])
    m.addSeparator()
    add_action(w, m, "Seek back 5 s", lambda: pb.seek_by(-SEEK_STEP_S), [Qt.Key_Left])
    add_action(w, m, "Seek forward 5 s", lambda: pb.seek_by(SEEK_STEP_S), [Qt.Key_Right])
    add_action(w, m, "Volume up", lambda: w.set_volume(pb.volume + VOLUME_STEP), ["Ctrl+Up", Qt.Key_VolumeUp])
    add_action(w, m, "Volume down", lambda: w.set_volume(pb.volume - VOLUME_STEP), ["Ctrl+Down", Qt.Key_VolumeDown])
    replaygain = _replaygain_menu(w, m.addMenu("&Loudness (ReplayGain)"))
    m = mb.addMenu("&Library")
    add_action(w, m, "&Find…", w.panel.focus_filter, ["Ctrl+F"], "Filter the library by title, artist, album, "
               "genre or folder")
    add_action(w, m, "&Clear filter", w.panel.clear_filter, ["Esc"], "Show the whole library again")
    m = mb.addMenu("&Help")
    add_action(w, m, "&About Soundalike", w.about)
    return Menus(rescan, replaygain, playback)


def _replaygain_menu(w, menu: QMenu) -> dict[str, QAction]:
    """Off / each track / each album: how the files' ReplayGain tags even out loudness (kept in window.ini)."""
    group = QActionGroup(w)
    actions = {}
    for mode, text in REPLAYGAIN_MODES:
        a = QAction(text, w, checkable=True)
        a.triggered.connect(lambda _c=False, m=mode: w.set_replaygain(m))
        group.addAction(a)
        menu.addAction(a)
        actions[mode] = a
    return actions
