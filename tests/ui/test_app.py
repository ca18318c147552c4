"""The application around the window: status bar facts, state across runs, settings, a held library."""

import json

from PySide6.QtWidgets import QMessageBox

from desktop.core.lock import LibraryLock
from desktop.ui import app as app_module


def test_status_bar_shows_embedder_and_no_audio(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    qtbot.waitUntil(lambda: "loading" not in w.embedder_label.text(), timeout=10000)
    assert w.embedder_label.text() == "spectral · CPU"
    assert not w.fallback_label.isVisible()
    assert w.audio_label.isVisible()


def test_missing_wav2vec2_weights_show_the_spectral_fallback_notice(tmp_path, make_window, qtbot):
    w = make_window(tmp_path / "default-settings")  # wav2vec2 by default; no weights offline here
    qtbot.waitUntil(lambda: w.fallback_label.isVisible(), timeout=20000)
    assert "built-in sound analysis" in w.fallback_label.text() and "spectral" in w.fallback_label.toolTip()
    assert "Model settings" in w.fallback_label.text()  # the notice carries its action
    assert w.embedder_label.text().startswith("spectral")


def test_window_state_volume_and_last_track_come_back(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    w.resize(760, 560)  # the offscreen screen is 800x600; restoreGeometry keeps windows on it
    w.splitter.setSizes([450, 300])
    w.transport.volume_slider.setValue(30)
    w.play_row(6)
    tid = w.playback.current.track_id
    sizes = w.splitter.sizes()
    w.close()
    w2 = make_window(indexed_home)
    assert abs(w2.playback.volume - 0.3) < 1e-6
    assert w2.playback.current.track_id == tid and w2.playback.state != "playing"
    assert w2.model.track_id(w2.table.currentIndex().row()) == tid
    assert w2.splitter.sizes() == sizes and w2.width() == 760


def test_library_in_use_shows_a_message_and_exits_non_zero(tmp_path, monkeypatch, qtbot):
    home = tmp_path / "held"
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *a, **k: shown.append(a[2]))
    with LibraryLock(home, purpose="soundalike index ~/Music"):
        assert app_module.main([], home=str(home)) == 1
    assert shown and "in use" in shown[0] and "soundalike index ~/Music" in shown[0]


def test_settings_dialog_saves_to_config(indexed_home, make_window, qtbot, tmp_path):
    from desktop.ui.settings_dialog import SettingsDialog

    w = make_window(indexed_home)
    dlg = SettingsDialog(w.session.library.settings, w)
    qtbot.addWidget(dlg)
    dlg.qdrant_url.setText("ftp://nope")  # checked as typed, the reason shown under the field
    assert not dlg.url_error.isHidden() and "http://" in dlg.url_error.text() and not dlg.save_button.isEnabled()
    dlg.qdrant_url.setText("")
    dlg.embedder.setCurrentIndex(dlg.embedder.findData("spectral"))
    assert not dlg.model.isEnabled() and not dlg.browse.isEnabled() and not dlg.device.isEnabled()
    dlg.embedder.setCurrentIndex(dlg.embedder.findData("wav2vec2"))
    assert dlg.model.isEnabled() and dlg.browse.isEnabled()
    (tmp_path / "photos").mkdir()
    dlg.model.setText(str(tmp_path / "photos"))  # a folder, but not a model
    assert "config.json" in dlg.model_error.text() and not dlg.save_button.isEnabled()
    dlg.model.setText(str(indexed_home / "no-such-model"))
    assert "no such folder" in dlg.model_error.text() and not dlg.save_button.isEnabled()
    dlg.model.setText("someone/a-model-not-downloaded")
    assert dlg.model_error.isHidden() and dlg.save_button.isEnabled()
    assert dlg.sizeHint().width() >= dlg.model.minimumWidth()  # sized to fit the model field
    dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
    dlg.accept()
    saved = json.loads((indexed_home / "config.json").read_text())
    assert saved["embedder"] == "wav2vec2" and saved["device"] == "cpu"
    assert saved["model"] == "someone/a-model-not-downloaded"
    # Reopening applies it: the model folder is missing, so spectral takes over with a notice.
    w.reopen_library()
    qtbot.waitUntil(lambda: w.fallback_label.isVisible(), timeout=20000)
    assert w.model.rowCount() == 12
