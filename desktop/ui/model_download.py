"""Getting a neural model from the window: a status-bar download with progress and Cancel, and the
first-run offer ("Better matches with a neural model — download 377.5 MB?", its size from the hub).

The download is `desktop.core.models.pull` (resumable, checksummed, a 3 s probe before anything else)
run as a job of its *own* worker thread: the library thread stays free for similar queries and indexing
while hundreds of MB arrive, and the GUI thread only draws progress events. Cancel sets the job's event;
the partial file stays in the hub cache and the next download continues from it. When a download
completes, the window switches the library to the model and indexes with it in the background.
"""

from __future__ import annotations

import os
from dataclasses import replace

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from desktop.core.model_cache import is_cached, is_hub_id
from desktop.core.models import DownloadProgress, PullDone, download_size, pull
from desktop.ui.jobs import Job, WorkerThread, format_eta
from desktop.ui.status import ProgressItem

OFFER_KEY = "model_offer_answered"  # window.ini: the first-run choice is shown once


def needs_download(model: str) -> bool:
    """True when `model` is a hub id that is not complete in the hub cache (a folder never needs one)."""
    model = (model or "").strip()
    return bool(model) and not os.path.isdir(os.path.expanduser(model)) and is_hub_id(model) \
        and not is_cached(model)


def format_bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def progress_text(ev: DownloadProgress) -> str:
    """'Downloading facebook/wav2vec2-base · 120.0 MB of 360.0 MB · 8.1 MB/s · 30 s left'."""
    parts = [f"Downloading {ev.model}", f"{format_bytes(ev.done)} of {format_bytes(ev.total)}"]
    if ev.speed > 0:
        parts.append(f"{format_bytes(ev.speed)}/s")
    if ev.eta is not None:
        parts.append(format_eta(ev.eta))
    return "  ·  ".join(parts)


def sentence(message: str) -> str:
    """A core error as one plain sentence for the status bar (a file or model name first keeps its case)."""
    message = message.strip().rstrip(".")
    first = message.split(" ", 1)[0]
    if any(c in first for c in "./_'`"):
        return message + "." if message else ""
    return (message[:1].upper() + message[1:] + ".") if message else ""


class DownloadStatus(ProgressItem):
    """The status-bar item: 'Downloading … [====    ] [Cancel]'; hidden when no download runs."""

    CANCELLING = "Cancelling the download…"

    def __init__(self, parent=None):
        super().__init__("download", "Stop the download (what arrived is kept: downloading again continues it)",
                         140, parent)

    def start(self, model: str) -> None:
        self._begin(f"Connecting to the model hub for {model}…")

    def show_progress(self, ev: DownloadProgress) -> None:
        if not self.cancel_button.isEnabled():
            return
        self.label.setText(progress_text(ev))
        self.label.setToolTip(ev.file)
        self.set_bar(int(ev.fraction * 1000), 1000)


class ModelDownloader(QObject):
    """One download at a time, in its own thread; results come back as signals in the GUI thread."""

    downloaded = Signal(str)  # model
    failed = Signal(str)  # one sentence
    cancelled = Signal(str)  # one sentence

    def __init__(self, view: DownloadStatus, parent=None):
        super().__init__(parent)
        self.view = view
        self.worker = WorkerThread("soundalike-download", self)
        self.worker.job_event.connect(self._event)
        self.worker.job_failed.connect(self._failed)
        self.worker.job_finished.connect(self._finished)
        view.cancel_clicked.connect(self.cancel)
        self.job: Job | None = None
        self._done: PullDone | None = None
        self._error = ""
        self._closed = False

    @property
    def busy(self) -> bool:
        return self.job is not None

    def start(self, model: str) -> Job:
        """Download `model` (a hub id) into the hub cache; a download already running is returned instead."""
        if self.job is not None:
            return self.job

        self._done, self._error = None, ""
        self.view.start(model)
        self.job = self.worker.start_job("download", lambda cancel: pull(model, cancel=cancel), data=model)
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _event(self, job: Job, ev) -> None:
        if isinstance(ev, DownloadProgress):
            self.view.show_progress(ev)
        elif isinstance(ev, PullDone):
            self._done = ev

    def _failed(self, job: Job, message: str) -> None:
        self._error = message

    def _finished(self, job: Job) -> None:
        if job is not self.job or self._closed:  # a download ending as the window closes changes nothing
            return
        self.job = None
        self.view.setVisible(False)
        if job.cancelled:
            self.cancelled.emit(f"Download of {job.data} cancelled; downloading it again continues where it stopped.")
        elif self._done is not None:
            self.downloaded.emit(job.data)
        else:
            self.failed.emit(sentence(self._error) or f"The download of {job.data} stopped.")

    def close(self, timeout_s: float = 10.0) -> None:
        self._closed = True
        self.worker.stop(timeout_s)


