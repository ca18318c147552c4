"""A configured Qdrant server that does not answer: the user is asked (the probe runs in the library
thread, never on the GUI thread) and can go embedded, or quit."""

import socket
from dataclasses import replace

from desktop.core.config import load_settings

WAIT_MS = 60_000  # generous: importing qdrant-client alone takes seconds on a loaded machine


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unreachable(home) -> str:
    url = f"http://127.0.0.1:{closed_port()}"
    replace(load_settings(home), qdrant_url=url, embedder="spectral").save()
    return url


def test_unreachable_server_offers_the_embedded_store(home, make_window, qtbot):
    url = unreachable(home)
    asked = []
    w = make_window(home, start=False)
    w.ask_store = lambda msg: asked.append(msg) or True
    w.start()
    qtbot.waitUntil(lambda: bool(asked) and w.session.library.settings.qdrant_url == "", timeout=WAIT_MS)
    assert url in asked[0] and "unreachable" in asked[0]
    qtbot.waitUntil(lambda: "loading" not in w.embedder_label.text(), timeout=WAIT_MS)  # and it goes on
    assert w.exit_code == 0 and w.isVisible()


def test_declining_the_embedded_store_quits_with_an_error_code(home, make_window, qtbot):
    unreachable(home)
    w = make_window(home, start=False)
    w.ask_store = lambda msg: False
    w.start()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=WAIT_MS)
    assert w.exit_code == 1


def test_no_server_configured_asks_nothing(home, make_window, qtbot):
    replace(load_settings(home), embedder="spectral").save()
    w = make_window(home, start=False)
    w.ask_store = lambda msg: 1 / 0
    w.start()
    qtbot.waitUntil(lambda: "loading" not in w.embedder_label.text(), timeout=WAIT_MS)
    assert w.session.library.settings.qdrant_url == ""


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


def test_wrong_key_at_start_is_offered_the_embedded_store(home, make_window, qtbot):
    from tests.qdrant_http import QdrantHttpServer

    with QdrantHttpServer(api_key="right") as server:
        replace(load_settings(home), qdrant_url=server.url, qdrant_api_key="wrong", embedder="spectral").save()
        asked = []
        w = make_window(home, start=False)
        w.ask_store = lambda msg: asked.append(msg) or True
        w.start()
        qtbot.waitUntil(lambda: bool(asked) and w.session.library.settings.qdrant_url == "", timeout=WAIT_MS)
        assert "rejected the API key (HTTP 401)" in asked[0] and "wrong" not in asked[0]
        replace(load_settings(home), qdrant_api_key="right").save()
        assert w.reopen_library(start=False)
        w.start()  # the right key: nothing to ask
        qtbot.waitUntil(lambda: "loading" not in w.embedder_label.text(), timeout=WAIT_MS)
        assert len(asked) == 1 and w.session.library.settings.qdrant_url == server.url
        w.shutdown()  # while the server is still up: its threads must not wait on a server that went away
