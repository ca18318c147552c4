"""Transport, queue, keyboard and waveform with the real Player on a machine with no sound card."""

import numpy as np
from PySide6.QtCore import QLineF, QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QRegion
from PySide6.QtWidgets import QSlider

from desktop.ui.waveform_view import BACKGROUND, PLAYED, PLAYHEAD, UNPLAYED, WaveformView, column_image, columns


def test_waveform_paints_peaks_and_a_click_seeks(qtbot):
    view = WaveformView()
    qtbot.addWidget(view)
    view.resize(600, 80)
    t = np.linspace(0, 20 * np.pi, 1200)
    amp = 0.2 + 0.7 * np.abs(np.sin(t / 7))
    view.set_peaks(np.stack([-amp, amp], axis=1), duration=120.0)
    view.set_position(30.0)
    img = view.grab().toImage()
    bg = BACKGROUND.rgb()
    painted = sum(img.pixel(x, y) != bg for x in range(0, 600, 3) for y in range(0, 80, 2))
    assert painted > 0.2 * (200 * 40)
    # played part (left of the playhead at 1/4) is drawn in another colour than the rest
    left, right = QColor(img.pixel(60, 40)), QColor(img.pixel(500, 40))
    assert left != right
    with qtbot.waitSignal(view.seek_requested) as sig:
        qtbot.mouseClick(view, Qt.LeftButton, pos=QPoint(300, 40))
    assert abs(sig.args[0] - 60.0) < 0.5


def test_waveform_shows_the_same_picture_from_its_cache(qtbot):
    """The waveform is drawn once per size and peaks and then blitted: what it shows equals drawing every column
    directly (played part left of the playhead), and the strip repainted as the playhead moves matches a whole
    repaint at the new position."""
    w, h, duration = 600, 72, 120.0
    t = np.linspace(0, 20 * np.pi, 1500)
    amp = 0.1 + 0.8 * np.abs(np.sin(t / 5))
    peaks = np.stack([-amp * 0.7, amp], axis=1)
    view = WaveformView()
    qtbot.addWidget(view)
    view.resize(w, h)
    view.set_peaks(peaks, duration=duration)

    def drawn_directly(seconds: float) -> QImage:
        img = QImage(w, h, QImage.Format_RGB32)
        img.fill(BACKGROUND)
        p = QPainter(img)
        cols, play_x = columns(peaks.astype(np.float32), w), int(seconds / duration * w)
        if play_x:
            p.drawImage(0, 0, column_image(cols[:play_x], PLAYED, h))
        if play_x < w:
            p.drawImage(play_x, 0, column_image(cols[play_x:], UNPLAYED, h))
        p.setPen(QPen(PLAYHEAD, 2))
        p.drawLine(QLineF(play_x, 0, play_x, h))
        p.end()
        return img

    def shown() -> QImage:
        return view.grab().toImage().convertToFormat(QImage.Format_RGB32)

    for seconds in (0.0, 30.0, 77.7, duration):
        view.set_position(seconds)
        assert shown() == drawn_directly(seconds), seconds
    view.set_position(30.0)
    img = shown()
    view.set_position(31.0)  # the playhead moves 5 px: only the strip around it is repainted
    strip = QRect(145, 0, 15, h)
    p = QPainter(img)
    view.render(p, strip.topLeft(), QRegion(strip))
    p.end()
    assert img == drawn_directly(31.0)
    view.resize(400, h)  # a new size draws the picture again
    w = 400
    assert shown() == drawn_directly(31.0)


def test_waveform_columns_run_from_each_max_down_to_each_min():
    """Each pixel column is the colour from its max to its min (full scale = the height less 2 px each side)
    and the background above and below; a silent column is a dot on the centre line."""
    h = 40  # centre 20, full scale 18 px
    cols = np.array([[-0.5, 0.5], [0.0, 1.0], [-1.0, 0.0], [0.0, 0.0]], np.float32)
    img = column_image(cols, PLAYED, h)
    assert (img.width(), img.height()) == (4, h)

    def coloured(x: int) -> list[int]:
        return [y for y in range(h) if img.pixel(x, y) == PLAYED.rgb()]

    assert coloured(0) == list(range(11, 30))  # 20 - 9 .. 20 + 9
    assert coloured(1) == list(range(2, 21))  # max 1.0 reaches 2 px below the top
    assert coloured(2) == list(range(20, 39))
    assert coloured(3) == [20]
    others = {img.pixel(x, y) for x in range(4) for y in range(h)} - {PLAYED.rgb()}
    assert others == {BACKGROUND.rgb()}


