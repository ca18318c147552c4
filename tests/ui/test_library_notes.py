"""A damaged file's note is visible in the library table (status column text and tooltip)."""

import numpy as np
from PySide6.QtCore import Qt

from desktop.core.catalog import Catalog, Track
from desktop.ui.library_model import COLUMNS, LibraryModel

COL = {name: i for i, (name, _) in enumerate(COLUMNS)}


def test_damaged_note_shows_in_the_status_column(tmp_path, qtbot):
    cat = Catalog(tmp_path / "c.sqlite3")
    tid = cat.add_track(Track(id=0, path="/m/a.mp3", title="a"))
    cat.set_indexed(tid, "spectral-x", np.ones(4, np.float32), note="damaged: plays 0:17 of 3:37")
    model = LibraryModel(cat)
    ix = model.index(0, COL["status"])
    assert ix.data() == "✓ damaged"
    assert ix.data(Qt.ToolTipRole) == "Indexed; damaged: plays 0:17 of 3:37"
