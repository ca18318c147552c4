"""A configured Qdrant server that does not answer: the user is asked, quickly, and can go embedded."""

import socket
from dataclasses import replace

from desktop.core.config import load_settings
from desktop.ui.app import choose_store


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_offers_the_embedded_store(home):
    url = f"http://127.0.0.1:{closed_port()}"
    replace(load_settings(home), qdrant_url=url).save()
    asked = []
    assert choose_store(home, lambda msg: asked.append(msg) or True) == {"qdrant_url": ""}
    assert choose_store(home, lambda msg: False) is None
    assert url in asked[0] and "unreachable" in asked[0]


def test_no_server_configured_asks_nothing(home):
    assert choose_store(home, lambda msg: 1 / 0) == {}


def test_window_opens_on_the_embedded_store_when_chosen(home, make_window):
    replace(load_settings(home), qdrant_url=f"http://127.0.0.1:{closed_port()}", embedder="spectral").save()
    overrides = choose_store(home, lambda msg: True)
    from desktop.ui.app import open_window

    window = open_window(home, (), start=False, **overrides)
    try:
        assert window.session.library.settings.qdrant_url == ""
    finally:
        window.shutdown()


def test_settings_dialog_server_fields_keep_the_key_masked(home, qtbot, test_ca):
    import json

    from PySide6.QtWidgets import QLineEdit

    from desktop.ui.settings_dialog import SettingsDialog

    settings = replace(load_settings(home), qdrant_url="https://nas.local:6333", qdrant_api_key="sk-secret-42")
    dlg = SettingsDialog(settings)
    qtbot.addWidget(dlg)
    assert dlg.qdrant_api_key.echoMode() == QLineEdit.Password and dlg.qdrant_api_key.isEnabled()
    assert "sk-secret-42" not in dlg.qdrant_api_key.displayText()
    dlg.qdrant_api_key.setText("sk-new-99")
    dlg.qdrant_ca_file.setText(str(test_ca["ca"]))
    dlg.qdrant_prefer_grpc.setChecked(True)
    dlg.accept()
    saved = json.loads((home / "config.json").read_text())
    assert (saved["qdrant_api_key"], saved["qdrant_ca_file"], saved["qdrant_prefer_grpc"]) == \
        ("sk-new-99", str(test_ca["ca"]), True)
    dlg2 = SettingsDialog(load_settings(home))
    qtbot.addWidget(dlg2)
    dlg2.qdrant_url.setText("")  # embedded store: the server fields do not apply
    assert not dlg2.qdrant_api_key.isEnabled() and not dlg2.qdrant_prefer_grpc.isEnabled()


def test_wrong_key_at_start_is_offered_the_embedded_store(home):
    from tests.qdrant_http import QdrantHttpServer

    with QdrantHttpServer(api_key="right") as server:
        replace(load_settings(home), qdrant_url=server.url, qdrant_api_key="wrong").save()
        asked = []
        assert choose_store(home, lambda msg: asked.append(msg) or True) == {"qdrant_url": ""}
        assert "rejected the API key (HTTP 401)" in asked[0] and "wrong" not in asked[0]
        replace(load_settings(home), qdrant_api_key="right").save()
        assert choose_store(home, lambda msg: 1 / 0) == {}
