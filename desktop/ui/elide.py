"""A text elided to a width only when it does not fit it.

`QFontMetrics.elidedText` shapes the whole text for its elision even when the text fits: ~50 us for a text not
seen before on the development VM, against ~4-9 us to measure it (`horizontalAdvance`), and most of the
library's cells and the Sounds-like rows fit. A new screen of rows (a scan's finds listed, a new track's
similar hits) lays out dozens of new texts in one paint of the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics


def elided(fm: QFontMetrics, text: str, width: int) -> str:
    """`text`, or Qt's right-elided version of it when it may be wider than `width` px. The advance is rounded to
    whole pixels, so only one that is smaller than the width proves the text fits; the rest go to Qt."""
    if fm.horizontalAdvance(text) < width:
        return text
    return fm.elidedText(text, Qt.ElideRight, width)
