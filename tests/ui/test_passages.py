"""Passage search in the real window: drag-select on the waveform, passage hits, play from the passage."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QPoint, Qt

from desktop.core.indexer import scan_and_index
from desktop.core.library import Library
from desktop.core.passages import index_passages
from desktop.ui.passage_view import clamp_selection
from tests.motif import write_motif_library
from tests.ui.conftest import drop_event, spectral_home


@pytest.fixture(scope="module")
def motif_lib(tmp_path_factory):
    return write_motif_library(tmp_path_factory.mktemp("ui-motif"))


@pytest.fixture(scope="module")
def motif_template(tmp_path_factory, motif_lib):
    home = spectral_home(tmp_path_factory.mktemp("ui-passages"))
    with Library.open(home) as lib:
        list(scan_and_index(lib, [str(motif_lib.folder)]))
        list(index_passages(lib))
    return home


@pytest.fixture
def motif_home(motif_template, tmp_path):
    home = tmp_path / "library"
    shutil.copytree(motif_template, home)
    return home


def x_at(view, seconds: float) -> int:
    return int(round(seconds / view.duration * view.width()))


def drag(qtbot, view, a: float, b: float) -> None:
    qtbot.mousePress(view, Qt.LeftButton, pos=QPoint(x_at(view, a), 30))
    for t in (a + (b - a) / 3, a + 2 * (b - a) / 3, b):
        qtbot.mouseMove(view, QPoint(x_at(view, t), 30))
    qtbot.mouseRelease(view, Qt.LeftButton, pos=QPoint(x_at(view, b), 30))


def passage_hits(w):
    return [h for h in w.similar.hits if hasattr(h, "start")]


def test_select_a_stretch_find_passages_play_from_one_and_clear(motif_home, motif_lib, make_window, qtbot):
    source = list(motif_lib.truth)[1]  # the motif at 14.0 s
    others = [p for p in motif_lib.truth if p != source]
    w = make_window(motif_home)
    w.resize(1200, 760)
    tid = w.session.catalog.by_path(source).id
    w.playback.play_items([tid])
    qtbot.waitUntil(lambda: w.waveform.has_peaks, timeout=10000)
    w.playback.play_pause()  # paused: the position stays where we put it
    drag(qtbot, w.waveform, 14.0, 22.0)
    a, b = w.waveform.selection
    assert abs(a - 14.0) < 0.3 and abs(b - 22.0) < 0.3
    qtbot.waitUntil(lambda: len(passage_hits(w)) >= 4, timeout=30000)
    assert w.similar.query_label.text().startswith("passages like 0:14-0:22 of ")
    hits = passage_hits(w)
    assert {h.path for h in hits[:4]} == set(others)
    assert all(any(abs(h.start - t) <= 2.0 for t in motif_lib.truth[h.path]) for h in hits[:4])
    w.similar.grab()  # paints every row with the passage delegate (mini timeline, times)

    # double-click the second hit: its track plays from the passage
    hit = hits[1]
    lst = w.similar.list
    qtbot.waitUntil(lambda: lst.isVisible() and lst.visualRect(lst.model().index(1, 0)).isValid(), timeout=2000)
    rect = lst.visualRect(lst.model().index(1, 0))
    qtbot.mouseClick(lst.viewport(), Qt.LeftButton, pos=rect.center())  # a real double-click starts
    qtbot.mouseDClick(lst.viewport(), Qt.LeftButton, pos=rect.center())  # with a click
    qtbot.waitUntil(lambda: w.playback.current is not None and w.playback.current.track_id == hit.track_id,
                    timeout=5000)
    assert w.playback.state == "playing"
    assert abs(w.playback.position - hit.start) <= 0.5, (w.playback.position, hit.start)
    assert passage_hits(w)  # the passages stay in the pane, to try the next one

    # play the source again, select, then a click clears the selection: whole-track similarity returns
    # the track is shown (its waveform cleared, then drawn) on the event loop's next turn
    with qtbot.waitSignal(w.playback.current_changed, timeout=5000):
        w.playback.play_items([tid])
    qtbot.waitUntil(lambda: w.waveform.has_peaks, timeout=10000)
    drag(qtbot, w.waveform, 14.0, 22.0)
    qtbot.waitUntil(lambda: len(passage_hits(w)) >= 4, timeout=30000)
    qtbot.mouseClick(w.waveform, Qt.LeftButton, pos=QPoint(x_at(w.waveform, 5.0), 30))
    assert w.waveform.selection is None
    qtbot.waitUntil(lambda: not w.similar.pending and len(w.similar.hits) > 0 and not passage_hits(w), timeout=30000)
    assert not w.similar.query_label.text().startswith("passages like")


def test_shift_drop_of_a_clip_finds_passages(motif_home, motif_lib, make_window, qtbot):
    w = make_window(motif_home)
    assert not w.passages.eventFilter(w.similar, drop_event([motif_lib.clip]))  # without Shift: search by example
    # Qt does not deliver a hand-made QDropEvent through QApplication.sendEvent (no drag in progress), so
    # the event goes to the pane's event filter the way Qt's dispatch would hand it over
    assert w.passages.eventFilter(w.similar, drop_event([motif_lib.clip], Qt.ShiftModifier))
    qtbot.waitUntil(lambda: len(passage_hits(w)) >= 5, timeout=30000)
    assert {h.path for h in passage_hits(w)[:5]} == set(motif_lib.truth)
    assert w.similar.query_label.text() == "passages like 0:00-0:08 of motif.wav"
    assert w.session.catalog.counts()["total"] == 11  # searched, not added


def test_selection_is_kept_between_2_and_60_seconds():
    assert clamp_selection(10.0, 10.5, 10.0, 100.0) == (9.25, 11.25)
    assert clamp_selection(10.0, 95.0, 10.0, 100.0) == (10.0, 70.0)
    assert clamp_selection(20.0, 95.0, 95.0, 100.0) == (35.0, 95.0)
    assert clamp_selection(0.0, 1.0, 0.0, 1.5) is None


def test_the_passage_pass_follows_the_first_pass_in_the_window(spectral_empty_home, motif_lib, make_window, qtbot):
    w = make_window(spectral_empty_home)
    seen = []
    w.session.progress.connect(lambda ev, *_: seen.append((ev.stage, ev.done, ev.total, w.index_status.text)))
    finished = []
    w.session.worker.job_finished.connect(lambda job: finished.append(job.name))
    w.library_controller.add_paths([str(motif_lib.folder)])
    qtbot.waitUntil(lambda: "passages" in finished, timeout=240000)
    assert any(stage == "index" for stage, *_ in seen)
    passes = [(done, total, text) for stage, done, total, text in seen if stage == "passages"]
    assert passes[-1][:2] == (11, 11) and passes[-1][2].startswith("Passage index 11 of 11")
    with Library.open(spectral_empty_home, lock=False) as lib:
        from desktop.core.passages import status

        s = status(lib)
    assert s["tracks"] == 11 and s["pending"] == 0


def test_the_passage_pass_resumes_when_the_window_opens(motif_lib, make_window, qtbot, tmp_path):
    """A library indexed without its second pass (`index --no-passages`, or a pass cut short) gets its passage
    index when the window opens, without any new indexing job."""
    from desktop.core.passage_catalog import PassageRows

    home = spectral_home(tmp_path / "library")
    with Library.open(home) as lib:
        list(scan_and_index(lib, [str(motif_lib.folder)]))
        key = lib.active_key
        assert PassageRows(lib.catalog).counts(key)["tracks"] == 0
    w = make_window(home)
    rows = PassageRows(w.session.catalog)
    qtbot.waitUntil(lambda: rows.counts(key)["tracks"] == 11, timeout=120000)
    assert not w.session.busy  # the library stayed searchable all along
