"""MPRIS2 over a private D-Bus session bus started by the test (skipped where dbus-daemon is missing)."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import threading

import pytest
from PySide6.QtCore import SLOT, QObject, Slot
from PySide6.QtDBus import QDBusConnection, QDBusMessage

from desktop.ui.mpris import PATH, PLAYER, PROPS, ROOT, Mpris, service_name

pytestmark = pytest.mark.skipif(not (shutil.which("dbus-daemon") and shutil.which("gdbus")),
                                reason="dbus-daemon or gdbus (the test's second program) is not installed")


@pytest.fixture
def private_bus():
    """(address, server and client QtDBus connections) of a dbus-daemon of our own: never the user's session
    bus. The player serves on a jeepney connection of its own; the QtDBus client listens for its signals."""
    daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
                              stdout=subprocess.PIPE, text=True)
    try:
        address = daemon.stdout.readline().strip()
        assert address, "dbus-daemon printed no address"
        server = QDBusConnection.connectToBus(address, "soundalike-test-server")
        client = QDBusConnection.connectToBus(address, "soundalike-test-client")
        assert server.isConnected() and client.isConnected()
        yield address, server, client
    finally:
        QDBusConnection.disconnectFromBus("soundalike-test-server")
        QDBusConnection.disconnectFromBus("soundalike-test-client")
        daemon.terminate()
        daemon.wait(5)


class Listener(QObject):
    def __init__(self):
        super().__init__()
        self.heard_args = []

    @Slot(QDBusMessage)
    def heard(self, message) -> None:
        self.heard_args.append(message.arguments())


def gvariant(text: str):
    """gdbus's GVariant text as Python (the few forms MPRIS replies use)."""
    text = re.sub(r"\b(?:u?int(?:16|32|64)|byte|uint16|objectpath|double) ", "", text)
    text = re.sub(r"@a\{sv\} |@as |@a\w+ ", "", text)
    text = text.replace("<", "").replace(">", "").replace("true", "True").replace("false", "False")
    return ast.literal_eval(text)


def call(bus, qtbot, interface: str, member: str, *args, raw: bool = False):
    """Call the player from another program (gdbus), pumping this thread's events until it answers.
    `raw`: gdbus's text itself, D-Bus types included (int64 ..., int32 shows as a bare number)."""
    cmd = ["gdbus", "call", "--address", bus, "--dest", service_name(), "--object-path", PATH,
           "--method", f"{interface}.{member}", *map(str, args)]
    done = {}
    thread = threading.Thread(target=lambda: done.update(r=subprocess.run(cmd, capture_output=True, text=True,
                                                                          timeout=20)))
    thread.start()
    qtbot.waitUntil(lambda: "r" in done, timeout=25000)
    result = done["r"]
    assert result.returncode == 0, result.stderr
    return result.stdout.strip() if raw else gvariant(result.stdout.strip())


