"""Covers in the window: now playing, the Sounds-like hits and Up next, read off the GUI thread, cached on disk."""

from __future__ import annotations

from desktop.core.covers import find_cover
from tests import audio
from tests.core.test_covers import embed, tiny_png
from tests.ui.conftest import PaintCounter, index_folder, spectral_home


def test_covers_show_in_now_playing_and_hits_and_are_cached_once_per_picture(tmp_path, make_window, qtbot):
    music = tmp_path / "music"
    for i in range(3):
        path = audio.write(music / "pads" / f"pad_{i}.flac", audio.render("pad", 4.0, 40 + i))
        embed(path, tiny_png((0, 120, 0), 32))
    for i in range(3):
        audio.write(music / "drums" / f"drums_{i}.wav", audio.render("drums", 4.0, 50 + i))
    (music / "drums" / "cover.jpg").write_bytes(tiny_png((200, 0, 0), 32))
    home = spectral_home(tmp_path / "home")
    index_folder(home, music)
    w = make_window(home)
    pad = str(music / "pads" / "pad_0.flac")
    w.play_row(w.model.row_of(w.session.catalog.by_path(pad).id))
    qtbot.waitUntil(lambda: w.transport.has_cover, timeout=10000)
    assert w.transport.cover_label.pixmap().toImage().pixelColor(20, 20).green() > 100
    qtbot.waitUntil(lambda: not w.similar.pending and len(w.similar.hits) > 0, timeout=15000)
    w.similar.list.viewport().repaint()  # painting asks for the hits' covers
    hit_paths = [h.path for h in w.similar.hits]
    qtbot.waitUntil(lambda: all(w.covers.known(p) for p in hit_paths), timeout=10000)
    assert all(w.covers.pixmap(p) is not None for p in hit_paths)  # every track here has a cover
    w.side_tabs.setCurrentWidget(w.up_next)  # Up next shows the queued tracks' covers too
    up_next = w.up_next.list
    qtbot.waitUntil(lambda: up_next.count() > 0 and all(not up_next.item(i).icon().isNull()
                                                        for i in range(up_next.count())), timeout=10000)
    thumbs = sorted(p.name for p in (home / "cache" / "covers").iterdir())
    assert len(thumbs) == 2, thumbs  # one thumbnail per picture, not per track
    assert find_cover(str(music / "drums" / "drums_1.wav")).digest in " ".join(thumbs)


def test_a_cover_arriving_repaints_its_hit_row_only(tmp_path, qtbot):
    """Covers arrive one by one from the cover thread; each repaints the row of its track, not the whole list
    (repainting every row for every cover was most of what a new list of hits cost the GUI thread)."""

    from desktop.core.similarity import SimilarHit
    from desktop.ui.covers import CoverCache
    from desktop.ui.similar_pane import SimilarPane

    paths = []
    for i in range(6):
        path = audio.write(tmp_path / "music" / f"pad_{i}.flac", audio.render("pad", 1.0, 60 + i))
        embed(path, tiny_png((0, 40 * i, 120), 32))
        paths.append(str(path))
    hits = [SimilarHit(track_id=i + 1, score=0.9 - i / 10, path=p, title=f"Pad {i}", artist="Band")
            for i, p in enumerate(paths)]
    pane = SimilarPane()
    qtbot.addWidget(pane)
    covers = CoverCache(tmp_path / "thumbs")
    pane.set_covers(covers)
    spy = PaintCounter(pane.list.viewport())  # kept: the filter goes with it
    heights = spy.heights
    pane.resize(460, 600)
    pane.show_hits(hits)
    pane.show()
    try:
        qtbot.waitUntil(lambda: all(covers.known(p) for p in paths), timeout=10000)
        row_h = pane.list.visualRect(pane.model.index(0)).height()
        qtbot.waitUntil(lambda: len(heights) > 1)  # the first paint asked for the covers; then their rows
        qtbot.wait(50)
        assert heights[0] >= len(hits) * row_h
        # covers that arrive together repaint their rows in one paint: at most a row per cover in all
        assert sum(heights[1:]) <= len(hits) * row_h and max(heights[1:]) < heights[0], (row_h, heights)
        assert all(covers.pixmap(p) is not None for p in paths)
    finally:
        covers.close()


def test_covers_asked_for_in_one_frame_are_looked_up_together_after_it(tmp_path, qtbot):
    """A new list of hits asks for a cover per visible row while it paints: the paths are looked up in one request
    on the cover thread, after that frame, not beside its paint; a file that cannot be read costs only its own
    cover, and only found covers are announced."""
    from desktop.ui.covers import CoverCache

    music = tmp_path / "music"
    with_cover = [audio.write(music / f"pad_{i}.flac", audio.render("pad", 1.0, 70 + i)) for i in range(3)]
    for i, path in enumerate(with_cover):
        embed(path, tiny_png((0, 60 * i, 90), 32))
    plain = audio.write(tmp_path / "plain" / "drums.wav", audio.render("drums", 1.0, 80))
    broken = tmp_path / "plain" / "broken.flac"
    broken.write_bytes(b"fLaC" + b"\x00" * 64)  # a FLAC header and nothing readable after it
    paths = [str(p) for p in (*with_cover, plain, broken)]
    covers = CoverCache(tmp_path / "thumbs")
    announced = []
    covers.cover_ready.connect(announced.append)
    try:
        assert all(covers.pixmap(p) is None for p in paths)  # what one paint of five rows asks
        assert not covers._in_flight  # nothing asked of the cover thread inside the paint
        qtbot.waitUntil(lambda: all(covers.known(p) for p in paths), timeout=10000)
        assert next(covers._batches) == 2  # one request carried all five
        assert sorted(announced) == sorted(paths[:3])
        assert all(covers.pixmap(p) is not None for p in paths[:3]) and covers.pixmap(paths[3]) is None
        assert covers.pixmap(paths[4]) is None
    finally:
        covers.close()
