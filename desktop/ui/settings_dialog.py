"""Settings…, in plain words: how Soundalike listens (the analysis and its model), where it runs, where
a shared library lives (a Qdrant server: address, access key, certificate, gRPC). The access key is masked
(password echo) and never shown back in clear.

The dialog edits a copy of the core `Settings` and saves it with `Settings.save()` (HOME/config.json);
the window applies a change at once (it reopens the library itself; nothing to ask the user). Every
field is checked as it is typed and the reason shows under it; Save stays disabled while one is wrong.
Controls that do not apply (model and device with the built-in analysis) are disabled. Environment
variables still win over the file, so the dialog says when one is set.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.core.config import DEVICES, EMBEDDERS, ENV_VARS, Settings
from desktop.core.errors import SoundalikeError
from desktop.ui.model_download import needs_download

ANALYSIS_NAMES = {"wav2vec2": "Neural model (better matches, slower; needs the model)",
                  "spectral": "Built-in sound analysis (fast, works offline)"}
DEVICE_NAMES = {"auto": "Automatic (graphics card if there is one)", "cpu": "Processor (CPU)",
                "cuda": "NVIDIA graphics card (CUDA)", "mps": "Apple graphics (Metal)"}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def model_problem(text: str) -> str:
    """Why `text` is not a usable model id or model folder ('' when it looks fine)."""
    text = text.strip()
    if not text:
        return "Enter a model name such as facebook/wav2vec2-base, or choose a folder."
    looks_like_path = text.startswith(("/", "~", ".")) or os.sep in text and os.path.exists(os.path.dirname(text))
    path = os.path.expanduser(text)
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "config.json")):
            return "This folder holds no model: a model folder has a config.json file."
        return ""
    if looks_like_path:
        return "There is no such folder."
    if not HUB_ID.match(text):
        return "Not a model name: use owner/name, as on huggingface.co, or choose a folder."
    return ""


def url_problem(text: str) -> str:
    text = text.strip()
    if text and not re.match(r"^https?://[^\s/]+", text):
        return "A server address starts with http:// or https://, e.g. http://localhost:6333"
    return ""


def _with_button(edit: QLineEdit, text: str, slot) -> tuple[QWidget, QPushButton]:
    """A line edit with a browse button beside it (the button is returned too: it is enabled with the edit)."""
    button = QPushButton(text)
    button.clicked.connect(slot)
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit, 1)
    lay.addWidget(button)
    return row, button


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("settingsError")
    label.setWordWrap(True)
    label.setVisible(False)
    return label


def _choices(names, labels: dict[str, str], current: str) -> QComboBox:
    """A drop-down of `names` shown by their `labels` (the name itself when it has none), `current` chosen."""
    box = QComboBox()
    for name in names:
        box.addItem(labels.get(name, name), name)
    box.setCurrentIndex(max(0, box.findData(current)))
    return box


class SettingsDialog(QDialog):
    DOWNLOAD_TIP = "Download this model (it is not on this computer yet); progress shows in the status bar"

    def __init__(self, settings: Settings, parent=None, download=None, downloader=None):
        """`download(model)` starts a model download in the window's status bar (None: no Download button);
        `downloader` (the window's ModelDownloader) tells how it ended, so the button never stays
        "Downloading…" after a failure or a cancel."""
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self.result_settings: Settings | None = None
        self.embedder = _choices(EMBEDDERS, ANALYSIS_NAMES, settings.embedder)
        self.model = QLineEdit(settings.model)
        self.model.setPlaceholderText("facebook/wav2vec2-base, or a folder")
        self.model.setMinimumWidth(self.fontMetrics().horizontalAdvance("x" * 44))
        model_row, self.browse = _with_button(self.model, "Choose folder…", self._browse)
        self.download = download
        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("downloadModel")
        self.download_button.setToolTip(self.DOWNLOAD_TIP)
        self.download_button.clicked.connect(self._download)
        model_row.layout().addWidget(self.download_button)
        self.model_error = _error_label()
        self.download_error = _error_label()  # why the last download stopped, in one sentence
        self.download_error.setObjectName("downloadError")
        self.downloader = downloader
        if downloader is not None:
            downloader.failed.connect(self._download_ended)
            downloader.cancelled.connect(self._download_ended)
            downloader.downloaded.connect(self._downloaded)
        self.device = _choices(DEVICES, DEVICE_NAMES, settings.device)
        self.qdrant_url = QLineEdit(settings.qdrant_url)
        self.qdrant_url.setPlaceholderText("Leave empty to keep the library on this computer")
        self.url_error = _error_label()
        self.qdrant_api_key = QLineEdit(settings.qdrant_api_key)
        self.qdrant_api_key.setEchoMode(QLineEdit.Password)
        self.qdrant_api_key.setPlaceholderText("None (Qdrant Cloud and shared servers need one)")
        self.qdrant_ca_file = QLineEdit(settings.qdrant_ca_file)
        self.qdrant_ca_file.setPlaceholderText("Empty: trust the system's certificates (https:// only)")
        ca_row, self.browse_ca = _with_button(self.qdrant_ca_file, "Choose file…", self._browse_ca)
        self.qdrant_prefer_grpc = QCheckBox("Talk to it over gRPC (port 6334; faster for big libraries)")
        self.qdrant_prefer_grpc.setChecked(settings.qdrant_prefer_grpc)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.ExpandingFieldsGrow)
        form.addRow("How to listen", self.embedder)
        form.addRow("Model", model_row)
        form.addRow("", self.model_error)
        form.addRow("", self.download_error)
        form.addRow("Run it on", self.device)
        form.addRow("Shared library server", self.qdrant_url)
        form.addRow("", self.url_error)
        form.addRow("Server access key", self.qdrant_api_key)
        form.addRow("Server certificate", ca_row)
        form.addRow("", self.qdrant_prefer_grpc)
        self.error = _error_label()
        note = QLabel(f"Library folder: {settings.home}")
        note.setObjectName("settingsNote")
        note.setWordWrap(True)
        note.setTextInteractionFlags(Qt.TextSelectableByMouse)
        env = [var for var in ENV_VARS.values() if os.environ.get(var)]
        if env:
            note.setText(note.text() + f"\nSet in the environment (these win over this dialog): {', '.join(env)}")
        self.buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        lay.setSizeConstraint(QVBoxLayout.SetMinimumSize)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        self.embedder.currentIndexChanged.connect(self._sync)
        self.model.textChanged.connect(self._sync)
        self.model.textChanged.connect(lambda: self._show_download_error(""))
        self.qdrant_url.textChanged.connect(self._sync)
        self._sync()
        if downloader is not None and downloader.busy and downloader.job.data == self.model.text().strip():
            self._show_downloading(self.model.text().strip())  # reopened while its download runs

    @property
    def save_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.Save)

    def _sync(self) -> None:
        """Enable what applies, show each field's problem under it, and allow Save only when all are fine."""
        neural = self.embedder.currentData() == "wav2vec2"
        for w in (self.model, self.browse, self.device):
            w.setEnabled(neural)
        server = bool(self.qdrant_url.text().strip())
        for w in (self.qdrant_api_key, self.qdrant_ca_file, self.browse_ca, self.qdrant_prefer_grpc):
            w.setEnabled(server)
        problems = []
        for label, why in ((self.model_error, model_problem(self.model.text()) if neural else ""),
                           (self.url_error, url_problem(self.qdrant_url.text()))):
            label.setText(why)
            label.setVisible(bool(why))
            problems.append(why)
        self.save_button.setEnabled(not any(problems))
        self.download_button.setVisible(self.download is not None and neural and not problems[0]
                                        and needs_download(self.model.text()))
        self.adjustSize()

    def _download(self) -> None:
        model = self.model.text().strip()
        self._show_download_error("")
        self.download(model)
        self._show_downloading(model)

    def _show_downloading(self, model: str) -> None:
        self.download_button.setEnabled(False)
        self.download_button.setText("Downloading…")
        self.download_button.setToolTip(f"{model} is downloading: progress and Cancel are in the status bar")

    def _download_ended(self, message: str) -> None:
        """The download failed, was cancelled or completed: the button is itself again (hidden once the
        model is here) and a failure or cancel says why in one sentence under the model field."""
        self.download_button.setEnabled(True)
        self.download_button.setText("Download")
        self.download_button.setToolTip(self.DOWNLOAD_TIP)
        self._show_download_error(message)
        self._sync()

    def _downloaded(self, model: str) -> None:
        self._download_ended("")

    def _show_download_error(self, message: str) -> None:
        self.download_error.setText(message)
        self.download_error.setVisible(bool(message))

    def _browse(self) -> None:
        current = os.path.expanduser(self.model.text().strip())
        start = current if os.path.isdir(current) else os.path.expanduser("~")
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder", start)
        if folder:
            self.model.setText(folder)

    def _browse_ca(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Server certificate (PEM)", os.path.expanduser("~"),
                                              "Certificates (*.pem *.crt);;All files (*)")
        if path:
            self.qdrant_ca_file.setText(path)

    def values(self) -> Settings:
        return replace(self.settings, embedder=self.embedder.currentData(),
                       model=self.model.text().strip() or self.settings.model, device=self.device.currentData(),
                       qdrant_url=self.qdrant_url.text().strip(), qdrant_api_key=self.qdrant_api_key.text().strip(),
                       qdrant_ca_file=self.qdrant_ca_file.text().strip(),
                       qdrant_prefer_grpc=self.qdrant_prefer_grpc.isChecked()).validated()

    def accept(self) -> None:
        try:
            new = self.values()
            new.save()
        except (SoundalikeError, OSError) as e:
            self.error.setText(str(e))
            self.error.setVisible(True)
            return
        self.result_settings = new
        super().accept()