def test_media_controls_drive_the_player_and_see_the_track(indexed_home, make_window, qtbot, private_bus):
    address, server, client = private_bus
    w = make_window(indexed_home)
    mpris = Mpris(w, address, w)
    assert mpris.register() and mpris.service == service_name()
    changes = Listener()
    assert client.connect(service_name(), PATH, PROPS, "PropertiesChanged", changes, SLOT("heard(QDBusMessage)"))
    root = call(address, qtbot, PROPS, "GetAll", ROOT)[0]
    assert root["Identity"] == "Soundalike" and root["CanRaise"] and "file" in root["SupportedUriSchemes"]
    player = call(address, qtbot, PROPS, "GetAll", PLAYER)[0]
    assert player["PlaybackStatus"] == "Stopped" and player["CanPlay"] and not player["CanPause"]
    call(address, qtbot, PLAYER, "PlayPause")  # nothing loaded: plays the first track, as the Play button does
    qtbot.waitUntil(lambda: w.playback.state == "playing", timeout=3000)
    now = w.playback.current
    meta = call(address, qtbot, PROPS, "Get", PLAYER, "Metadata")[0]
    assert meta["xesam:title"] == now.title and meta["xesam:url"].endswith(now.path.split("/")[-1])
    assert meta["mpris:length"] == round(now.duration * 1e6)
    text = call(address, qtbot, PROPS, "Get", PLAYER, "Metadata", raw=True)
    assert f"'mpris:length': <int64 {round(now.duration * 1e6)}>" in text  # 'x' even for a short track
    assert call(address, qtbot, PROPS, "Get", PLAYER, "Position", raw=True).startswith("(<int64 ")
    assert meta["mpris:trackid"].startswith("/org/soundalike/track/")
    assert call(address, qtbot, PROPS, "Get", PLAYER, "PlaybackStatus")[0] == "Playing"
    call(address, qtbot, PLAYER, "Next")
    assert w.playback.current.track_id == w.model.track_id(1)
    call(address, qtbot, PLAYER, "SetPosition", meta["mpris:trackid"], 2_000_000)
    assert abs(w.playback.position - 2.0) < 0.2
    call(address, qtbot, PLAYER, "Pause")
    qtbot.waitUntil(lambda: w.playback.state == "paused", timeout=3000)
    call(address, qtbot, PROPS, "Set", PLAYER, "Volume", "<0.25>")
    assert abs(w.playback.volume - 0.25) < 1e-6 and w.transport.volume_slider.value() == 25
    assert call(address, qtbot, PROPS, "Get", PLAYER, "PlaybackStatus")[0] == "Paused"
    qtbot.waitUntil(lambda: len([a for a in changes.heard_args if a[0] == PLAYER]) >= 3, timeout=3000)
    mpris.unregister()
    assert not client.interface().isServiceRegistered(service_name()).value()


def test_only_the_playing_tracks_cover_is_announced(indexed_home, make_window, qtbot, private_bus):
    """The Sounds-like list asks for a cover per hit; each arrival rebuilt every Player property on the GUI thread.
    Only the playing track's cover is announced (its artUrl); the others change nothing the desktop shows."""
    address, server, client = private_bus
    w = make_window(indexed_home)
    mpris = Mpris(w, address, w)
    assert mpris.register()
    with qtbot.waitSignal(w.playback.current_changed):
        w.play_row(0)
    qtbot.waitUntil(lambda: mpris._last.get("PlaybackStatus") == ("s", "Playing"))
    announced = mpris._last
    w.covers.cover_ready.emit("/music/another track.flac")
    assert mpris._last is announced  # not even worked out again
    w.covers.cover_ready.emit(w.playback.current.path)
    assert mpris._last is not announced and mpris._last["Metadata"] == announced["Metadata"]  # (no cover here)
    mpris.unregister()


def test_a_track_longer_than_35_minutes_has_its_length_as_int64(spectral_empty_home, tmp_path, make_window, qtbot,
                                                                   private_bus):
    """2^31 microseconds is 35 min 47 s: a 40-minute track's length and position must not wrap."""
    import numpy as np
    import soundfile as sf

    address, _server, _client = private_bus
    long_track = tmp_path / "long.flac"
    seconds, rate = 40 * 60, 8000
    with sf.SoundFile(long_track, "w", rate, 1, format="FLAC") as f:  # silence: a few hundred KB
        block = np.zeros(rate * 60, np.float32)
        for _ in range(seconds // 60):
            f.write(block)
    w = make_window(spectral_empty_home)
    mpris = Mpris(w, address, w)
    assert mpris.register()
    w.open_files([str(long_track)])
    qtbot.waitUntil(lambda: w.playback.current is not None and w.playback.current.duration > 0, timeout=10000)
    length = round(w.playback.current.duration * 1e6)
    assert length > 2**31
    text = call(address, qtbot, PROPS, "Get", PLAYER, "Metadata", raw=True)
    assert f"'mpris:length': <int64 {length}>" in text
    call(address, qtbot, PLAYER, "SetPosition", "/org/soundalike/file", 2_200_000_000)  # 36:40
    assert abs(w.playback.position - 2200.0) < 1.0
    position = call(address, qtbot, PROPS, "Get", PLAYER, "Position")[0]
    assert 2_199_000_000 <= position <= 2_300_000_000
    mpris.unregister()
