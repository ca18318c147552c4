"""A configured Qdrant server that does not answer: the user is asked, quickly, and can go embedded."""

import socket
import time
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
    started = time.monotonic()
    assert choose_store(home, lambda msg: asked.append(msg) or True) == {"qdrant_url": ""}
    assert choose_store(home, lambda msg: False) is None
    assert time.monotonic() - started < 15
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
