"""A passage hit's outline of its track (desktop/ui/passage_view.mini_waveform): one bar a pixel column as loud as
the loudest second under it, the passage's columns in the hit colour over a tinted band, the rest muted."""

import numpy as np
from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QImage, QPainter

from desktop.ui.passage_view import mini_waveform
from desktop.ui.similar_pane import BAR, MUTED

BACK = QColor(20, 20, 20)


def outline(levels, start, end, length, w=100, h=14) -> QImage:
    img = QImage(w, h, QImage.Format_RGB32)
    img.fill(BACK)
    p = QPainter(img)
    mini_waveform(p, QRect(0, 0, w, h), levels, start, end, length)
    p.end()
    return img


def column(img: QImage, x: int) -> list[QColor]:
    return [QColor(img.pixel(x, y)) for y in range(img.height())]


def test_the_passage_is_in_the_hit_colour_and_the_rest_muted():
    levels = np.full(100, 0.5, np.float32)  # one level a column, half the loudest (the last)
    levels[-1] = 1.0
    img = outline(levels, 40.0, 60.0, 100.0)
    assert BAR in column(img, 50) and MUTED not in column(img, 50)
    assert MUTED in column(img, 10) and BAR not in column(img, 10)
    assert MUTED in column(img, 90) and BAR not in column(img, 90)
    assert column(img, 10)[0] == BACK  # outside the passage, above the bar: the row shows through


def test_each_bar_is_as_tall_as_the_loudest_second_under_it():
    levels = np.zeros(200, np.float32)  # two seconds a column
    levels[21] = 1.0  # column 10: full height
    levels[100] = 0.5  # column 50: half
    img = outline(levels, 0.0, 0.0, 200.0)  # a passage too short to matter: 3 px at the start

    def tall(x: int) -> int:
        return sum(c == MUTED for c in column(img, x))

    assert tall(10) == 14 and 7 <= tall(50) <= 9  # half the height, give or take the centre pixels
    assert tall(80) == 1  # silence: a dot on the centre line
