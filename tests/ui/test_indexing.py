"""Indexing in the library thread: progress in the status bar, cancel within a second, a consistent
catalog and store afterwards, and resuming on the next start."""


from desktop.core.library import Library
from tests import audio


def _many_clips(root, n):
    for i in range(n):
        family = ("drums", "pad", "plucked")[i % 3]
        audio.write(root / family / f"{family}_{i:03d}.wav", audio.render(family, 3.0, seed=500 + i), channels=1)
    return root


def _check_consistent(home):
    with Library.open(home) as lib:
        counts = lib.catalog.counts()
        key = lib.active_key
        indexed = {t.id for t in lib.catalog.tracks(status="indexed")}
        assert counts["failed"] == 0
        assert lib.catalog.indexed_ids(key) == indexed  # every indexed row has its raw vector
        assert lib.store().ids() == indexed  # ... and its point, and no point is stale
    return counts


def test_progress_cancel_and_resume(spectral_empty_home, tmp_path, make_window, qtbot):
    music = _many_clips(tmp_path / "music", 36)
    w = make_window(spectral_empty_home)
    progress = []
    w.session.progress.connect(lambda ev, rate, eta: progress.append((ev, rate, eta)))
    done = []
    w.session.track_done.connect(done.append)
    w.library_controller.add_paths([str(music)])
    qtbot.waitUntil(lambda: len(done) >= 3, timeout=30000)
    assert w.index_status.isVisible()
    qtbot.waitUntil(lambda: ".wav" in w.index_status.text)  # shown at most every 0.1 s (the latest event)
    text = w.index_status.text
    assert "Indexing" in text and " of 36" in text and ".wav" in text
    assert "spectral · CPU" in text  # what runs the analysis, and where
    assert any(ev.stage == "index" and rate > 0 for ev, rate, _ in progress)
    with qtbot.waitSignal(w.session.similar_ready, timeout=10000) as answer:  # answered between the run's events
        w.session.request_similar(done[0].track_id, k=2)
    assert answer.args[1] and all(h.track_id != done[0].track_id for h in answer.args[1])
    with qtbot.waitSignal(w.session.idle, timeout=30000):  # how fast (< 1 s): bench/timeouts.py
        w.index_status.cancel_button.click()
    assert not w.index_status.isVisible()
    w.close()
    counts = _check_consistent(spectral_empty_home)
    assert counts["total"] == 36 and 0 < counts["indexed"] < 36 and counts["pending"] == 36 - counts["indexed"]
    # The next start resumes by itself.
    w2 = make_window(spectral_empty_home)
    qtbot.waitUntil(lambda: w2.session.busy, timeout=3000)
    qtbot.waitUntil(lambda: not w2.session.busy, timeout=60000)
    w2.close()
    assert _check_consistent(spectral_empty_home)["indexed"] == 36


def test_rescan_picks_up_new_files(indexed_home, family_dir, tmp_path, make_window, qtbot):
    w = make_window(indexed_home)
    assert w.model.rowCount() == 12
    w.session.catalog.add_folder(str(tmp_path / "extra"))
    audio.write(tmp_path / "extra" / "jazz" / "late.flac", audio.render("pad", 3.0, seed=9))
    with qtbot.waitSignal(w.session.idle, timeout=30000):
        w.rescan_action.trigger()
    assert w.model.rowCount() == 13 and w.session.catalog.counts()["indexed"] == 13


def test_a_first_scan_lists_tracks_as_it_finds_them(spectral_empty_home, tmp_path, make_window, qtbot):
    """Adding a folder to an empty library: the table replaces the first-run page with the tracks found so far
    while the scan still runs (a big folder takes minutes), not only when it ends."""
    music = _many_clips(tmp_path / "music", 60)
    w = make_window(spectral_empty_home)
    assert w.panel.stack.currentWidget() is w.panel.empty
    scanned = []
    listed = []  # (rows, the table shown, the scan over) at each new list
    w.session.scan_done.connect(scanned.append)
    w.model.reloaded.connect(lambda: listed.append((w.model.rowCount(), w.panel.stack.currentWidget() is w.table,
                                                    bool(scanned))))
    shown_at_start, order = [], []
    w.library_controller.first_scan.connect(lambda where: where and shown_at_start.append(
        (w.panel.stack.currentWidget() is w.table, w.panel.summary.text(), w.model.rowCount())))
    w.library_controller.first_scan.connect(lambda where: order.append(f"table shown: {bool(where)}"))
    w.session.job_started.connect(lambda job: order.append(f"{job.name} started"))
    w.library_controller.add_paths([str(music)])
    assert order == ["table shown: True"], "the page switch is drawn before the scan starts"
    room = w.table.viewport().width()
    qtbot.waitUntil(lambda: bool(shown_at_start), timeout=10000)
    assert shown_at_start == [(True, "Looking for music in music…", 0)], "the table at once, before any find"
    qtbot.waitUntil(lambda: bool(scanned and listed and listed[-1][2]), timeout=30000)
    assert w.panel.summary.text() == "60 tracks"
    during = [(rows, shown) for rows, shown, over in listed if not over]
    assert during and all(0 < rows < 60 and shown for rows, shown in during), listed
    assert listed[-1][:2] == (60, True)
    assert order[:3] == ["table shown: True", "add started", "table shown: False"]
    assert w.table.viewport().width() == room, "a list longer than the view narrows no column (the bar's room is kept)"
    with qtbot.waitSignal(w.session.idle, timeout=60000):
        pass
    # a library with tracks: a scan lists its finds at its end only
    more = tmp_path / "more"
    audio.write(more / "late.wav", audio.render("pad", 3.0, seed=900), channels=1)
    listed.clear()
    scanned.clear()
    w.library_controller.add_paths([str(more)])
    qtbot.waitUntil(lambda: bool(scanned and listed), timeout=30000)
    assert [rows for rows, _, over in listed] == [61] and listed[0][2]


def test_a_first_scan_cancelled_lists_what_it_found(spectral_empty_home, tmp_path, make_window, qtbot):
    """Cancel while the first scan runs: the tracks it had added stay in the library (pending) and the table
    lists all of them, not only those of its last listing."""
    music = _many_clips(tmp_path / "music", 60)
    w = make_window(spectral_empty_home)
    listed = []
    w.model.reloaded.connect(lambda: listed.append(w.model.rowCount()))
    w.library_controller.add_paths([str(music)])
    qtbot.waitUntil(lambda: bool(listed), timeout=30000)
    with qtbot.waitSignal(w.session.idle, timeout=30000):
        w.index_status.cancel_button.click()
    total = w.session.catalog.counts()["total"]
    assert total > 0
    qtbot.waitUntil(lambda: w.model.rowCount() == total and not w.model.loading, timeout=10000)
    assert w.table.isVisible()


def test_a_first_scan_that_finds_nothing_brings_the_first_run_page_back(spectral_empty_home, tmp_path, make_window,
                                                                         qtbot):
    empty = tmp_path / "not-music"
    empty.mkdir()
    (empty / "notes.txt").write_text("no audio here")
    w = make_window(spectral_empty_home)
    pages = []
    w.library_controller.first_scan.connect(lambda where: pages.append((where, w.panel.stack.currentWidget())))
    w.library_controller.add_paths([str(empty)])
    qtbot.waitUntil(lambda: len(pages) == 2, timeout=30000)
    assert pages == [("not-music", w.table), ("", w.panel.empty)]
    assert w.panel.summary.text().startswith("The library is empty")
