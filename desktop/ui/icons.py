"""Transport icons drawn in code, in the palette's light text colour.

The style's standard media icons are dark grey: on the dark transport bar they read as disabled
(contrast about 1.5:1). These are drawn in the foreground colour, so each button's icon has the
contrast WCAG asks of graphics (3:1; measured in tests/ui/test_first_run.py), and bundles need no files.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPixmap

FOREGROUND = QColor("#eceef2")
ON_ACCENT = QColor("#1a1c21")  # the play button sits on the orange accent: dark reads best there
DISABLED = QColor("#70747e")


def _triangle(p: QPainter, x0: float, x1: float, top: float, bottom: float) -> None:
    """A triangle pointing from x0 toward x1."""
    path = QPainterPath(QPointF(x0, top))
    path.lineTo(QPointF(x1, (top + bottom) / 2))
    path.lineTo(QPointF(x0, bottom))
    path.closeSubpath()
    p.drawPath(path)


def _draw(kind: str, p: QPainter, s: float) -> None:
    m = s * 0.2
    if kind == "play":
        _triangle(p, m * 1.3, s - m, m, s - m)
    elif kind == "pause":
        w = s * 0.2
        p.drawRect(QRectF(m, m, w, s - 2 * m))
        p.drawRect(QRectF(s - m - w, m, w, s - 2 * m))
    elif kind == "stop":
        p.drawRect(QRectF(m * 1.2, m * 1.2, s - 2.4 * m, s - 2.4 * m))
    elif kind in ("previous", "next"):
        bar = s * 0.12
        if kind == "next":
            _triangle(p, m, s - m - bar, m, s - m)
            p.drawRect(QRectF(s - m - bar, m, bar, s - 2 * m))
        else:
            _triangle(p, s - m, m + bar, m, s - m)
            p.drawRect(QRectF(m, m, bar, s - 2 * m))
    else:
        raise ValueError(f"no icon named {kind!r}")


def _pixmap(kind: str, colour: QColor, size: int) -> QPixmap:
    pm = QPixmap(size * 2, size * 2)
    pm.setDevicePixelRatio(2.0)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(Qt.NoPen)
    p.setBrush(colour)
    _draw(kind, p, float(size))
    p.end()
    return pm


def transport_icon(kind: str, colour: QColor = FOREGROUND, size: int = 20) -> QIcon:
    """play, pause, stop, previous or next, in `colour` (and a dimmer one when disabled)."""
    icon = QIcon()
    icon.addPixmap(_pixmap(kind, colour, size), QIcon.Normal)
    icon.addPixmap(_pixmap(kind, DISABLED, size), QIcon.Disabled)
    return icon