class ModelOffer(QFrame):
    """The first-run choice, a strip above the library (never a modal dialog). It names the download's size
    once the hub has said it (`set_size`, asked off the GUI thread); without an answer it names none."""

    download_clicked = Signal()
    builtin_clicked = Signal()

    def __init__(self, model: str, parent=None):
        super().__init__(parent)
        self.setObjectName("modelOffer")
        self.model = model
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setToolTip(f"{model}, from {os.environ.get('HF_ENDPOINT') or 'huggingface.co'}; "
                              "the built-in analysis works offline and stays in use until it is downloaded")
        self.download_button = QPushButton()
        self.download_button.setObjectName("offerDownload")
        self.builtin_button = QPushButton("Use the built-in analysis")
        self.builtin_button.setObjectName("offerBuiltin")
        self.download_button.clicked.connect(self.download_clicked)
        self.builtin_button.clicked.connect(self.builtin_clicked)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.download_button, 0, Qt.AlignVCenter)
        lay.addWidget(self.builtin_button, 0, Qt.AlignVCenter)
        self.set_size(None)

    def set_size(self, size: int | None) -> None:
        what = format_bytes(size) if size else ""
        self.label.setText(f"Better matches with a neural model — download {what or self.model}?")
        self.download_button.setText(f"Download ({what})" if what else "Download")


class ModelControl(QObject):
    """The window's side: the status-bar download, the first-run offer, switching the library to the model."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.view = DownloadStatus()
        window.statusBar().insertWidget(1, self.view, 1)
        self.downloader = ModelDownloader(self.view, self)
        self.downloader.downloaded.connect(self._downloaded)
        self.downloader.worker.request_done.connect(self._size_known)  # the offer's size, asked off the GUI thread
        self.downloader.failed.connect(lambda msg: window.statusBar().showMessage(msg))
        self.downloader.cancelled.connect(lambda msg: window.statusBar().showMessage(msg, 10000))
        self.offer: ModelOffer | None = None

    def download(self, model: str) -> None:
        self.window.statusBar().clearMessage()
        self.downloader.start(model)

    def maybe_offer(self) -> None:
        """On a library set to the neural model that is not downloaded: offer it, once (the answer is kept)."""
        settings = self.window.session.library.settings
        if self.offer is not None or self.window.ui_settings.value(OFFER_KEY) or settings.embedder != "wav2vec2" \
                or not needs_download(settings.model):
            return
        self.offer = ModelOffer(settings.model)
        self.downloader.worker.request("size", lambda: download_size(settings.model))  # a 3 s probe at most
        self.offer.download_clicked.connect(lambda: self._answer("download"))
        self.offer.builtin_clicked.connect(lambda: self._answer("builtin"))
        self.window.centralWidget().layout().insertWidget(2, self.offer)
        self.offer.setVisible(True)  # added to a window already shown

    def _size_known(self, kind: str, token: int, size) -> None:
        if kind == "size" and self.offer is not None and self.downloader.worker.is_latest(kind, token):
            self.offer.set_size(size)

    def _answer(self, choice: str) -> None:
        self.window.ui_settings.setValue(OFFER_KEY, choice)
        self.offer.setVisible(False)
        self.offer.deleteLater()
        self.offer = None
        settings = self.window.session.library.settings
        if choice == "download":
            self.download(settings.model)
        else:  # the built-in analysis, said out loud: no more "model missing" notice
            replace(settings, embedder="spectral").save()
            self.window.reopen_library()

    def _downloaded(self, model: str) -> None:
        """The library indexes with the model from now on; indexing starts in the background."""
        settings = self.window.session.library.settings
        replace(settings, embedder="wav2vec2", model=model).save()
        self.window.statusBar().showMessage(f"{model} downloaded; indexing the library with it", 10000)
        if self.window.reopen_library(start=False):
            self.window.session.load_embedder()
            self.window.session.index_pending()

    def close(self) -> None:
        self.downloader.close()
