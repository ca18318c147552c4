"""Render icons/soundalike.svg to the PNG sizes desktops ask for (run after editing the SVG).

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/render_icons.py
"""

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

if __name__ == "__main__":
    app = QGuiApplication([])
    here = Path(__file__).parent / "icons"
    renderer = QSvgRenderer(str(here / "soundalike.svg"))
    for size in SIZES:
        img = QImage(size, size, QImage.Format_ARGB32)
        img.fill(Qt.transparent)
        painter = QPainter(img)
        painter.setRenderHint(QPainter.Antialiasing)
        renderer.render(painter)
        painter.end()
        img.save(str(here / f"soundalike-{size}.png"))
        print(f"icons/soundalike-{size}.png")
