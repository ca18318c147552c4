"""Right-click menus on the library, the Sounds-like pane and Up next, and the Duplicates dialog.

Every menu acts on a list of queue items (track ids, or paths of files outside the library) and
asks the ListeningController to do it, so the three places offer the same actions the same way:
Play, Play next, Add to queue, Start radio, Path to…, Show duplicates, Reveal in file manager,
Export as playlist.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)


class TrackMenus:
    """Builds the menu for some items; `path_start` remembers the first end of a "Path to…"."""

    def __init__(self, window, listening):
        self.w, self.listening = window, listening
        self.path_start: int | None = None
        self.last_menu: QMenu | None = None  # the menu last shown (tests trigger its actions)

    def menu_for(self, items: list, parent) -> QMenu:
        L = self.listening
        menu = QMenu(parent)
        ids = [i for i in items if isinstance(i, int)]
        menu.addAction("Play", lambda: L.play(items))
        menu.addAction("Play next", lambda: L.play_next(items))
        menu.addAction("Add to queue", lambda: L.add_to_queue(items))
        menu.addSeparator()
        menu.addAction("Start radio", lambda: L.start_radio(items))
        a = menu.addAction("Path to…" if self.path_start is None else "Path to here", lambda: self._path(ids))
        a.setEnabled(len(ids) == 1 and self.path_start != ids[0])
        a.setToolTip("Pick this track as the start, then choose Path to here on the end track")
        if self.path_start is not None:
            menu.addAction("Forget the path start", self._forget_start)
        menu.addSeparator()
        d = menu.addAction("Show duplicates", L.find_duplicates)
        d.setEnabled(bool(ids))
        menu.addAction("Reveal in file manager", lambda: L.reveal(self._path_of(items[0]))).setEnabled(bool(items))
        menu.addAction("Export as playlist…", lambda: self.export(items))
        self.last_menu = menu
        return menu

    def popup(self, items: list, global_pos, parent) -> None:
        if items:
            self.menu_for(items, parent).popup(global_pos)

    def _path(self, ids: list[int]) -> None:
        if self.path_start is None:
            self.path_start = ids[0]
            self.listening.status.emit("Path start chosen: now right-click the end track and choose Path to here")
        else:
            start, self.path_start = self.path_start, None
            self.listening.path_to(start, ids[0])

    def _forget_start(self) -> None:
        self.path_start = None

    def _path_of(self, item) -> str:
        if isinstance(item, int):
            return self.w.session.catalog.get(item).path
        return str(item)

    def export(self, items: list, target: str | None = None) -> None:
        if target is None:
            target, _ = QFileDialog.getSaveFileName(self.w, "Export as playlist", "playlist.m3u8",
                                                    "M3U8 playlist (*.m3u8);;XSPF playlist (*.xspf)")
        if target:
            self.listening.export(target, items)


class DuplicatesDialog(QDialog):
    """The groups of copies, the best one marked; double-click reveals a file. Nothing is deleted."""

    def __init__(self, groups, listening, parent=None, hidden: bool = True):
        super().__init__(parent)
        self.setWindowTitle("Duplicates")
        self.resize(900, 480)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Track", "Format", "Bitrate", "Sample rate", "Size", "Tags", "Path"])
        for g in groups:
            top = QTreeWidgetItem([f"{g.best.artist} - {g.best.title}", "", "", "", "", "", f"{len(g.copies)} copies"])
            for c in g.copies:
                row = QTreeWidgetItem([("★ best  " if c.best else "") + c.title, c.format,
                                       f"{c.bitrate} kbps" if c.bitrate else "?", f"{c.sample_rate} Hz",
                                       f"{c.size / 1e6:.1f} MB", str(c.tags), c.path])
                row.setData(0, Qt.UserRole, c.path)
                if not c.best:
                    row.setToolTip(0, "An extra copy: left out of Sounds like and radio while the box below is on")
                top.addChild(row)
            self.tree.addTopLevelItem(top)
        self.tree.expandAll()
        self.tree.itemDoubleClicked.connect(lambda item, _c: item.data(0, Qt.UserRole)
                                            and listening.reveal(item.data(0, Qt.UserRole)))
        self.hide_copies = QCheckBox("Hide the extra copies from Sounds like, radio and paths (the best copy stays)")
        self.hide_copies.setObjectName("hideCopies")
        self.hide_copies.setChecked(hidden)
        self.hide_copies.toggled.connect(listening.set_copies_hidden)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.tree)
        lay.addWidget(self.hide_copies)
        lay.addWidget(buttons)
        if not groups:
            self.tree.addTopLevelItem(QTreeWidgetItem(["No duplicates found"]))


def radio_from_playlist(window, listening, path: str | None = None) -> None:
    """Start radio from the tracks of a playlist file the user picks (entries not in the library: a notice)."""
    from PySide6.QtWidgets import QFileDialog

    from desktop.core.playlists import match_library, read_playlist  # lazy: stays out of the window's start-up

    if path is None:
        path, _ = QFileDialog.getOpenFileName(window, "Start radio from a playlist", "",
                                              "Playlists (*.m3u *.m3u8 *.xspf)")
    if not path:
        return
    try:
        found, missing = match_library(window.session.catalog, read_playlist(path))
    except Exception as e:  # noqa: BLE001 - a bad playlist is a notice, nothing else changes
        window.notices.add("Could not read the playlist", [str(e)])
        return
    if missing:
        window.notices.add(f"{len(missing)} entries of the playlist are not in the library",
                           [e.path for e in missing[:10]])
    listening.start_radio(found, play_seed=False)
