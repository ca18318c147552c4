"""Where listening shows in the window: the Up next tab beside Sounds like, the right-click menus of the library,
the pane and Up next, the Pin button, and the radio actions of the Playback menu.

Apart from `ListeningController` (listening.py) because this is layout and wiring, done once when the window is
built, while the controller holds the queue and station state for as long as the window lives.
"""

from __future__ import annotations

from desktop.ui.listening import ListeningController


def install(window) -> ListeningController:
    """Add Up next (tabbed with Sounds like), the right-click menus and the radio actions to `window`."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QAction, QKeySequence
    from PySide6.QtWidgets import QPushButton

    # lazy: stays out of the window's start-up
    from desktop.ui.context_menus import DuplicatesDialog, TrackMenus, radio_from_playlist
    from desktop.ui.quiet_widgets import SteadyTabWidget
    from desktop.ui.up_next import UpNextPanel  # lazy: stays out of the window's start-up

    panel = UpNextPanel()
    tabs = SteadyTabWidget()  # a new title in Sounds like repaints the title, not the whole pane
    tabs.setObjectName("sideTabs")
    window.splitter.replaceWidget(1, tabs)
    window.splitter.setStretchFactor(1, 2)  # the stretch belonged to the replaced pane: wide windows widen both
    tabs.addTab(window.similar, "Sounds like")
    tabs.addTab(panel, "Up next")
    listening = ListeningController(window, panel)
    menus = TrackMenus(window, listening)
    window.side_tabs, window.up_next, window.listening, window.track_menus = tabs, panel, listening, menus
    panel.set_covers(window.covers)
    listening.status.connect(lambda text: window.statusBar().showMessage(text, 8000))
    window.playback.current_changed.connect(lambda now: window.model.set_playing(now.track_id if now else None))
    window.playback.track_ended.connect(lambda now: now.track_id is not None and listening.track_finished(now.track_id))

    def show_duplicates(result) -> None:
        groups, hidden = result
        window.duplicates_dialog = DuplicatesDialog(groups, listening, window, hidden)
        window.duplicates_dialog.show()

    listening.duplicates_ready.connect(show_duplicates)

    table = window.table
    table.setContextMenuPolicy(Qt.CustomContextMenu)

    def table_items() -> list:
        ids = window.model.ids()
        rows = sorted({ix.row() for ix in table.selectionModel().selectedRows()})
        return [ids[r] for r in rows if 0 <= r < len(ids)]

    table.customContextMenuRequested.connect(
        lambda pos: menus.popup(table_items(), table.viewport().mapToGlobal(pos), table))
    hits_view = window.similar.list
    hits_view.setContextMenuPolicy(Qt.CustomContextMenu)

    def hit_items(pos) -> list:
        ix = hits_view.indexAt(pos)
        hits = window.similar.hits
        if ix.isValid() and ix.row() < len(hits):
            return [hits[ix.row()].track_id]
        example = getattr(window.similar, "example_path", None)
        return [example] if example else []  # the dropped file the pane shows hits for

    hits_view.customContextMenuRequested.connect(
        lambda pos: menus.popup(hit_items(pos), hits_view.viewport().mapToGlobal(pos), hits_view))
    panel.context_menu.connect(lambda gpos, row: menus.popup(
        [listening.queue.items[listening._offset + row]] if row >= 0 else listening.queue.items, gpos, panel))

    pin = QPushButton("Pin")
    pin.setObjectName("pinSimilar")
    pin.setCheckable(True)
    pin.setToolTip("Keep this list: it stops following the selection and the playing track")
    pin.toggled.connect(lambda on: setattr(window.similar_controller, "pinned", on))
    window.similar.play_all_button.parentWidget().layout().itemAt(3).layout().addWidget(pin)
    window.similar.example_dropped.connect(lambda _paths: pin.setChecked(True))  # a dropped file's hits stay
    window.pin_similar = pin

    playback_menu = next((a.menu() for a in window.menuBar().actions() if a.text() == "&Playback"), None)
    skip = QAction("Skip: not this", window)
    skip.setShortcuts([QKeySequence("Ctrl+J")])
    skip.triggered.connect(listening.skip)
    radio = QAction("Start radio from the selection", window)
    radio.setShortcuts([QKeySequence("Ctrl+R")])
    radio.triggered.connect(lambda: listening.start_radio(table_items()))
    playlist = QAction("Start radio from a playlist…", window)
    playlist.triggered.connect(lambda: radio_from_playlist(window, listening))
    for a in (skip, radio, playlist):
        window.addAction(a)
        if playback_menu is not None:
            playback_menu.addAction(a)
    return listening
