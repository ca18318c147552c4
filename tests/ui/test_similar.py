"""The similar-tracks pane driven through the real window: selection, playing, not-indexed states."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from desktop.core.events import ScanSummary
from desktop.core.library import Library
from desktop.core.scan import scan
from tests.ui.conftest import row_of_path, spectral_home


def wait_hits(qtbot, pane, timeout=10000):
    try:
        qtbot.waitUntil(lambda: not pane.pending and len(pane.hits) > 0, timeout=timeout)
    except Exception:
        print("STATE", pane.state_text, pane.query_label.text())
        raise
    return pane.hits


def test_selecting_a_track_shows_its_family_first(indexed_home, family_dir, make_window, qtbot):
    w = make_window(indexed_home)
    for family in ("drums", "plucked", "pad"):
        query = next((family_dir / family).iterdir())
        w.table.select_row(row_of_path(w, query))
        hits = wait_hits(qtbot, w.similar)
        qtbot.waitUntil(lambda query=query: w.similar.query_label.text().startswith(query.stem.replace("_", " ")))
        hits = w.similar.hits
        assert str(query) not in [h.path for h in hits]  # never the query itself
        same = [h.genre == family for h in hits]
        # the same family first (near-identical clips may be dropped as duplicates by the core)
        assert sum(same) >= 2 and all(same[: sum(same)]), [(h.title, round(h.score, 3)) for h in hits]
        assert all(-1.0 <= h.score <= 1.0 for h in hits)
        assert w.similar.play_all_button.isEnabled()
        tip = w.similar.model.data(w.similar.model.index(0), Qt.ToolTipRole)
        assert hits[0].words and hits[0].words.capitalize() in tip and "Why: " in tip and "raw cosine" in tip


def test_play_these_as_a_queue_plays_the_hits_in_order(indexed_home, family_dir, make_window, qtbot):
    w = make_window(indexed_home)
    w.table.select_row(0)
    hits = wait_hits(qtbot, w.similar)
    w.similar.play_all_button.click()
    assert w.playback.current.track_id == hits[0].track_id
    assert w.playback.queue.items == [h.track_id for h in hits]
    assert w.playback.state == "playing"


def test_double_click_on_a_hit_plays_it(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    w.table.select_row(3)
    hits = wait_hits(qtbot, w.similar)
    lst = w.similar.list
    qtbot.waitUntil(lambda: lst.isVisible() and lst.visualRect(lst.model().index(1, 0)).isValid(), timeout=2000)
    rect = lst.visualRect(lst.model().index(1, 0))

    qtbot.mouseClick(lst.viewport(), Qt.LeftButton, pos=rect.center())  # a real double-click starts
    qtbot.mouseDClick(lst.viewport(), Qt.LeftButton, pos=rect.center())  # with a click
    assert w.playback.current.track_id == hits[1].track_id


def test_pane_follows_the_playing_track(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    w.table.select_row(0)
    wait_hits(qtbot, w.similar)
    w.play_row(7)
    playing = w.model.track_id(7)
    qtbot.waitUntil(lambda: w.similar_controller.target == playing and not w.similar.pending and bool(w.similar.hits),
                    timeout=10000)
    assert playing not in [h.track_id for h in w.similar.hits]


def test_unindexed_track_says_so_then_fills_in_when_indexing_resumes(tmp_path, family_dir, make_window, qtbot):
    home = spectral_home(tmp_path / "lib")
    with Library.open(home) as lib:  # scanned, never indexed: like a run interrupted at once
        assert isinstance(list(scan(lib.catalog, [str(family_dir)]))[-1], ScanSummary)
    w = make_window(home, start=False)
    w.table.select_row(0)
    qtbot.waitUntil(lambda: "not indexed yet" in w.similar.state_text.lower(), timeout=5000)
    assert w.similar.hits == []
    with qtbot.waitSignal(w.session.job_started, timeout=3000):
        w.start()  # what the app does after the first paint: pending tracks -> resume indexing
    qtbot.waitUntil(lambda: "indexing" in w.similar.state_text.lower() or bool(w.similar.hits), timeout=5000)
    # when its track is done the pane asks again, while the table's copy still says "not indexed" (the table hears
    # of results in batches): the answer, not that copy, decides
    wait_hits(qtbot, w.similar, timeout=30000)
    qtbot.waitUntil(lambda: not w.session.busy, timeout=30000)
    assert w.session.catalog.counts()["indexed"] == 12


def test_a_row_the_table_holds_is_shown_without_reading_the_catalog_on_the_gui_thread(tmp_path, family_dir,
                                                                                      make_window, qtbot):
    """Selecting a row the table has read takes the track from the table: no SQLite read on the GUI thread, even
    for a track not indexed yet (the library thread's answer says so, with the track as it is now)."""
    import threading

    home = spectral_home(tmp_path / "lib")
    with Library.open(home) as lib:  # scanned, never indexed
        list(scan(lib.catalog, [str(family_dir)]))
    w = make_window(home, start=False)
    qtbot.waitUntil(lambda: w.model.cached_track(w.model.track_id(3)) is not None, timeout=5000)
    track = w.model.cached_track(w.model.track_id(3))
    assert track.status == "pending" and w.similar_controller.target != track.id
    catalog, gui, reads = w.session.catalog, threading.get_ident(), []
    get = catalog.get

    def recording_get(track_id):
        reads.append(threading.get_ident())
        return get(track_id)

    catalog.get = recording_get
    w.table.select_row(3)
    assert w.similar.query_label.text() == f"{track.title} — {track.artist}"
    qtbot.waitUntil(lambda: "not indexed yet" in w.similar.state_text.lower(), timeout=5000)
    assert gui not in reads


def test_failed_track_shows_the_reason(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    tid = w.model.track_id(2)
    w.session.catalog.set_failed(tid, "x", "truncated (the file ends early)")
    w.model.refresh_tracks([tid])  # as the window hears of it from the indexer: the pane takes the table's row
    w.table.select_row(2)
    assert "could not be indexed" in w.similar.state_text and "truncated" in w.similar.state_text


def test_a_small_window_cuts_neither_the_score_words_nor_the_progress_text(indexed_home, make_window, qtbot):
    """At 900 x 600 (the Xvfb screenshot showed "ery close" and "Passage inde"), both fit whole."""
    from PySide6.QtGui import QFontMetrics

    from desktop.core.events import Progress
    from desktop.ui.similar_pane import LONGEST_WORDS, HitDelegate

    w = make_window(indexed_home)
    w.resize(900, 600)
    w.table.select_row(0)
    wait_hits(qtbot, w.similar)
    view = w.similar.list
    fm = QFontMetrics(view.font())
    assert HitDelegate.score_width(fm, view.viewport().width()) >= fm.horizontalAdvance(LONGEST_WORDS)
    status = w.statusBar().index_status
    status.show_progress(Progress("passages", 10, 30))
    label = status.label
    qtbot.waitUntil(lambda: label.isVisible() and label.width() >= label.fontMetrics().horizontalAdvance(label.text()))


def test_at_800_px_the_progress_text_is_shortened_with_an_ellipsis_not_cut(indexed_home, make_window, qtbot):
    """At 800 x 500 the Xvfb screenshot showed "Passage index 2 of :" (a digit cut in half)."""
    from desktop.core.events import Progress

    w = make_window(indexed_home)
    w.resize(800, 500)
    status = w.statusBar().index_status
    status.show_progress(Progress("passages", 2, 30, "/music/06 Snowfield with a long name.flac"))
    label = status.label
    full = "Passage index 2 of 30  ·  06 Snowfield with a long name.flac"
    qtbot.waitUntil(lambda: label.isVisible() and QLabel.text(label).endswith("…"))
    assert label.text() == full
    shown = QLabel.text(label)
    assert full.startswith(shown[:-1]) and label.fontMetrics().horizontalAdvance(shown) <= label.width()


def test_a_quick_answer_replaces_the_hits_without_showing_the_loading_text(indexed_home, make_window, qtbot):
    """Switching the pane to "Finding similar tracks…" and back for every selected row repainted the whole pane
    twice; the old hits stay until the answer replaces them, and the text shows only when the answer is slow."""
    from desktop.ui.similar_pane import LOADING_DELAY_MS

    w = make_window(indexed_home)
    pane = w.similar
    qtbot.waitUntil(lambda: not w.session.busy, timeout=20000)
    w.table.select_row(0)
    qtbot.waitUntil(lambda: not pane.pending and bool(pane.hits), timeout=10000)
    hits = pane.hits
    pages = []
    pane.stack.currentChanged.connect(pages.append)
    pane.show_loading()
    assert pane.hits == hits and pane.stack.currentWidget() is pane.list and pane.state_text == ""
    pane.show_hits(hits[::-1])
    qtbot.wait(LOADING_DELAY_MS + 100)
    assert pages == [] and pane.hits == hits[::-1]
    pane.show_loading()
    pane.show_hits(hits)
    qtbot.wait(LOADING_DELAY_MS + 100)
    assert pages == [] and pane.hits == hits
    pane.show_loading()  # no answer yet: the text comes after the delay
    qtbot.waitUntil(lambda: pane.state_text == "Finding similar tracks…", timeout=5000)
    assert pane.hits == [] and pane.pending  # still waiting for the answer
    pane.show_hits(hits)
    assert pane.hits == hits and not pane.pending


def test_selecting_an_indexed_row_does_not_wait_for_the_catalog(indexed_home, make_window, qtbot):
    """Moving through the library while the indexer writes: selecting a row must not wait for the indexer's open
    transaction (the pane read the selected track on the GUI thread, through the catalog's one shared connection).
    The pane takes an indexed track from the table's row, and the catalog reads on each thread's own connection."""
    import threading

    w = make_window(indexed_home)
    qtbot.waitUntil(lambda: not w.session.busy, timeout=20000)
    w.table.select_row(0)
    wait_hits(qtbot, w.similar)
    holding, release = threading.Event(), threading.Event()

    def indexer_writing() -> None:
        with w.session.catalog.transaction():
            holding.set()
            release.wait(10)

    writer = threading.Thread(target=indexer_writing)
    writer.start()
    try:
        assert holding.wait(5)
        w.table.select_row(3)
        assert writer.is_alive()  # the selection did not wait for the transaction to end
        track = w.model.cached_track(w.model.track_id(3))
        assert w.similar.query_label.text() == f"{track.title} — {track.artist}"
    finally:
        release.set()
        writer.join()
    qtbot.waitUntil(lambda: w.similar_controller.target == track.id and not w.similar.pending
                    and bool(w.similar.hits), timeout=10000)
    assert track.id not in [h.track_id for h in w.similar.hits]
