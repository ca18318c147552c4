"""An open library as the window sees it: the core `Library` plus the threads that work on it.

All heavy work goes to `WorkerThread`s: the *library thread* (scan, index, similar queries,
embedding dropped files: everything that touches the embedder or the vector store, so store calls
never overlap), the *waveform thread* (peaks; reads audio files only) and the *catalog thread* (the
table's id lists: a whole-library query waits for the indexer's transactions and takes 0.25-0.4 s at
100,000 tracks). The GUI thread reads only a page of rows at a time from the catalog, which is
thread-safe. Signals carry the core's own event objects.
"""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QObject, Signal

from desktop.core import store
from desktop.core.collector import settle_long_lived
from desktop.core.events import IndexSummary, Progress, ScanSummary, TrackDone
from desktop.core.library import Library
from desktop.core.similarity import similar
from desktop.core.tags import read_tags
from desktop.core.tags import warm_up as warm_up_tags
from desktop.core.waveform import peaks
from desktop.ui.jobs import Job, RateMeter, WorkerThread, error_text

log = logging.getLogger(__name__)
SIMILAR_K = 25
WAVEFORM_POINTS = 1200


def indexer():
    """The indexer module, imported when the first job starts, not before the window's first paint: it
    brings multiprocessing and the process-pool machinery (bench/startup.py)."""
    from desktop.core import indexer as module  # lazy: stays out of the window's start-up

    return module


def embedder_text(label: str, device: str = "cpu") -> str:
    """'spectral · CPU', 'wav2vec2-base · CPU bf16': the embedder's label plus the device if it lacks one."""
    if "·" not in label:
        label += f" · {str(device or 'cpu').split(':')[0].upper()}"
    return label


