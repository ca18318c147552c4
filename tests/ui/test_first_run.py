"""First run, layout and paint: the empty-library invitation, enabled states, elision, readable contrast."""

from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel

from desktop.ui.library_model import COLUMNS, format_time
from desktop.ui.style import ACCENT
from desktop.ui.waveform_view import BACKGROUND, WaveformView


def luminance(c: QColor) -> float:
    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())


def contrast(a: QColor, b: QColor) -> float:
    """The WCAG 2 contrast ratio of two colours (1 to 21)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def foreground_contrast(widget) -> float:
    """Contrast of a widget's most contrasting pixel against its most common one (its background),
    as painted on screen (style sheet, palette and icons included)."""
    img = widget.grab().toImage()
    pixels = Counter(img.pixel(x, y) for x in range(img.width()) for y in range(img.height()))
    background = QColor.fromRgb(pixels.most_common(1)[0][0])
    return max(contrast(QColor.fromRgb(p), background) for p in pixels)


def test_empty_library_invites_to_add_music_and_play_waits(spectral_empty_home, styled_app, make_window, qtbot):
    w = make_window(spectral_empty_home)
    assert w.panel.stack.currentWidget() is w.panel.empty and not w.panel.empty.isHidden()
    assert w.panel.filter_edit.isHidden()
    assert "Add your music folder" in w.panel.empty.button.text()
    hint = w.panel.empty.findChild(QLabel, "emptyHint")
    assert hint.height() >= hint.sizeHint().height()  # every line whole (a wrapped label was cut in half)
    t = w.transport
    assert not any(b.isEnabled() for b in (t.play_button, t.prev_button, t.stop_button, t.next_button))
    # A Play button that cannot play is not painted in the accent colour (the first bright thing a new user saw)
    img = t.play_button.grab().toImage()
    accent = QColor(ACCENT).rgb() & 0xFFFFFF
    assert not any(img.pixel(x, y) & 0xFFFFFF == accent for x in range(img.width()) for y in range(img.height()))
    w.play_or_pause()  # nothing to play: nothing happens, nothing breaks
    assert w.playback.current is None


def test_music_folder_comes_from_the_desktop(tmp_path, monkeypatch):
    from desktop.ui.main_window import music_folder

    music = tmp_path / "Musik"
    music.mkdir()
    (tmp_path / "xdg-config").mkdir()
    (tmp_path / "xdg-config" / "user-dirs.dirs").write_text(f'XDG_MUSIC_DIR="{music}"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    assert music_folder() == str(music)


def test_library_with_tracks_enables_play_and_plays_the_selection(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    assert w.panel.stack.currentWidget() is w.table
    t = w.transport
    assert t.play_button.isEnabled() and not t.next_button.isEnabled()
    w.table.select_row(3)
    with qtbot.waitSignal(w.playback.current_changed, timeout=5000):  # shown on the event loop's next turn
        t.play_button.click()
    assert w.playback.current.track_id == w.model.track_id(3)
    assert all(b.isEnabled() for b in (t.prev_button, t.stop_button, t.next_button))


def test_transport_and_labels_are_readable(indexed_home, styled_app, make_window, qtbot):
    w = make_window(indexed_home)
    with qtbot.waitSignal(w.playback.current_changed, timeout=5000):  # shown on the event loop's next turn
        w.play_row(0)
    t = w.transport
    for button in (t.prev_button, t.play_button, t.stop_button, t.next_button):
        assert foreground_contrast(button) >= 3.0, button.toolTip()  # WCAG AA for graphics
    labels = [t.title_label, t.artist_label, t.elapsed_label, t.total_label, w.panel.summary,
              w.similar.query_label, w.embedder_label]
    for label in labels:
        assert foreground_contrast(label) >= 4.5, (label.objectName(), label.text())  # WCAG AA for text


def test_long_titles_are_elided_and_the_seek_bar_keeps_its_width(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    w.resize(800, 500)
    with qtbot.waitSignal(w.playback.current_changed, timeout=5000):  # shown on the event loop's next turn
        w.play_row(0)
    long_title = "An extremely long title " * 12
    w.transport.title_label.setText(long_title)
    qtbot.wait(50)
    assert w.transport.title_label.text() == long_title and w.transport.title_label.toolTip() == long_title
    assert w.transport.seek_slider.width() >= 140
    assert w.transport.title_label.width() < w.transport.fontMetrics().horizontalAdvance(long_title)
    title = [name for name, _ in COLUMNS].index("title")
    title_w = w.table.columnWidth(title)
    assert all(title_w >= w.table.columnWidth(c) for c in range(w.model.columnCount()) if c != title)


def test_status_messages_never_cover_the_progress(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    w.index_status.start("Indexing 3 of 10")
    w.statusBar().showMessage("Added 10 tracks; indexing them…", 5000)
    assert not w.index_status.isHidden() and w.index_status.label.text() == "Indexing 3 of 10"
    assert w.statusBar().currentMessage().startswith("Added 10 tracks")


def test_a_long_status_message_is_shortened_and_cleared_whole(indexed_home, make_window, qtbot):
    from PySide6.QtWidgets import QLabel

    w = make_window(indexed_home)
    w.resize(800, 500)
    bar = w.statusBar()
    long = "Added 10 tracks from /home/someone/Music/A very long folder name/and another one; indexing them…"
    bar.showMessage(long, 200)
    label = bar.message_label
    qtbot.waitUntil(lambda: QLabel.text(label).endswith("…"))
    assert bar.currentMessage() == long and label.toolTip() == long
    assert label.fontMetrics().horizontalAdvance(QLabel.text(label)) <= label.width()
    qtbot.waitUntil(lambda: bar.currentMessage() == "" and QLabel.text(label) == "")  # the timeout clears both


def test_waveform_message_is_not_struck_through(qtbot):
    view = WaveformView()
    qtbot.addWidget(view)
    view.resize(400, 72)
    view.set_message("")
    line = view.grab().toImage()
    assert any(line.pixel(x, 36) != BACKGROUND.rgb() for x in range(0, 400, 7))  # empty: the centre line
    view.set_message("No track playing")
    img = view.grab().toImage()
    assert all(img.pixel(x, 36) == BACKGROUND.rgb() for x in range(0, 60, 3))  # left of the text: no line


def test_replaygain_setting_applies_and_comes_back(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    assert w.replaygain_actions["track"].isChecked() and w.playback.player.replaygain == "track"
    tid = w.model.track_id(0)  # the catalog's values play (the clip itself has no ReplayGain tags)
    w.session.catalog._run("UPDATE tracks SET rg_track_gain=-6.02, rg_album_gain=-12.04 WHERE id=?", (tid,))
    w.play_row(0)
    assert w.playback.player.gain == pytest.approx(0.5, rel=1e-3)
    w.replaygain_actions["album"].trigger()
    assert w.playback.player.replaygain == "album" and w.replaygain_actions["album"].isChecked()
    assert w.playback.player.gain == pytest.approx(0.25, rel=1e-3)  # at once, for the playing track
    w.shutdown()
    again = make_window(indexed_home)
    assert again.playback.player.replaygain == "album" and again.replaygain_actions["album"].isChecked()


def test_at_800_by_500_the_table_fits_without_scrolling_and_hits_show_their_times(indexed_home, make_window, qtbot):
    from PySide6.QtGui import QFontMetrics

    from desktop.ui.similar_pane import detail_line

    w = make_window(indexed_home)
    w.resize(800, 500)
    w.play_row(0)
    qtbot.waitUntil(lambda: not w.similar.pending and len(w.similar.hits) > 0, timeout=15000)
    qtbot.wait(50)
    table, header = w.table, w.table.horizontalHeader()
    names = [name for name, _ in COLUMNS]
    shown = [names[c] for c in range(len(names)) if not header.isSectionHidden(c)]
    assert sum(table.columnWidth(names.index(n)) for n in shown) <= table.viewport().width()
    assert not table.horizontalScrollBar().isVisible()
    assert {"title", "artist", "duration"} <= set(shown) and len(shown) < len(names)  # the rest gave way
    title_w = table.columnWidth(names.index("title"))
    assert all(title_w >= table.columnWidth(names.index(n)) for n in shown)
    w.resize(1280, 800)
    qtbot.waitUntil(lambda: all(not header.isSectionHidden(c) for c in range(len(names))), timeout=3000)
    assert sum(table.columnWidth(c) for c in range(len(names))) <= table.viewport().width()
    hit = w.similar.hits[0]
    fm = QFontMetrics(w.similar.list.font())
    for width in (140, 200, 400):  # a narrow pane elides artist and album, never the time
        head, time = detail_line(hit, fm, width)
        assert time.endswith(format_time(hit.duration)) and fm.horizontalAdvance(head + time) <= width + 2
