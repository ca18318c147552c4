"""The track-number column: disc.track on multi-disc albums, sorting by disc then track number."""

from PySide6.QtCore import Qt

from desktop.core.catalog import Catalog, Track
from desktop.ui.library_model import COLUMNS, LibraryModel

COL = {name: i for i, (name, _) in enumerate(COLUMNS)}


def test_track_number_column_shows_and_sorts_by_disc_then_track(tmp_path, qtbot):
    cat = Catalog(tmp_path / "c.sqlite3")
    rows = [(2, 1, 2), (1, 10, 2), (1, 2, 2), (None, None, None), (1, 1, 1)]
    for i, (disc, number, discs) in enumerate(rows):
        cat.add_track(Track(id=0, path=f"/m/Album/{i}.flac", title=f"t{i}", album="Album" if discs == 2 else "Single",
                            disc_number=disc, track_number=number, disc_total=discs))
    model = LibraryModel(cat)
    model.sort(COL["track_number"], Qt.AscendingOrder)
    shown = [model.index(r, COL["track_number"]).data() for r in range(model.rowCount())]
    assert shown == ["1", "1.02", "1.10", "2.01", ""]  # unknown numbers last
    model.sort(COL["album"], Qt.AscendingOrder)
    assert [model.index(r, COL["title"]).data() for r in range(model.rowCount())] == ["t2", "t1", "t0", "t4", "t3"]
    assert model.headerData(COL["track_number"], Qt.Horizontal) == "#"
