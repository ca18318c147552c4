"""MPRIS2 on the D-Bus session bus: the desktop's media controls, lock screen and media keys drive
Soundalike and show what it plays (Linux; elsewhere, or without a session bus, it simply stays off).

One virtual object at /org/mpris/MediaPlayer2 answers the root interface (Raise, Quit, Identity, ...),
the Player interface (PlayPause, Next, Seek, SetPosition, OpenUri, the playback status, metadata with
the cover as a file URL, volume) and org.freedesktop.DBus.Properties (Get, GetAll, Set, and the
PropertiesChanged signal whenever status, track or volume change). A QDBusVirtualObject rather than
adaptors: PySide cannot declare D-Bus properties on adaptors, and here every reply's type is ours.
"""

from __future__ import annotations

import logging
import os
import sys

from PySide6.QtCore import QObject, QUrl
from PySide6.QtDBus import QDBusConnection, QDBusMessage, QDBusObjectPath, QDBusVariant, QDBusVirtualObject

log = logging.getLogger(__name__)
PATH = "/org/mpris/MediaPlayer2"
ROOT = "org.mpris.MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
PROPS = "org.freedesktop.DBus.Properties"
NO_TRACK = "/org/mpris/MediaPlayer2/TrackList/NoTrack"
STATUS = {"playing": "Playing", "paused": "Paused", "stopped": "Stopped"}

INTROSPECTION = f"""
<interface name="{ROOT}">
  <method name="Raise"/><method name="Quit"/>
  <property name="CanQuit" type="b" access="read"/><property name="CanRaise" type="b" access="read"/>
  <property name="HasTrackList" type="b" access="read"/><property name="Identity" type="s" access="read"/>
  <property name="DesktopEntry" type="s" access="read"/>
  <property name="SupportedUriSchemes" type="as" access="read"/>
  <property name="SupportedMimeTypes" type="as" access="read"/>
</interface>
<interface name="{PLAYER}">
  <method name="Next"/><method name="Previous"/><method name="Pause"/><method name="PlayPause"/>
  <method name="Stop"/><method name="Play"/>
  <method name="Seek"><arg name="Offset" type="x" direction="in"/></method>
  <method name="SetPosition"><arg name="TrackId" type="o" direction="in"/>
    <arg name="Position" type="x" direction="in"/></method>
  <method name="OpenUri"><arg name="Uri" type="s" direction="in"/></method>
  <signal name="Seeked"><arg name="Position" type="x"/></signal>
  <property name="PlaybackStatus" type="s" access="read"/><property name="Rate" type="d" access="readwrite"/>
  <property name="Metadata" type="a{{sv}}" access="read"/><property name="Volume" type="d" access="readwrite"/>
  <property name="Position" type="x" access="read"/><property name="MinimumRate" type="d" access="read"/>
  <property name="MaximumRate" type="d" access="read"/><property name="CanGoNext" type="b" access="read"/>
  <property name="CanGoPrevious" type="b" access="read"/><property name="CanPlay" type="b" access="read"/>
  <property name="CanPause" type="b" access="read"/><property name="CanSeek" type="b" access="read"/>
  <property name="CanControl" type="b" access="read"/>
</interface>
"""


def service_name(instance: str = "") -> str:
    return f"{ROOT}.soundalike" + (f".instance{instance}" if instance else "")


