"""Settings…: embedder, Wav2Vec2 model (hub id or folder), device, and the Qdrant server (URL, API key,
CA file, gRPC). The API key is masked (password echo) and never shown back in clear.

The dialog edits a copy of the core `Settings` and saves it with `Settings.save()` (HOME/config.json);
the window applies it by reopening the library. Environment variables still win over the file, so
the dialog says when one is set.
"""

from __future__ import annotations

import os
from dataclasses import replace

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
    QVBoxLayout,
    QWidget,
)

from desktop.core.config import DEVICES, EMBEDDERS, ENV_VARS, Settings
from desktop.core.errors import SoundalikeError


def _with_button(edit: QLineEdit, text: str, slot) -> QWidget:
    """A line edit with a browse button beside it."""
    button = QPushButton(text)
    button.clicked.connect(slot)
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit, 1)
    lay.addWidget(button)
    return row


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self.result_settings: Settings | None = None
        self.embedder = QComboBox()
        self.embedder.addItems(EMBEDDERS)
        self.embedder.setCurrentText(settings.embedder)
        self.embedder.setToolTip("wav2vec2: a neural model (better, slower; falls back to spectral when its "
                                 "weights are missing). spectral: fast hand-made audio features.")
        self.model = QLineEdit(settings.model)
        self.model.setPlaceholderText("facebook/wav2vec2-base or a folder")
        model_row = _with_button(self.model, "Folder…", self._browse)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(settings.device)
        self.qdrant_url = QLineEdit(settings.qdrant_url)
        self.qdrant_url.setPlaceholderText("empty: embedded store in the library folder")
        self.qdrant_api_key = QLineEdit(settings.qdrant_api_key)
        self.qdrant_api_key.setEchoMode(QLineEdit.Password)
        self.qdrant_api_key.setPlaceholderText("none (Qdrant Cloud and shared servers need one)")
        self.qdrant_ca_file = QLineEdit(settings.qdrant_ca_file)
        self.qdrant_ca_file.setPlaceholderText("empty: the system's CAs (https:// only)")
        ca_row = _with_button(self.qdrant_ca_file, "File…", self._browse_ca)
        self.qdrant_prefer_grpc = QCheckBox("Use gRPC (port 6334)")
        self.qdrant_prefer_grpc.setChecked(settings.qdrant_prefer_grpc)
        self.embedder.currentTextChanged.connect(self._sync)
        self.qdrant_url.textChanged.connect(self._sync)
        form = QFormLayout()
        form.addRow("Embedder", self.embedder)
        form.addRow("Model (hub id or folder)", model_row)
        form.addRow("Device", self.device)
        form.addRow("Qdrant URL", self.qdrant_url)
        form.addRow("Qdrant API key", self.qdrant_api_key)
        form.addRow("CA file", ca_row)
        form.addRow("", self.qdrant_prefer_grpc)
        self.error = QLabel()
        self.error.setObjectName("settingsError")
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        note = QLabel(f"Library folder: {settings.home}\nChanges apply when the library is reopened.")
        note.setWordWrap(True)
        env = [var for var in ENV_VARS.values() if os.environ.get(var)]
        if env:
            note.setText(note.text() + f"\nSet in the environment (these win over this dialog): {', '.join(env)}")
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        self._sync()

    def _sync(self) -> None:
        neural = self.embedder.currentText() == "wav2vec2"
        self.model.setEnabled(neural)
        self.device.setEnabled(neural)
        server = bool(self.qdrant_url.text().strip())
        for w in (self.qdrant_api_key, self.qdrant_ca_file, self.qdrant_prefer_grpc):
            w.setEnabled(server)

    def _browse_ca(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "CA certificate (PEM)", os.path.expanduser("~"),
                                              "Certificates (*.pem *.crt);;All files (*)")
        if path:
            self.qdrant_ca_file.setText(path)

    def _browse(self) -> None:
        start = self.model.text() if os.path.isdir(self.model.text()) else os.path.expanduser("~")
        folder = QFileDialog.getExistingDirectory(self, "Wav2Vec2 model folder", start)
        if folder:
            self.model.setText(folder)

    def values(self) -> Settings:
        return replace(self.settings, embedder=self.embedder.currentText(), model=self.model.text().strip() or
                       self.settings.model, device=self.device.currentText(),
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
