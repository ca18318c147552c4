"""PySide6 reads the whole source file of every module imported after it; this makes that check cheap.

PySide6's `__feature__` support (snake_case, true_property) records for each newly imported module whether it
uses PySide6, and finds out by `inspect.getsource(module)` and a search for the string "PySide6": every module
imported after PySide6 (numpy's, mutagen's, faker's, the core's lazy imports) is read whole and split into lines,
while its importing thread holds the GIL. In the window that cost 56 ms of the library thread's imports during
the first index run (13 ms for one of faker's data modules) and 88 ms of the GUI thread's (bench/startup.py,
bench/ui_stall.py); the lines also stay in `linecache` for good. Soundalike never selects a PySide feature, so
whether a module counts as using PySide changes nothing here; the check below looks at the module's globals
(a PySide6 module, class or function among them) instead of its source.
"""

from __future__ import annotations

import sys
import types

_FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType)


def uses_pyside(module: types.ModuleType) -> bool:
    """Whether a module holds PySide6 modules, classes or functions among its globals. Other objects are not asked
    anything (torch's deprecated attributes warn on any question), and types are compared with `type()`, which asks
    the object nothing either."""
    try:
        for value in list(vars(module).values()):
            kind = type(value)
            if issubclass(kind, types.ModuleType):
                name = value.__name__
            elif issubclass(kind, type) or kind in _FUNCTIONS:
                name = value.__module__
            else:
                continue
            if isinstance(name, str) and name.startswith("PySide6"):
                return True
    except Exception:  # an odd module object: PySide's own check gives up the same way
        return False
    return False


def skip_source_scan() -> bool:
    """Replace PySide6's source search with `uses_pyside`; False (and nothing changed) where this PySide6 has no
    such check."""
    import PySide6.QtCore  # noqa: F401 (loads PySide6's support modules, the feature module among them)

    feature = sys.modules.get("PySide6.support.feature")
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    feature._mod_uses_pyside = uses_pyside
    return True