class Mpris(QDBusVirtualObject):
    """Serves the window's playback on a bus. `window` needs: playback (PlaybackController),
    play_or_pause(), set_volume(), covers (CoverCache), open_files(paths), model, and is a QMainWindow."""

    def __init__(self, window, connection: QDBusConnection, parent: QObject | None = None):
        super().__init__(parent)
        self.window = window
        self.bus = connection
        self.service = ""
        self._last: dict = {}
        pb = window.playback
        pb.state_changed.connect(self._changed)
        pb.current_changed.connect(self._changed)
        window.covers.cover_ready.connect(self._changed)

    # -- registration --------------------------------------------------------------------------------
    def register(self) -> bool:
        if not self.bus.isConnected():
            log.info("MPRIS off: no D-Bus session bus")
            return False
        if not self.bus.registerVirtualObject(PATH, self):
            log.info("MPRIS off: %s is taken on this bus", PATH)
            return False
        for name in (service_name(), service_name(str(os.getpid()))):
            if self.bus.registerService(name):
                self.service = name
                return True
        self.bus.unregisterObject(PATH)
        log.info("MPRIS off: cannot own %s", service_name())
        return False

    def unregister(self) -> None:
        if self.service:
            self.bus.unregisterObject(PATH)
            self.bus.unregisterService(self.service)
            self.service = ""

    # -- properties ------------------------------------------------------------------------------------
    def metadata(self) -> dict:
        now = self.window.playback.current
        if now is None:
            return {"mpris:trackid": QDBusObjectPath(NO_TRACK)}
        track = f"/org/soundalike/track/{now.track_id}" if now.track_id is not None else "/org/soundalike/file"
        md = {"mpris:trackid": QDBusObjectPath(track), "xesam:title": now.title or os.path.basename(now.path),
              "xesam:artist": [now.artist] if now.artist else [], "xesam:url": QUrl.fromLocalFile(now.path).toString()}
        if now.duration > 0:
            md["mpris:length"] = _int64(now.duration * 1e6)
        thumb = self.window.covers.thumbnail_path(now.path)
        if thumb:
            md["mpris:artUrl"] = QUrl.fromLocalFile(thumb).toString()
        return md

    def properties(self, interface: str) -> dict:
        pb = self.window.playback
        if interface == ROOT:
            return {"CanQuit": True, "CanRaise": True, "HasTrackList": False, "Identity": "Soundalike",
                    "DesktopEntry": "soundalike", "SupportedUriSchemes": ["file"],
                    "SupportedMimeTypes": ["audio/mpeg", "audio/flac", "audio/ogg", "audio/x-wav", "audio/mp4"]}
        if interface == PLAYER:
            has = pb.current is not None
            return {"PlaybackStatus": STATUS.get(pb.state, "Stopped"), "Rate": 1.0, "MinimumRate": 1.0,
                    "MaximumRate": 1.0, "Metadata": self.metadata(), "Volume": float(pb.volume),
                    "Position": _int64(pb.position * 1e6), "CanGoNext": bool(pb.queue.has_next),
                    "CanGoPrevious": has, "CanPlay": has or self.window.model.rowCount() > 0, "CanPause": has,
                    "CanSeek": has, "CanControl": True}
        return {}

    # -- QDBusVirtualObject ------------------------------------------------------------------------------
    def introspect(self, path: str) -> str:
        return INTROSPECTION if path == PATH else ""

    def handleMessage(self, message: QDBusMessage, connection: QDBusConnection) -> bool:  # noqa: N802
        iface, member, args = message.interface(), message.member(), message.arguments()
        try:
            if iface == PROPS:
                return self._properties_call(message, connection, member, args)
            if iface in (PLAYER, ROOT, ""):
                done = self._method(member, args)
                if done:
                    connection.send(message.createReply())
                    return True
        except Exception as e:  # a bad call from another program must not take the player down
            log.warning("MPRIS %s.%s failed: %s", iface, member, e)
            connection.send(message.createErrorReply("org.freedesktop.DBus.Error.Failed", str(e)))
            return True
        return False

    def _properties_call(self, message, connection, member: str, args) -> bool:
        if member == "GetAll":
            connection.send(_reply(message, self.properties(args[0])))
        elif member == "Get":
            props = self.properties(args[0])
            if args[1] not in props:
                connection.send(message.createErrorReply("org.freedesktop.DBus.Error.UnknownProperty", args[1]))
            else:
                connection.send(_reply(message, QDBusVariant(props[args[1]])))
        elif member == "Set":
            value = args[2].variant() if isinstance(args[2], QDBusVariant) else args[2]
            if args[0] == PLAYER and args[1] == "Volume":
                self.window.set_volume(float(value))
                connection.send(message.createReply())
                self._changed()
            else:
                connection.send(message.createErrorReply("org.freedesktop.DBus.Error.PropertyReadOnly", args[1]))
        else:
            return False
        return True

    def _method(self, member: str, args) -> bool:
        w, pb = self.window, self.window.playback
        if member == "PlayPause":
            w.play_or_pause()
        elif member == "Play":
            if pb.state != "playing":
                w.play_or_pause()
        elif member == "Pause":
            if pb.state == "playing":
                pb.play_pause()
        elif member == "Stop":
            pb.stop()
        elif member == "Next":
            pb.next()
        elif member == "Previous":
            pb.previous()
        elif member == "Seek":
            pb.seek_by(int(args[0]) / 1e6)
            self._seeked()
        elif member == "SetPosition":
            pb.seek(int(args[1]) / 1e6)
            self._seeked()
        elif member == "OpenUri":
            url = QUrl(str(args[0]))
            if url.isLocalFile():
                w.open_files([url.toLocalFile()])
        elif member == "Raise":
            w.showNormal()
            w.raise_()
            w.activateWindow()
        elif member == "Quit":
            w.close()
        else:
            return False
        return True

    # -- signals -------------------------------------------------------------------------------------------
    def _seeked(self) -> None:
        sig = QDBusMessage.createSignal(PATH, PLAYER, "Seeked")
        sig.setArguments([_int64(self.window.playback.position * 1e6)])
        self.bus.send(sig)

    def _changed(self, *_args) -> None:
        """PropertiesChanged with the Player properties that differ from the last announcement."""
        if not self.service:
            return
        props = self.properties(PLAYER)
        props.pop("Position")  # clients interpolate it; Seeked says when it jumps
        changed = {k: v for k, v in props.items() if _plain(self._last.get(k)) != _plain(v)}
        self._last = props
        if changed:
            sig = QDBusMessage.createSignal(PATH, PROPS, "PropertiesChanged")
            sig.setArguments([PLAYER, changed, []])
            self.bus.send(sig)


def start_mpris(window) -> Mpris | None:
    """Serve MPRIS2 on the session bus for the app's window; None where there is no such bus."""
    if not sys.platform.startswith("linux"):
        return None
    mpris = Mpris(window, QDBusConnection.sessionBus(), window)
    return mpris if mpris.register() else None


def _reply(message: QDBusMessage, value) -> QDBusMessage:
    """A reply carrying one value (createReply([x]) would send the list itself, as a variant array)."""
    reply = message.createReply()
    reply.setArguments([value])
    return reply


def _int64(value: float) -> int:
    return int(value)


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, QDBusObjectPath):
        return v.path()
    return v
