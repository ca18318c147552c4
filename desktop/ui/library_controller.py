"""What happens to the library from the window: drops and added files, and the indexer's news.

A drop adds folders and audio files to the library, or (on the similar pane, or with Ctrl/Alt held)
searches by the dropped file without adding it. Anything unusable is listed, by name and reason, in
the non-modal notice bar. Index results reach the table in batches (`DIRTY_FLUSH_MS`) so a fast
indexer never floods the GUI thread. While the first scan of an empty library runs, the table shows at once
(`first_scan`) and lists what it has found so far (`SCAN_LIST_EVERY_S`), instead of the first-run page saying the
library is empty until the scan's end (in catalog
order the new tracks come last: the selected row and the scroll position stay where they are).
"""

from __future__ import annotations

import os
import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from desktop.core.formats import is_audio_path, is_cue_path
from desktop.core.paths import path_problem, shown
from desktop.ui.frame_budget import after_this_frame
from desktop.ui.library_model import PAGE_SIZE

DIRTY_FLUSH_MS = 100
SCAN_LIST_EVERY_S = 1.0  # a first scan's finds are listed at once, then at most this often (a whole id list each)
INDEX_PROBLEMS = "Some files could not be indexed"
DROP_PROBLEMS = "Some dropped items were not used"


def drop_problem(path: str, by_example: bool) -> str:
    """Why a dropped path cannot be used ('' when it can)."""
    problem = path_problem(path)  # absent, or a device or pipe (a link to /dev/zero is not "empty")
    if problem:
        return problem
    if os.path.isdir(path):
        return "a folder cannot be searched by example; drop one audio file" if by_example else ""
    if not is_audio_path(path) and not (is_cue_path(path) and not by_example):
        ext = os.path.splitext(path)[1] or "no extension"
        return f"not a supported audio file ({ext})"
    if os.path.getsize(path) == 0:
        return "the file is empty"
    return ""


def _names(paths) -> str:
    """'Music, Downloads, Podcasts …': what is being added (the status bar), where a first scan looks (the table)."""
    names = ", ".join(os.path.basename(str(p).rstrip(os.sep)) or str(p) for p in paths[:3])
    return (names + (" …" if len(paths) > 3 else "")) or "your folders"