def test_waveform_without_peaks_says_why(qtbot):
    view = WaveformView()
    qtbot.addWidget(view)
    view.set_message("No waveform: truncated")
    assert not view.has_peaks and view.grab().width() > 0


def test_play_pause_next_previous_with_no_audio_device(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    pb = w.playback
    assert not pb.available and w.audio_label.isVisible() and "No audio output" in w.audio_label.text()
    w.table.select_row(0)
    qtbot.keyClick(w.table, Qt.Key_Return)
    assert pb.state == "playing" and pb.current.track_id == w.model.track_id(0)
    qtbot.waitUntil(lambda: pb.position > 0.15, timeout=5000)  # the null output keeps time
    qtbot.waitUntil(lambda: w.transport.elapsed_label.text() != "" and w.transport.seek_slider.value() > 0)
    w.transport.play_button.click()
    qtbot.waitUntil(lambda: pb.state == "paused", timeout=2000)
    paused_at = pb.position
    qtbot.wait(150)
    assert pb.position == paused_at
    qtbot.keyClick(w, Qt.Key_Space)  # space toggles
    qtbot.waitUntil(lambda: pb.state == "playing", timeout=2000)
    w.transport.next_button.click()
    assert pb.current.track_id == w.model.track_id(1)
    qtbot.keyClick(w, Qt.Key_MediaNext)
    assert pb.current.track_id == w.model.track_id(2)
    qtbot.keyClick(w, Qt.Key_Left, Qt.ControlModifier)  # previous (position < 3 s: the track before)
    assert pb.current.track_id == w.model.track_id(1)
    w.transport.stop_button.click()
    qtbot.waitUntil(lambda: pb.state == "stopped", timeout=2000)
    assert pb.position == 0.0
    w.transport.seek_slider.triggerAction(QSlider.SliderSingleStepAdd)  # a click on the groove: +5 s
    assert abs(pb.position - 5.0) < 0.01


def test_a_started_track_plays_at_once_and_is_shown_on_the_next_turn(indexed_home, make_window, qtbot):
    """The click loads and plays; the views hear of the track on the event loop's next turn (the click's stall
    is split in two), and only of the last one when tracks are skipped faster than that."""
    w = make_window(indexed_home)
    pb, ids = w.playback, w.model.ids()
    shown = []
    pb.current_changed.connect(lambda now: shown.append(now.track_id))
    w.play_row(0)
    assert pb.state == "playing" and pb.current.track_id == ids[0] and shown == []
    pb.next()
    pb.next()
    qtbot.waitUntil(lambda: bool(shown), timeout=2000)
    qtbot.wait(50)
    assert shown == [ids[2]] and pb.current.track_id == ids[2]
    assert w.model.playing == ids[2] and w.transport.title_label.text() == pb.current.title


def test_end_of_track_advances_the_queue_and_the_waveform_follows(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    pb = w.playback
    w.play_row(4)
    qtbot.waitUntil(lambda: w.waveform.has_peaks, timeout=5000)
    assert w.waveform.duration > 5
    # a click on the waveform seeks the player
    qtbot.mouseClick(w.waveform, Qt.LeftButton, pos=QPoint(int(w.waveform.width() * 0.9), 30))
    qtbot.waitUntil(lambda: pb.position > 0.85 * pb.duration, timeout=2000)
    with qtbot.waitSignal(pb.current_changed, timeout=5000):
        pass  # the track ends by itself and the queue moves on
    assert pb.current.track_id == w.model.track_id(5) and pb.state == "playing"


def test_volume_keys_and_slider(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    w.transport.volume_slider.setValue(50)
    assert abs(w.playback.volume - 0.5) < 1e-6
    qtbot.keyClick(w, Qt.Key_Up, Qt.ControlModifier)
    assert abs(w.playback.volume - 0.55) < 1e-6 and w.transport.volume_slider.value() == 55


def test_a_file_outside_the_library_shows_its_name_then_its_tags(indexed_home, make_window, qtbot, tmp_path):
    from mutagen.flac import FLAC

    from tests import audio

    path = audio.write(tmp_path / "elsewhere" / "night_song.flac", audio.render("pad", 2.0, seed=9))
    f = FLAC(path)
    f["REPLAYGAIN_TRACK_GAIN"] = "-6.02 dB"
    f.save()
    w = make_window(indexed_home)
    w.playback.play_items([str(path)])
    assert w.playback.current.title == "night song"  # at once, from the name: no file read on the GUI thread
    assert w.playback.player.gain == 1.0  # its ReplayGain is not known yet either
    # The tags (no artist here: a made-up one; a ReplayGain value) arrive from the waveform thread.
    qtbot.waitUntil(lambda: w.playback.current.artist != "", timeout=30000)
    assert w.playback.current.artist_generated and w.playback.current.track_id is None
    assert abs(w.playback.player.gain - 0.5) < 1e-3
    assert w.playback.current.artist in w.windowTitle()


def test_cue_tracks_play_on_without_stopping_and_now_playing_follows(tmp_path, qtbot):
    """The real player on its null output (no sound card here) plays a single-file album's tracks as one
    stream: the now-playing track changes at each index and playback never stops in between."""
    from desktop.core.cue import track_path
    from desktop.core.track import Track
    from desktop.ui.playback_controller import NowPlaying, PlaybackController
    from tests import audio

    album = str(audio.write(tmp_path / "live.flac", audio.render("pad", 2.4, seed=3)))
    items = [track_path(album, a, b) for a, b in ((0.0, 0.8), (0.8, 1.6), (1.6, None))]
    pb = PlaybackController(lambda item: NowPlaying(item, Track(id=0, path=item, title=f"track {items.index(item) + 1}",
                                                                 artist="Band")))
    log = []
    pb.current_changed.connect(lambda now: log.append(("now", now.title)))
    pb.state_changed.connect(lambda state: log.append(("state", state)))
    pb.track_ended.connect(lambda now: log.append(("ended", now.title)))
    try:
        pb.play_items(items)
        qtbot.waitUntil(lambda: ("ended", "track 3") in log, timeout=20000)
        qtbot.waitUntil(lambda: pb.state == "stopped", timeout=5000)
    finally:
        pb.close()
    changes = [e for e in log if e[0] != "state"]
    assert changes == [("now", "track 1"), ("ended", "track 1"), ("now", "track 2"), ("ended", "track 2"),
                       ("now", "track 3"), ("ended", "track 3")]
    assert ("state", "stopped") not in log[: log.index(("now", "track 3"))]  # never stopped between tracks
    assert pb.queue.index == 2 and pb.current.title == "track 3"


def test_the_polled_position_repaints_the_seek_handle_and_playhead_only_when_they_move_a_pixel(qtbot):
    """The position is polled every 50 ms; on a 4-minute track the seek handle and the waveform's playhead move a
    pixel only every few polls, and each poll repainted them (a repaint pass of the window 20 times a second)."""
    from desktop.ui.transport import Transport
    from tests.ui.conftest import PaintCounter

    transport, view = Transport(), WaveformView()
    for widget, width in ((transport, 900), (view, 600)):
        qtbot.addWidget(widget)
        widget.resize(width, 72)
        widget.show()
        qtbot.waitExposed(widget)
    view.set_peaks(np.stack([-np.ones(600), np.ones(600)], axis=1), duration=240.0)  # 2.5 px a second
    transport.set_position(10.0, 240.0)
    view.set_position(10.0)
    qtbot.wait(50)
    handle, playhead = PaintCounter(transport.seek_slider), PaintCounter(view)
    for t in (10.002, 10.004, 10.006):  # three polls that move either by a small fraction of a pixel
        transport.set_position(t, 240.0)
        view.set_position(t)
    qtbot.wait(50)
    assert handle.paints == 0 and playhead.paints == 0
    assert transport.elapsed_label.text() == "0:10" and view.position == 10.006
    transport.set_position(12.0, 240.0)
    view.set_position(12.0)
    qtbot.waitUntil(lambda: handle.paints > 0 and playhead.paints > 0)
    assert transport.seek_slider.value() == 12000 and max(playhead.heights) == 72
    transport.set_position(12.0, 300.0)  # another length: the slider's range follows at once
    assert transport.seek_slider.maximum() == 300000
