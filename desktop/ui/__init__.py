"""The Qt window: thin widgets over the headless core (`desktop.core` never imports Qt).

Importing it loads PySide6 and makes PySide6's per-import source check cheap (pyside_imports.py) before the
window's modules and their lazy imports load.
"""

from desktop.ui.pyside_imports import skip_source_scan

skip_source_scan()
