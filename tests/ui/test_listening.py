"""Up next, radio, skips, paths and menus through the real window on the listening library."""

from __future__ import annotations

import shutil
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from desktop.ui.up_next import PLAYING_MARK


@pytest.fixture
def lhome(listening_template, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(listening_template[0], home)
    return home, listening_template[1]


def trigger(menu, text):
    action = next(a for a in menu.actions() if a.text() == text)
    assert action.isEnabled(), text
    action.trigger()


def rows(w):
    w.side_tabs.setCurrentWidget(w.up_next)  # its rows are built when it is shown
    lst = w.up_next.list
    return [lst.item(i) for i in range(lst.count())]


def start_radio_from_menu(w, qtbot, info):
    seed = w.session.catalog.by_path(next(iter(info["copies"]))).id
    w.table.select_row(w.model.row_of(seed))
    menu = w.track_menus.menu_for([seed], w.table)
    trigger(menu, "Start radio")
    qtbot.waitUntil(lambda: len(rows(w)) >= 8, timeout=20000)
    return seed


def test_start_radio_from_the_context_menu_fills_up_next(lhome, make_window, qtbot):
    home, info = lhome
    w = make_window(home)
    seed = start_radio_from_menu(w, qtbot, info)
    items = rows(w)
    assert w.playback.current.track_id == seed
    assert items[0].text().startswith(PLAYING_MARK) and items[0].font().bold()
    assert all(i.toolTip().startswith("like ") for i in items[1:])
    assert "Radio from" in w.up_next.station_label.text()


def test_skip_changes_the_next_track_and_says_so_then_undo(lhome, make_window, qtbot):
    home, info = lhome
    w = make_window(home)
    start_radio_from_menu(w, qtbot, info)
    w.playback.next()  # now on the first station pick
    skipped = w.playback.current.track_id
    before = list(w.playback.queue.items)
    w.up_next.skip_button.click()
    assert w.playback.current.track_id != skipped
    qtbot.waitUntil(lambda: any("away from" in i.toolTip() for i in rows(w)), timeout=20000)
    assert list(w.playback.queue.items) != before
    assert w.up_next.undo_button.isVisibleTo(w.up_next) and "1 skipped" in w.up_next.station_label.text()
    w.up_next.undo_button.click()
    qtbot.waitUntil(lambda: not any("away from" in i.toolTip() for i in rows(w)[3:]), timeout=20000)
    assert not w.up_next.undo_button.isVisibleTo(w.up_next)


def test_next_and_previous_follow_up_next_with_reorder_and_delete(lhome, make_window, qtbot):
    home, info = lhome
    w = make_window(home)
    start_radio_from_menu(w, qtbot, info)
    q = w.playback.queue
    w.up_next.list.model().moveRow(w.up_next.list.model().index(0, 0).parent(), 5,
                                   w.up_next.list.model().index(0, 0).parent(), 1)  # what a drag does
    moved = q.items[1]
    with qtbot.waitSignal(w.playback.current_changed, timeout=5000):  # shown on the event loop's next turn
        w.playback.next()
    assert w.playback.current.track_id == moved
    assert rows(w)[1].text().startswith(PLAYING_MARK)
    w.playback.previous()
    assert w.playback.current.track_id == q.items[0]
    count = len(q)
    w.up_next.list.setCurrentRow(3)
    w.up_next.list.item(3).setSelected(True)
    gone = q.items[3]
    qtbot.keyClick(w.up_next.list, Qt.Key_Delete)
    assert len(q) == count - 1 and gone not in q.items[:4]


def test_play_next_add_to_queue_and_export(lhome, make_window, qtbot, tmp_path):
    from desktop.core.playlists import read_playlist

    home, info = lhome
    w = make_window(home)
    ids = w.model.ids()
    w.playback.play_items(ids[:3])
    trigger(w.track_menus.menu_for([ids[10]], w.table), "Play next")
    trigger(w.track_menus.menu_for([ids[11]], w.table), "Add to queue")
    assert w.playback.queue.items == [ids[0], ids[10], ids[1], ids[2], ids[11]]
    assert "played next by you" in rows(w)[1].toolTip()
    w.track_menus.export(w.playback.queue.items, str(tmp_path / "q.m3u8"))
    paths = [w.session.catalog.get(i).path for i in w.playback.queue.items]
    assert [e.path for e in read_playlist(tmp_path / "q.m3u8")] == paths


def test_path_to_previews_the_path_in_up_next(lhome, make_window, qtbot):
    home, info = lhome
    w = make_window(home)
    cat = w.session.catalog
    a = cat.by_path(next(iter(info["copies"]))).id
    b = cat.by_path(info["missing"].replace("pad_11", "pad_03")).id
    trigger(w.track_menus.menu_for([a], w.table), "Path to…")
    trigger(w.track_menus.menu_for([b], w.table), "Path to here")
    qtbot.waitUntil(lambda: len(w.playback.queue) == 12, timeout=20000)
    assert w.playback.queue.items[0] == a and w.playback.queue.items[-1] == b
    assert "step 1 of 11" in rows(w)[1].toolTip()


def test_duplicates_dialog_lists_groups_with_the_best_marked(lhome, make_window, qtbot):
    home, info = lhome
    w = make_window(home)
    trigger(w.track_menus.menu_for([w.model.ids()[0]], w.table), "Show duplicates")
    qtbot.waitUntil(lambda: getattr(w, "duplicates_dialog", None) is not None, timeout=60000)
    tree = w.duplicates_dialog.tree
    groups = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    listed = [sorted(g.child(j).data(0, Qt.UserRole) for j in range(g.childCount())) for g in groups]
    for original, copies in info["copies"].items():
        assert sorted([original, *copies]) in listed
    for g in groups:
        texts = [g.child(j).text(0) for j in range(g.childCount())]
        assert sum(t.startswith("★ best") for t in texts) == 1
    # The extra copies are hidden from Sounds like (and radio) by default; the dialog's box shows them again.
    from desktop.core.duplicates import KnownCopies

    box = w.duplicates_dialog.hide_copies
    assert box.isChecked() and "Sounds like" in box.text()
    extras = KnownCopies.load(w.session.catalog).extras
    for original, copies in info["copies"].items():
        group = {w.session.catalog.by_path(p).id for p in [original, *copies]}
        assert len(group & extras) == len(copies)  # all but the best copy
    w.table.select_row(w.model.row_of(w.session.catalog.by_path(next(iter(info["copies"]))).id))
    qtbot.waitUntil(lambda: not w.similar.pending and not w.similar.pending and bool(w.similar.hits), timeout=20000)
    assert not {h.track_id for h in w.similar.hits} & extras
    box.setChecked(False)
    qtbot.waitUntil(lambda: not KnownCopies.load(w.session.catalog).hide, timeout=20000)


def test_pinning_keeps_the_pane_while_playing_a_hit(lhome, make_window, qtbot):
    home, info = lhome
    w = make_window(home)
    w.table.select_row(0)
    qtbot.waitUntil(lambda: not w.similar.pending and not w.similar.pending and bool(w.similar.hits), timeout=20000)
    shown = [h.track_id for h in w.similar.hits]
    w.pin_similar.click()
    w.play_hit(2)  # what a double-click does
    assert w.playback.current.track_id == shown[2]
    w.table.select_row(5)
    qtbot.wait(300)
    assert [h.track_id for h in w.similar.hits] == shown
    w.pin_similar.click()  # unpinned: it follows again
    w.table.select_row(7)
    qtbot.waitUntil(lambda: [h.track_id for h in w.similar.hits] != shown, timeout=20000)


def test_up_next_and_the_station_survive_closing_the_window(lhome, make_window, qtbot):
    home, info = lhome
    w = make_window(home)
    start_radio_from_menu(w, qtbot, info)
    w.playback.next()  # the first station pick plays ...
    skipped = w.playback.current.track_id
    w.up_next.skip_button.click()  # ... and is skipped early: a negative the station keeps
    qtbot.waitUntil(lambda: any("away from" in i.toolTip() for i in rows(w)), timeout=20000)
    w.playback.next()
    items, index = list(w.playback.queue.items), w.playback.queue.index
    reasons = [w.playback.queue.reason(i) for i in range(len(items))]
    playing = w.playback.current.track_id
    w.close()

    again = make_window(home)
    qtbot.waitUntil(lambda: again.listening.station is not None, timeout=20000)
    q = again.playback.queue
    assert q.items[: len(items)] == items and q.index == index
    assert [q.reason(i) for i in range(len(items))] == reasons
    assert again.playback.current.track_id == playing and again.playback.state != "playing"
    assert again.model.playing == playing
    assert rows(again)[index - again.listening._offset].text().startswith(PLAYING_MARK)
    station = again.listening.station
    assert [n.track_id for n in station.negatives] == [skipped]
    assert "1 skipped" in again.up_next.station_label.text()
    # It keeps refilling as before: play on past what was queued, never the skipped track again.
    for _ in range(len(items) - index + 3):
        again.playback.next()
        qtbot.waitUntil(lambda: len(again.playback.queue.upcoming) >= 1, timeout=20000)
    assert len(q) > len(items)
    assert skipped not in q.items[len(items):]
    assert all(q.reason(i).startswith("like ") for i in range(len(items), len(q)))


def test_an_advance_queued_by_the_player_before_closing_is_ignored_after(lhome, make_window, qtbot):
    """The player's thread can queue "went on into the next track" just before the window closes; delivered
    after the library is closed it must not read the catalog (it raised "closed database" at shutdown)."""
    home, info = lhome
    w = make_window(home)
    start_radio_from_menu(w, qtbot, info)
    w.playback.next()
    nxt = w.playback.queue.peek_next()
    path = w.session.catalog.get(nxt).path
    w.shutdown()
    told = threading.Thread(target=w.playback.player._on_advance, args=(path,))  # as the player's thread does
    told.start()
    told.join()
    qtbot.wait(50)
    assert w.playback.queue.peek_next() == nxt  # nothing advanced on a closed library


def test_up_next_builds_its_rows_when_it_is_shown(qtbot):
    """Every track change hands Up next the queue; while another tab is in front it reads and builds no rows
    (up to 300 from the catalog, each asking for its cover), and showing it shows the latest queue."""
    from PySide6.QtWidgets import QTabWidget

    from desktop.ui.up_next import UpNextPanel

    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    front, panel = QWidget(), UpNextPanel()
    tabs.addTab(front, "Sounds like")
    tabs.addTab(panel, "Up next")
    tabs.show()
    qtbot.waitExposed(tabs)
    read = []

    def queue(*labels):
        return lambda: read.append(labels) or (list(labels), [""] * len(labels), [""] * len(labels))

    panel.show_queue(3, queue("a", "b", "c"), 0)
    panel.show_queue(2, queue("b", "c"), 0)
    assert panel.list.count() == 0 and read == [] and panel.title.text() == "Up next (2)"
    tabs.setCurrentWidget(panel)
    assert [panel.list.item(i).text() for i in range(panel.list.count())] == [PLAYING_MARK + "b", "c"]
    assert read == [("b", "c")]  # only the latest queue was read
    panel.show_queue(1, queue("c"), 0)  # shown: at once
    assert [panel.list.item(i).text() for i in range(panel.list.count())] == [PLAYING_MARK + "c"]
