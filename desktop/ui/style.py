"""The look: Fusion with a dark palette and a small style sheet (kept in code so bundles need no files).

The item views (the library table, the Sounds-like and Up next lists) take their colours from the palette,
not the style sheet: a style-sheet background makes a view's viewport transparent, and then every scroll
and every changed row repaints the whole view and the widgets under it instead of moving the pixels
(`item_view_look`).
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QAbstractItemView, QFrame

ACCENT = "#ff8c3c"
LIST_BACKGROUND = "#1e2026"  # the side pane's lists: the window's colour, a shade lighter than the table

STYLE_SHEET = f"""
QMainWindow, QWidget#similarPane {{ background: #1e2026; }}
QWidget#transport {{ background: #262930; border-bottom: 1px solid #15161a; }}
QLabel#nowTitle {{ font-size: 11pt; font-weight: bold; color: #f2f2f5; }}
QLabel#nowArtist {{ color: #a8acb8; }}
QLabel#timeLabel {{ color: #c8ccd6; font-family: monospace; }}
QToolButton {{ padding: 4px; border-radius: 4px; }}
QToolButton:hover {{ background: #343842; }}
QToolButton#playButton {{ background: {ACCENT}; border-radius: 14px; padding: 6px; }}
QToolButton#playButton:hover {{ background: #ffa05c; }}
QToolButton#playButton:disabled {{ background: #343842; }}
QSlider::groove:horizontal {{ height: 4px; background: #3c404a; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: #f2f2f5; width: 12px; margin: -5px 0; border-radius: 6px; }}
QLineEdit#filterBox {{ padding: 5px 8px; border: 1px solid #3a3e48; border-radius: 5px; background: #15171b; }}
QLineEdit#filterBox:focus {{ border-color: {ACCENT}; }}
QHeaderView::section {{ background: #23262d; color: #a8acb8; padding: 4px 6px; border: none;
                        border-right: 1px solid #1a1c21; border-bottom: 1px solid #15161a; }}
QComboBox QListView {{ background: #1e2026; border: none; selection-background-color: #4a3526; }}
QLabel#paneCaption {{ color: #8e929d; font-size: 8pt; letter-spacing: 2px; font-weight: bold; }}
QLabel#paneTitle {{ color: #f2f2f5; font-size: 11pt; font-weight: bold; padding-bottom: 4px; }}
QLabel#paneMessage {{ color: #a8acb8; font-size: 10pt; padding: 20px; }}
QLabel#librarySummary {{ color: #8e929d; padding: 2px; }}
QPushButton {{ padding: 5px 12px; border: 1px solid #3a3e48; border-radius: 5px; background: #2a2d35; }}
QPushButton:hover {{ border-color: {ACCENT}; }}
QPushButton:disabled {{ color: #60646e; }}
QFrame#noticeBar {{ background: #3a2f1c; border-bottom: 1px solid #5a4526; }}
QLabel#fallbackNotice {{ color: #c8ccd6; padding: 0 6px; }}
QLabel#statusMessage {{ color: #c8ccd6; padding: 0 6px; }}
QLabel#emptyTitle {{ color: #f2f2f5; font-size: 15pt; font-weight: bold; padding: 8px; }}
QLabel#emptyHint {{ color: #a8acb8; font-size: 10pt; padding: 8px; }}
QPushButton#addMusicButton {{ background: {ACCENT}; color: #1a1c21; font-size: 12pt; font-weight: bold;
                              padding: 10px 24px; border: none; border-radius: 6px; }}
QPushButton#addMusicButton:hover {{ background: #ffa05c; }}
QLabel#noAudio {{ color: #ff9a8a; padding: 0 6px; }}
QLabel#embedderLabel {{ color: #a8acb8; padding: 0 6px; }}
QStatusBar {{ background: #17181c; color: #c8ccd6; }}
QProgressBar {{ border: 1px solid #3a3e48; border-radius: 3px; background: #15171b; }}
QProgressBar::chunk {{ background: {ACCENT}; }}
QSplitter::handle {{ background: #15161a; width: 1px; }}
QLabel#settingsError {{ color: #ff8a7a; }}
"""


def dark_palette() -> QPalette:
    p = QPalette()
    colors = {
        QPalette.Window: "#1e2026", QPalette.WindowText: "#e6e6ea", QPalette.Base: "#1a1c21",
        QPalette.AlternateBase: "#1f2127", QPalette.ToolTipBase: "#2a2d35", QPalette.ToolTipText: "#f2f2f5",
        QPalette.Text: "#e6e6ea", QPalette.Button: "#2a2d35", QPalette.ButtonText: "#e6e6ea",
        QPalette.BrightText: "#ffffff", QPalette.Highlight: "#4a3526", QPalette.HighlightedText: "#ffffff",
        QPalette.Link: ACCENT, QPalette.PlaceholderText: "#8a8e99",
    }
    for role, c in colors.items():
        p.setColor(role, QColor(c))
    for role in (QPalette.Text, QPalette.ButtonText, QPalette.WindowText):
        p.setColor(QPalette.Disabled, role, QColor("#60646e"))
    return p


def item_view_look(view: QAbstractItemView, background: str | None = None) -> None:
    """No frame and, when given, another background than the palette's Base, set without the style sheet so
    the viewport stays opaque and Qt scrolls it by moving pixels."""
    view.setFrameShape(QFrame.NoFrame)
    if background:
        palette = view.palette()
        palette.setColor(QPalette.Base, QColor(background))
        view.setPalette(palette)


def apply_style(app) -> None:
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLE_SHEET)