class LibraryController(QObject):
    first_scan = Signal(str)  # a scan of the empty library started (the folders' names) or ended ('')

    def __init__(self, model, index_status, notices, similar, show_message, parent=None):
        super().__init__(parent)
        self.model = model  # LibraryModel
        self.index_status = index_status  # IndexStatus
        self.notices = notices  # NoticeBar
        self.similar = similar  # SimilarController: a search by example
        self.show_message = show_message  # (text, ms): the status bar
        self.session = None
        self._dirty: list = []  # TrackDone events not yet shown in the table
        self._dirty_timer = QTimer(self)
        self._dirty_timer.setSingleShot(True)
        self._dirty_timer.setInterval(DIRTY_FLUSH_MS)
        self._dirty_timer.timeout.connect(self._flush_dirty)
        self._first_scan = False  # a scan of an empty library is running: list its finds as they come
        self._listed = (0, 0.0)  # (tracks found, monotonic time) at the last such listing
        self._scan_announced = False  # the table shows while a first scan runs (first_scan was emitted)

    def bind_session(self, session) -> None:
        self.session = session
        self.model.set_catalog(session.catalog, loader=self._load_ids)
        session.ids_ready.connect(self.model.ids_loaded)
        session.ids_failed.connect(self._ids_failed)
        self.index_status.finish()
        session.job_started.connect(self.on_job_started)
        session.progress.connect(self.index_status.show_progress)
        session.progress.connect(self.on_progress)
        session.track_done.connect(self.on_track_done)
        session.scan_done.connect(self.on_scan_done)
        session.index_done.connect(self.on_index_done)
        session.job_error.connect(lambda msg: self.notices.add("Something went wrong", [msg]))
        session.idle.connect(self.on_idle)

    def cancel(self) -> None:
        self.session.cancel()

    def _load_ids(self, key) -> None:
        """The table's id list, read in the catalog thread with the rows it shows first (the top, the
        selected track), so a new list costs the GUI thread no SQL."""
        selected = self.similar.selected_id
        self.session.request_ids(key, (selected,) if isinstance(selected, int) else (), PAGE_SIZE)

    def _ids_failed(self, why: str) -> None:
        self.model.load_failed()
        self.notices.add("Something went wrong", [why])

    def rescan(self) -> None:
        if self.session.rescan() is None:
            self.show_message("No folders in the library yet: use File → Add folder…", 5000)

    # -- drops -----------------------------------------------------------------------------------
    def handle_drop(self, paths: list[str], modifiers, target: str) -> None:
        mods = Qt.KeyboardModifier(modifiers) if not isinstance(modifiers, Qt.KeyboardModifier) else modifiers
        by_example = target == "similar" or bool(mods & (Qt.ControlModifier | Qt.AltModifier))
        usable, problems = [], []
        for p in paths:
            why = drop_problem(p, by_example)
            if why:
                problems.append(f"{os.path.basename(p.rstrip(os.sep)) or p}: {why}")
            else:
                usable.append(os.path.abspath(p))
        if by_example and len(usable) > 1:
            problems += [f"{os.path.basename(p)}: only one file at a time can be searched by" for p in usable[1:]]
            usable = usable[:1]
        if problems:
            self.notices.add(DROP_PROBLEMS, problems)
        if not usable:
            return
        if by_example:
            self.similar.show(usable[0], force=True)
        else:
            self.add_paths(usable)

    def add_paths(self, paths: list[str]) -> None:
        """Add folders and files. Into an empty library the table shows first and the scan starts after the
        window has drawn it (`after_this_frame`): the page switch (~20 ms of the GUI thread) then
        competes neither with the scan's start (its imports hold the GIL) nor with its tag reading."""
        if self._empty_library() and not self.model.loading:
            self._announce_first_scan(_names(paths))
            after_this_frame(self, lambda: self.session.add_paths(paths))
        else:
            self.session.add_paths(paths)
        self.show_message(f"Adding {_names(paths)}", 4000)

    def _empty_library(self) -> bool:
        """No track listed and no filter: the first-run page shows (or would), and a scan is a first scan."""
        return self.model.rowCount() == 0 and not self.model.filter_text

    # -- job results -----------------------------------------------------------------------------
    def on_job_started(self, job) -> None:
        scanning = job.name in ("add", "rescan")
        self.index_status.start("Scanning…" if scanning else "Indexing…")
        self._first_scan = scanning and self._empty_library()
        self._listed = (0, 0.0)
        if self._first_scan:
            self._announce_first_scan(_names(job.data or []))

    def _announce_first_scan(self, where: str) -> None:
        """The table shows, saying where the scan looks ('' : the first scan ended); once per scan."""
        if bool(where) != self._scan_announced:
            self._scan_announced = bool(where)
            self.first_scan.emit(where)

    def on_progress(self, ev, _rate=0.0, _eta=None) -> None:
        """A first scan's progress: list the tracks found so far (the first at once), unless a list is being read."""
        if not self._first_scan or ev.stage != "scan" or ev.added <= self._listed[0] or self.model.loading:
            return
        now = time.monotonic()
        if self._listed[0] and now - self._listed[1] < SCAN_LIST_EVERY_S:
            return
        self._listed = (ev.added, now)
        self.model.reload()

    def on_track_done(self, ev) -> None:
        self._dirty.append(ev)
        if not self._dirty_timer.isActive():
            self._dirty_timer.start()
        if ev.error:  # a failure, or a note on an indexed file ("damaged: plays 0:17 of 3:37")
            self.notices.add(INDEX_PROBLEMS, [f"{os.path.basename(ev.path)}: {ev.error}"])

    def _flush_dirty(self) -> None:
        results, self._dirty = self._dirty, []
        self.model.apply_results(results)

    def on_scan_done(self, summary) -> None:
        if self._first_scan:
            self._first_scan = False
            self._announce_first_scan("")
        if summary.added or summary.changed or summary.missing or summary.moved or summary.returned:
            self.model.reload()
        if summary.problems:
            self.notices.add("Some items could not be added", [f"{shown(p)}: {why}" for p, why in summary.problems])
        if summary.unavailable:  # an unplugged drive or unmounted share: its tracks are kept as they were
            self.notices.add("Folders unavailable, nothing in them changed",
                             [f"{shown(r)}: absent, empty or every file gone (an unplugged drive?)"
                              for r in summary.unavailable])
        if summary.missing:
            self.show_message(f"{len(summary.missing)} files are gone: kept with their analysis, hidden until "
                              "they are back (`soundalike prune` drops them)", 8000)
        if summary.added:
            self.show_message(f"Added {len(summary.added)} tracks; indexing them…", 5000)

    def on_index_done(self, summary) -> None:
        self._flush_dirty()
        if summary.switched:  # a new model's space took over: tracks it failed on show as failed now
            self.model.reload()
        if summary.cancelled:
            self.show_message(f"Indexing cancelled after {summary.indexed} tracks; "
                              "the rest is indexed next time", 8000)
        elif summary.indexed or summary.failed:
            self.show_message(f"Indexed {summary.indexed} tracks in {summary.seconds:.1f} s"
                              + (f", {len(summary.failed)} failed" if summary.failed else ""), 8000)

    def on_idle(self) -> None:
        self.index_status.finish()
        self._flush_dirty()
        if self._first_scan:  # cancelled before its end: list every track it had found
            self._first_scan = False
            self._announce_first_scan("")
            self.model.reload()
