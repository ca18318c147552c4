"""The library table over a real catalog: contents, filter as you type, sort, made-up artists, 50k rows."""


from dataclasses import replace

from PySide6.QtCore import Qt

from desktop.core.catalog import Catalog, Track
from desktop.core.events import TrackDone
from desktop.ui.library_model import (
    ALBUM_ARTIST_TIP,
    COLUMNS,
    GENERATED_ARTIST_TIP,
    PAGE_SIZE,
    TRACK_ROLE,
    LibraryModel,
)

COL = {name: i for i, (name, _) in enumerate(COLUMNS)}


def test_window_lists_the_catalog_and_filters_as_you_type(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    model = w.model
    assert model.rowCount() == 12
    titles = {model.index(r, COL["title"]).data() for r in range(12)}
    assert "drums 0" in titles and "pad 3" in titles
    assert all(model.index(r, COL["status"]).data() == "✓" for r in range(12))
    qtbot.keyClicks(w.panel.filter_edit, "drum")
    qtbot.waitUntil(lambda: model.rowCount() == 4, timeout=2000)
    assert {model.index(r, COL["genre"]).data() for r in range(4)} == {"drums"}
    assert "4 tracks" in w.panel.summary.text()
    w.panel.filter_edit.clear()
    qtbot.waitUntil(lambda: model.rowCount() == 12, timeout=2000)


def test_made_up_artists_are_italic_grey_with_a_tooltip(indexed_home, make_window):
    w = make_window(indexed_home)
    ix = w.model.index(0, COL["artist"])
    track = ix.data(TRACK_ROLE)
    assert track.artist_generated  # the synthesized clips carry no artist tag
    assert ix.data(Qt.FontRole).italic()
    assert ix.data(Qt.ToolTipRole) == GENERATED_ARTIST_TIP
    assert ix.data(Qt.ForegroundRole) is not None
    assert w.model.index(0, COL["title"]).data(Qt.FontRole) is None


def test_the_playing_track_is_marked_and_the_mark_follows_playback(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    model, ids = w.model, w.model.ids()

    def marked():
        return [r for r in range(model.rowCount()) if model.index(r, COL["title"]).data(Qt.DecorationRole)]

    assert marked() == [] and model.playing is None
    with qtbot.waitSignal(w.playback.current_changed, timeout=5000):  # shown on the event loop's next turn
        w.play_row(3)
    assert marked() == [3] and model.playing == ids[3]
    assert all(model.index(3, c).data(Qt.FontRole).bold() for c in range(model.columnCount()))
    assert model.index(3, COL["artist"]).data(Qt.FontRole).italic()  # a made-up artist stays italic
    assert model.index(4, COL["title"]).data(Qt.FontRole) is None
    with qtbot.waitSignal(w.playback.current_changed, timeout=5000):
        w.playback.next()  # playback moves on: so does the mark
    assert marked() == [4] and model.playing == ids[4]
    w.table.sortByColumn(COL["title"], Qt.DescendingOrder)  # rows move: the mark stays on the track
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    assert marked() == [model.row_of(ids[4])]


def test_header_click_sorts(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    w.table.sortByColumn(COL["title"], Qt.DescendingOrder)
    assert w.model.loading  # the new order is read off the GUI thread
    qtbot.waitUntil(lambda: not w.model.loading, timeout=5000)
    titles = [w.model.index(r, COL["title"]).data() for r in range(12)]
    assert titles == sorted(titles, key=str.casefold, reverse=True)


def _big_catalog(path, n):
    cat = Catalog(path)
    with cat.transaction():
        for i in range(n):
            cat.add_track(Track(id=0, path=f"/music/a{i // 100}/t{i}.flac", title=f"Song {i}",
                                artist=f"Artist {i % 997}", album=f"Album {i // 12}", genre=("rock", "jazz")[i % 2],
                                duration=180 + i % 60, generated="artist" if i % 3 == 0 else ""))
    return cat


def test_fifty_thousand_rows_load_lazily(tmp_path, qtbot):
    cat = _big_catalog(tmp_path / "big.sqlite3", 50_000)
    model = LibraryModel(cat)  # how fast (< 1 s): bench/timeouts.py
    assert model.rowCount() == 50_000 and model.page_fetches == 0  # nothing read until shown
    assert model.index(49_999, COL["title"]).data() == "Song 49999"
    assert model.page_fetches == 1
    for r in range(49_000, 49_000 + PAGE_SIZE // 2):  # scrolling inside a page reads no more
        model.index(r, COL["artist"]).data()
    assert model.page_fetches <= 3
    model.set_filter("jazz")
    assert model.rowCount() == 25_000
    # One track changes status: only its row is re-read and repainted, no reset.
    tid = model.track_id(5)
    model.index(5, 0).data()
    cat.set_failed(tid, "spectral-v1-4", "truncated")
    with qtbot.assertNotEmitted(model.modelReset):
        with qtbot.waitSignal(model.dataChanged) as sig:
            model.refresh_tracks([tid])
    assert sig.args[0].row() == 5 and sig.args[1].row() == 5
    assert model.index(5, COL["status"]).data() == "failed"
    assert "truncated" in model.index(5, COL["status"]).data(Qt.ToolTipRole)
    # Index results from the worker go straight into the cached row: no SQL on the GUI thread.
    fetches = model.page_fetches
    cat.close()  # any catalog read would now raise
    with qtbot.waitSignal(model.dataChanged) as sig:
        model.apply_results([TrackDone(tid, "", ok=True)])
    assert sig.args[0].row() == 5 and model.index(5, COL["status"]).data() == "✓"
    assert model.page_fetches == fetches


def test_album_artist_column_sorts_albums_like_players(tmp_path, qtbot):
    """Album artist (else the track artist, shown grey), then album, then disc and track number."""
    cat = Catalog(tmp_path / "lib.sqlite3")
    rows = [  # (title, artist, album artist, album, disc, track)
        ("b2", "Guest", "Band B", "Live", 2, 1), ("b1", "Band B", "Band B", "Live", 1, 2),
        ("b0", "Band B", "Band B", "Live", 1, 1), ("c1", "Comp 1", "Various Artists", "Hits", None, 1),
        ("a2", "Aardvark", "", "Zebra", None, 2), ("a1", "aardvark", "", "Zebra", None, 1),
        ("b9", "Band B", "", "Early", None, 1), ("c2", "Comp 2", "Various Artists", "Hits", None, 2),
    ]
    with cat.transaction():
        for i, (title, artist, album_artist, album, disc, number) in enumerate(rows):
            cat.add_track(Track(id=0, path=f"/music/{i}.flac", title=title, artist=artist, album_artist=album_artist,
                                album=album, disc_number=disc, track_number=number))
    model = LibraryModel(cat)
    assert COLUMNS[COL["album_artist"]][1] == "Album artist" and COL["artist"] < COL["album_artist"] < COL["album"]
    model.sort(COL["album_artist"], Qt.AscendingOrder)
    titles = [model.index(r, COL["title"]).data() for r in range(len(rows))]
    assert titles == ["a1", "a2", "b9", "b0", "b1", "b2", "c1", "c2"]
    shown = {model.index(r, COL["title"]).data(): model.index(r, COL["album_artist"]) for r in range(len(rows))}
    assert shown["b2"].data() == "Band B" and shown["b2"].data(Qt.ForegroundRole) is None  # tagged
    assert shown["a2"].data() == "Aardvark" and shown["a2"].data(Qt.ForegroundRole) is not None  # the artist's
    assert shown["a2"].data(Qt.ToolTipRole) == ALBUM_ARTIST_TIP
    model.sort(COL["album_artist"], Qt.DescendingOrder)  # artists reversed; each album still plays in order
    titles = [model.index(r, COL["title"]).data() for r in range(len(rows))]
    assert titles == ["c1", "c2", "b9", "b0", "b1", "b2", "a1", "a2"]
    model.sort(COL["album"], Qt.AscendingOrder)
    assert [model.index(r, COL["title"]).data() for r in range(len(rows))] == ["b9", "c1", "c2", "b0", "b1", "b2",
                                                                               "a1", "a2"]
    model.set_filter("various")  # the filter matches album artists too
    assert model.rowCount() == 2
    cat.close()


def test_a_reload_that_leaves_the_selected_row_in_place_does_not_scroll(indexed_home, make_window, qtbot):
    """New tracks come last in catalog order (a scan): the reload keeps the selected track selected and the table
    where the user scrolled it; so does a new list that leaves the selected track in its row (a track after it
    gone); a reload that moves the selected track (another order) scrolls to it."""
    w = make_window(indexed_home)
    cat = w.session.catalog

    def add_and_reload(n, start):
        for i in range(start, start + n):
            cat.add_track(Track(id=0, path=f"/m/extra{i:03d}.flac", title=f"Extra {i:03d}", artist="Later",
                                duration=60))
        with qtbot.waitSignal(w.model.reloaded, timeout=10000):
            w.model.reload()
        qtbot.wait(50)

    add_and_reload(80, 0)
    w.table.select_row(2)
    qtbot.waitUntil(lambda: w.similar_controller.selected_id == w.model.track_id(2), timeout=5000)
    bar = w.table.verticalScrollBar()
    bar.setValue(bar.maximum())
    scrolled = bar.value()
    assert scrolled > 0
    resets = []
    w.model.modelReset.connect(lambda: resets.append(1))
    track = w.model.track_at(1)
    cat.update_tags(replace(track, title="Retitled"))  # a rescan may retag listed tracks as it adds others
    add_and_reload(5, 80)
    assert not resets, "tracks added after the listed ones are inserted, not a new list"
    assert w.table.currentIndex().row() == 2 and w.similar_controller.selected_id == w.model.track_id(2)
    assert bar.value() == scrolled, "the table stayed where the user scrolled it"
    assert w.model.track_at(1).title == "Retitled", "the rows already listed are read again"
    bar.setValue(scrolled // 2)
    cat.mark_missing([w.model.track_id(w.model.rowCount() - 1)])  # a rescan found the last track gone: a new list
    with qtbot.waitSignal(w.model.reloaded, timeout=10000):
        w.model.reload()
    qtbot.wait(50)
    assert resets, "a list that lost a row is a new list"
    assert w.table.currentIndex().row() == 2 and bar.value() == scrolled // 2, "the selected row stayed: no scroll"
    w.table.sortByColumn(COL["title"], Qt.DescendingOrder)  # the extra tracks' titles first
    qtbot.waitUntil(lambda: not w.model.loading and w.model.row_of(w.similar_controller.selected_id) != 2,
                    timeout=10000)
    row = w.model.row_of(w.similar_controller.selected_id)
    qtbot.waitUntil(lambda: w.table.currentIndex().row() == row, timeout=5000)
    shown = w.table.rowAt(0) <= row <= w.table.rowAt(w.table.viewport().height() - 1)
    assert shown or w.table.rowAt(w.table.viewport().height() - 1) == -1, "a moved selection is scrolled to"
