"""The Map tab on the real window: it shows the library, a click plays a dot, a loop queues the dots in it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication


def mouse(widget, kind, pos: QPointF, button=Qt.LeftButton, buttons=Qt.LeftButton) -> None:
    global_pos = QPointF(widget.mapToGlobal(pos.toPoint()))
    QApplication.sendEvent(widget, QMouseEvent(kind, pos, global_pos, button, buttons, Qt.NoModifier))


def drag_loop(widget, points: list[QPointF]) -> None:
    mouse(widget, QEvent.MouseButtonPress, points[0])
    for p in points[1:]:
        mouse(widget, QEvent.MouseMove, p, Qt.NoButton)
    mouse(widget, QEvent.MouseButtonRelease, points[-1], Qt.LeftButton, Qt.NoButton)


def shown_map(w, qtbot):
    w.resize(1200, 760)
    w.map_controller.show_tab()  # View > Library map (Ctrl+M)
    canvas = w.map_panel.canvas
    qtbot.waitUntil(lambda: len(canvas.ids) == 12, timeout=60000)
    assert "near on the map is not always near in sound" in w.map_panel.findChild(type(w.map_panel.status),
                                                                                  "mapCaption").text()
    return canvas


def test_ctrl_m_shows_the_map_and_a_click_plays_the_dot(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    qtbot.keyClick(w.table, Qt.Key_M, Qt.ControlModifier)
    assert w.side_tabs.currentWidget() is w.map_panel
    canvas = shown_map(w, qtbot)
    assert w.map_panel.status.text().startswith("12 tracks")
    pts = canvas.screen_points()
    i = 5
    target = int(canvas.ids[i])
    mouse(canvas, QEvent.MouseButtonPress, QPointF(*pts[i]))
    mouse(canvas, QEvent.MouseButtonRelease, QPointF(*pts[i]), Qt.LeftButton, Qt.NoButton)
    qtbot.waitUntil(lambda: canvas.playing == target, timeout=5000)  # told on the event loop's next turn
    assert w.playback.current.track_id == target
    assert canvas.near == w.map_controller.map.neighbours_of(target) and canvas.near
    canvas.grab()  # paints dots, rings and legend without error
    queued = len(w.playback.queue.items)
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key_Return)  # the keyboard's way: queue the ringed nearest tracks
    assert w.playback.queue.items[queued:] == canvas.near


def test_a_loop_around_dots_queues_them(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    canvas = shown_map(w, qtbot)
    pts = canvas.screen_points()
    labels = [w.map_controller.info[int(t)][3] for t in canvas.ids]  # folder = family
    family = np.array([lab == labels[0] for lab in labels])
    centre = pts[family].mean(0)
    radius = np.sqrt(((pts[family] - centre) ** 2).sum(1)).max() + 4
    loop = [QPointF(centre[0] + radius * np.cos(a), centre[1] + radius * np.sin(a))
            for a in np.linspace(0, 2 * np.pi, 40)]
    inside = {int(t) for t, p in zip(canvas.ids, pts) if ((p - centre) ** 2).sum() < (radius - 0.5) ** 2}
    assert {int(t) for t in canvas.ids[family]} <= inside
    before = list(w.playback.queue.items)
    drag_loop(canvas, loop)
    queued = w.playback.queue.items[len(before):]
    assert set(queued) == inside and len(queued) == len(inside)
    assert w.playback.current is not None  # queueing into an idle player starts it
    assert "from the map" in w.statusBar().currentMessage()


def test_colouring_choice_recolours_by_folder(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    canvas = shown_map(w, qtbot)
    w.map_panel.colouring.setCurrentIndex(w.map_panel.colouring.findData("folder"))
    assert sorted(name for name, _n in canvas.legend) == ["drums", "pad", "plucked"]
    assert all(n == 4 for _name, n in canvas.legend)
