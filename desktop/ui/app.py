"""`soundalike` with no sub-command: the QApplication and the main window.

Startup is kept short: only Qt, numpy and the catalog are imported before the window is shown; the
embedder (torch/transformers for wav2vec2) is built afterwards in the library thread. That is why this
module imports inside its functions: a second instance hands its files to the open window and exits
before the window's modules load. A library held
by another Soundalike gets a clear message box and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)


def create_app():
    """The QApplication (reused if one exists, e.g. under pytest-qt), styled."""
    from PySide6.QtWidgets import QApplication

    from desktop.ui.style import apply_style

    app = QApplication.instance()
    if app is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") and sys.platform.startswith("linux"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no screen: run headless, don't abort
        app = QApplication(sys.argv[:1])
        app.setApplicationName("Soundalike")
        app.setOrganizationName("Soundalike")
        app.setDesktopFileName("soundalike")
        apply_style(app)
        app.setWindowIcon(app_icon())
    return app


def app_icon():
    """The Soundalike icon from resources/icons (all sizes), or an empty icon if it is not there."""
    from PySide6.QtGui import QIcon

    from desktop.integration import resources_dir

    icon = QIcon()
    folder = resources_dir() / "icons"
    for png in sorted(folder.glob("soundalike-*.png")):
        icon.addFile(str(png))
    return icon


def ask_embedded_instead(message: str) -> bool:
    """The window's question when the configured Qdrant server does not answer (probed in the library
    thread): True uses the embedded store for this session, False quits."""
    from PySide6.QtWidgets import QMessageBox

    answer = QMessageBox.question(
        None, "Qdrant server unreachable",
        f"{message}.\n\nUse the embedded store in the library folder for this session instead? "
        "(Settings… changes the server for good.)",
        QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
    return answer == QMessageBox.Yes


def open_window(home=None, files=(), player=None, start: bool = True, ask_store=ask_embedded_instead, **overrides):
    """Open the library and show its window; `start` resumes indexing etc. once the window is up.

    Raises the core's SoundalikeError (LibraryInUse, CatalogError, ...) if the library cannot be opened.
    """
    from PySide6.QtCore import QTimer

    from desktop.core.blas_threads import one_blas_thread
    from desktop.core.collector import settle_long_lived
    from desktop.core.library import Library
    from desktop.core.thread_priority import hand_gil_over_quickly
    from desktop.ui.main_window import MainWindow

    one_blas_thread()  # OpenBLAS's spinning threads took both cores from the GUI thread
    hand_gil_over_quickly()  # the GUI thread's returns from Qt wait less for background Python
    library = Library.open(home, store_in_child=True, **overrides)  # Edge holds the GIL: not in this process
    try:
        window = MainWindow(library, player=player, ask_store=ask_store)
    except Exception:
        library.close()
        raise
    window.show()
    settle_long_lived()  # a full garbage collection over the start-up's objects held the GIL for 60-110 ms
    if start:
        QTimer.singleShot(0, lambda: window.start(list(files)))
    return window


def main(files=(), home=None) -> int:
    app = create_app()
    from PySide6.QtWidgets import QMessageBox

    from desktop.core.config import resolve_home
    from desktop.core.errors import LibraryInUse, SoundalikeError
    from desktop.ui.single_instance import SingleInstance

    home = resolve_home(home)  # once: the single-instance check and the library use the same folder
    instance = SingleInstance(home)
    if instance.hand_over(files):  # a window for this library is open: it takes the files
        print("soundalike: the Soundalike window for this library is already open; "
              + (f"handed it {len(files)} file(s)" if files else "brought it to the front"), file=sys.stderr)
        return 0
    try:
        window = open_window(home, files)
    except LibraryInUse as e:
        QMessageBox.critical(None, "Soundalike is already running",
                             f"{e}.\n\nClose the other Soundalike window (or wait for the command to finish) "
                             "and try again.")
        return 1
    except SoundalikeError as e:
        QMessageBox.critical(None, "Soundalike cannot open the library", str(e))
        return 1
    instance.listen()
    instance.files_received.connect(lambda paths: bring_to_front(window, paths))
    from desktop.ui.mpris import start_mpris

    mpris = start_mpris(window)  # desktop media controls (Linux with a session bus; otherwise off)
    rc = app.exec()
    if mpris is not None:
        mpris.unregister()
    instance.close()
    window.shutdown()
    return rc or window.exit_code


def bring_to_front(window, paths: list[str]) -> None:
    """A second launch: show this window and open what it was given."""
    window.showNormal()
    window.raise_()
    window.activateWindow()
    if paths:
        window.open_files(paths)