class LibrarySession(QObject):
    embedder_ready = Signal(str, str)  # "spectral · CPU", notice ("" or why wav2vec2 is not used)
    job_started = Signal(object)  # Job
    progress = Signal(object, float, object)  # Progress, tracks/s, seconds left (or None)
    track_done = Signal(object)  # TrackDone
    scan_done = Signal(object)  # ScanSummary
    index_done = Signal(object)  # IndexSummary
    job_error = Signal(str)
    idle = Signal()  # no job running or queued any more
    similar_ready = Signal(int, object)  # token, list[SimilarHit]
    similar_failed = Signal(int, object)  # token, exception
    peaks_ready = Signal(str, object)  # path, (points, 2) array
    peaks_failed = Signal(str, str)  # path, message
    tags_ready = Signal(str, object)  # path, dict of the track's tag fields (a file outside the library)
    ids_ready = Signal(object, object, object, object)  # (filter, order, descending), ids, {id: Track}, {id: row}
    ids_failed = Signal(str)  # why the id list could not be read
    store_checked = Signal(str)  # "" when the configured vector store answers, else why not

    def __init__(self, library: Library, parent=None):
        super().__init__(parent)
        self.library = library
        self.catalog = library.catalog
        self.rate = RateMeter()
        self._jobs: list[Job] = []
        self.worker = WorkerThread("soundalike-library", self)
        self.waves = WorkerThread("soundalike-waveform", self)
        self.reader = WorkerThread("soundalike-catalog", self)
        self.worker.job_started.connect(self._job_started)
        self.worker.job_event.connect(self._job_event)
        self.worker.job_failed.connect(self._job_failed)
        self.worker.job_finished.connect(self._job_finished)
        self.worker.request_done.connect(self._request_done)
        self.worker.request_failed.connect(self._request_failed)
        self.waves.request_done.connect(self._request_done)
        self.waves.request_failed.connect(self._request_failed)
        self.reader.request_done.connect(self._request_done)
        self.reader.request_failed.connect(self._request_failed)
        self.embedder_label = ""
        self.notice = ""
        self._text_embedder = None  # (vector space key, CLAP embedder): loaded by the first description
        self._closed = False

    @property
    def home(self):
        return self.library.settings.home

    # -- jobs -------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    @property
    def current_job(self) -> Job | None:
        return self.worker.current_job

    def add_paths(self, paths: list[str]) -> Job:
        """Add folders/files to the library and index what is missing (dropped or chosen in a dialog)."""
        roots = [os.path.abspath(p) for p in paths]
        return self._start("add", lambda cancel: indexer().scan_and_index(self.library, roots, cancel=cancel), roots)

    def rescan(self) -> Job | None:
        folders = self.catalog.folders()
        if not folders:
            return None
        return self._start("rescan", lambda cancel: indexer().scan_and_index(self.library, folders, cancel=cancel),
                           folders)

    def index_pending(self) -> Job:
        return self._start("index", lambda cancel: indexer().index(self.library, cancel=cancel))

    def index_passages(self) -> Job:
        """The passage pass (second, lower priority): it stops between tracks as soon as another job
        is queued, and the window starts it again after that job's first pass. It does not make the
        session busy (the library is searchable), and runs in the library thread, one track at a time,
        so closing the window or a new job stops it within one track (no process pool to wind down)."""
        from desktop.core.passages import index_passages  # lazy: stays out of the window's start-up

        worker = self.worker

        class GiveWay:
            def __init__(self, cancel):
                self.cancel = cancel

            def is_set(self) -> bool:
                return self.cancel.is_set() or worker.waiting_jobs > 0

        return self.worker.start_job("passages", lambda cancel: index_passages(self.library, cancel=GiveWay(cancel),
                                                                              in_process=True))

    def _start(self, name, factory, data=None) -> Job:
        job = self.worker.start_job(name, factory, data)
        self._jobs.append(job)
        return job

    def cancel(self) -> None:
        for job in self.worker.cancel_all():  # queued jobs never start: report them finished now
            self._job_finished(job, started=False)

    def _job_started(self, job: Job) -> None:
        self.rate.reset()
        self.job_started.emit(job)

    def _job_event(self, job: Job, ev) -> None:
        if self._closed:  # queued before close: its listeners would read a closed catalog
            return
        if isinstance(ev, Progress):
            if ev.stage == "index":
                self.rate.update(ev.done)
                self.progress.emit(ev, self.rate.rate, self.rate.eta(ev.done, ev.total))
            else:
                self.progress.emit(ev, 0.0, None)
        elif isinstance(ev, TrackDone):
            self.track_done.emit(ev)
        elif isinstance(ev, ScanSummary):
            self.scan_done.emit(ev)
        elif isinstance(ev, IndexSummary):
            if ev.embedder:  # the label of the embedder that ran (feature embedders run on the CPU)
                self._emit_embedder(embedder_text(ev.embedder), ev.notice)
            self.index_done.emit(ev)

    def _job_failed(self, job: Job, message: str) -> None:
        if not self._closed:
            self.job_error.emit(message)

    def _job_finished(self, job: Job, started: bool = True) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
        if not self._jobs and not self._closed:
            self.idle.emit()

    # -- requests (latest wins) -------------------------------------------------------------------
    def load_embedder(self) -> None:
        """Build the embedder in the library thread (wav2vec2 imports torch: seconds) and report it. The
        indexer's modules are imported here too, while the window sits idle after its first paint: imported
        when the first folder is added, they held the GIL for 60-170 ms of the first run (bench/ui_stall.py).
        So are the tag readers' (faker, mutagen's formats: ~0.15 s)."""
        def build():
            indexer()
            warm_up_tags()
            emb = self.library.embedder
            return embedder_text(emb.label, getattr(emb, "device", "cpu")), self.library.notice

        self.worker.request("embedder", build)

    def _emit_embedder(self, label: str, notice: str) -> None:
        if (label, notice) != (self.embedder_label, self.notice):
            self.embedder_label, self.notice = label, notice
            self.embedder_ready.emit(label, notice)

    def request_similar(self, target: int | str, k: int = SIMILAR_K) -> int:
        """Tracks like a library track (id) or a file (path; embedded, not added). Returns a token."""
        return self.worker.request("similar", lambda: similar(self.library, target, k))

    def request_text(self, text: str, k: int = SIMILAR_K) -> int:
        """Tracks by description in the library's CLAP space; answers like a similar query (same kind:
        the newest of the two wins). The CLAP text tower stays loaded for the next description."""
        from desktop.core.text_search import search_text, text_embedder  # lazy: stays out of the window's start-up

        def run():
            key = self.library.active_key
            if self._text_embedder is None or self._text_embedder[0] != key:
                self._close_text_embedder()
                self._text_embedder = (key, text_embedder(self.library))
            return search_text(self.library, text, k, embedder=self._text_embedder[1])

        return self.worker.request("similar", run)

    def _close_text_embedder(self) -> None:
        if self._text_embedder is not None:
            self._text_embedder[1].close()
            self._text_embedder = None

    def cancel_similar(self) -> None:
        self.worker.forget("similar")

    def request_peaks(self, path: str) -> int:
        cache = str(self.home / "cache" / "waveforms")
        return self.waves.request("peaks", lambda: (path, peaks(path, points=WAVEFORM_POINTS, cache_dir=cache)))

    def request_tags(self, path: str) -> int:
        """A file's tags, read in the waveform thread (it only reads files; the library thread may be busy)."""
        return self.waves.request("tags", lambda: (path, read_tags(path)))

    def request_ids(self, key: tuple[str, str, bool], show: tuple[int, ...] = (), page: int = 256) -> int:
        """The table's id list for key = (filter text, order, descending), read in the catalog thread, with
        the rows of its first page and of the pages holding the `show` tracks (the selected one), so the
        table is painted without reading the catalog. Answers with ids_ready (or ids_failed)."""
        catalog = self.catalog

        def read():
            text, order, descending = key
            ids = catalog.track_ids(text=text, order=order, descending=descending)
            where = {tid: row for row, tid in enumerate(ids)}  # built here too: 100,000 entries
            pages = {0} | {where[t] // page for t in show if t in where}
            wanted = [t for p in sorted(pages) for t in ids[p * page : (p + 1) * page]]
            return key, ids, catalog.many(wanted), where

        return self.reader.request("ids", read)

    def check_store(self) -> int:
        """Whether the configured vector store answers (a network probe), in the library thread."""
        settings = self.library.settings
        return self.worker.request("store", lambda: store.probe(settings))

    def _request_done(self, kind: str, token: int, result) -> None:
        if self._closed:  # an answer queued before close (the window may have moved on to a reopened library)
            return
        if kind == "embedder":
            settle_long_lived()  # the indexer's modules and the embedder last too (desktop.core.collector)
            self._emit_embedder(*result)
        elif kind == "similar":
            if self.worker.is_latest(kind, token):
                self.similar_ready.emit(token, result)
        elif kind == "peaks":
            if self.waves.is_latest(kind, token):
                self.peaks_ready.emit(*result)
        elif kind == "tags":
            if self.waves.is_latest(kind, token):
                self.tags_ready.emit(*result)
        elif kind == "store":
            self.store_checked.emit("")
        elif kind == "ids":
            if self.reader.is_latest(kind, token):
                self.ids_ready.emit(*result)

    def _request_failed(self, kind: str, token: int, exc) -> None:
        if self._closed:
            return
        if kind == "embedder":
            self._emit_embedder("no embedder", f"cannot load the embedder: {error_text(exc)}")
            self.job_error.emit(f"cannot load the embedder: {error_text(exc)}")
        elif kind == "similar":
            if self.worker.is_latest(kind, token):
                self.similar_failed.emit(token, exc)
        elif kind == "peaks":
            if self.waves.is_latest(kind, token):
                self.peaks_failed.emit("", error_text(exc))
        elif kind == "store":
            self.store_checked.emit(str(exc))
        elif kind == "ids":
            if self.reader.is_latest(kind, token):
                self.ids_failed.emit(f"cannot list the library's tracks: {error_text(exc)}")

    # -- shutdown -----------------------------------------------------------------------------------
    def close(self, timeout_s: float = 10.0) -> None:
        """Cancel jobs (they finish their current track and write their summary), stop the threads,
        close the library (releases the lock)."""
        if self._closed:
            return
        self._closed = True
        self.worker.cancel_all()
        stopped = self.worker.stop(timeout_s)
        self.waves.stop(timeout_s)
        self.reader.stop(timeout_s)
        if stopped:
            self._close_text_embedder()
            self.library.close()
        else:  # the thread still uses the library; the process exit releases the lock
            log.warning("library thread still busy at shutdown; leaving the library to the process exit")
