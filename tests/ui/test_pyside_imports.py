"""PySide6's per-import check reads no source files once desktop.ui is imported (desktop/ui/pyside_imports.py)."""

import linecache
import sys
import types
import warnings

import desktop.ui  # noqa: F401 (installs the check)
from desktop.ui.pyside_imports import uses_pyside


def test_pyside_no_longer_reads_the_source_of_each_imported_module(tmp_path, monkeypatch):
    feature = sys.modules["PySide6.support.feature"]
    assert feature._mod_uses_pyside is uses_pyside
    (tmp_path / "plain_module_for_the_check.py").write_text("import json\nVALUE = json.dumps([1])\n")
    (tmp_path / "qt_module_for_the_check.py").write_text("from PySide6.QtCore import QObject\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from plain_module_for_the_check import VALUE  # noqa: F401
    from qt_module_for_the_check import QObject  # noqa: F401

    assert feature.pyside_feature_dict["plain_module_for_the_check"] == -1  # "ignore": no PySide in it
    assert feature.pyside_feature_dict["qt_module_for_the_check"] == 0  # uses PySide: the default features
    assert not any(path.startswith(str(tmp_path)) for path in linecache.cache), "no source file was read"


def test_the_check_asks_other_objects_nothing():
    """torch's deprecated attributes warn on any attribute asked of them: the check asks only modules, classes
    and functions."""

    class Touchy:
        def __getattribute__(self, name):
            warnings.warn(f"asked {name}", FutureWarning, stacklevel=2)
            return object.__getattribute__(self, name)

    module = types.ModuleType("touchy_module")
    module.touchy = Touchy()
    module.json = sys.modules["json"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert uses_pyside(module) is False
    module.qobject = sys.modules["PySide6.QtCore"].QObject
    assert uses_pyside(module) is True
