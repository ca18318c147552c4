"""MPRIS2 on the D-Bus session bus: the desktop's media controls, lock screen and media keys drive
Soundalike and show what it plays (Linux; elsewhere, or without a session bus, it simply stays off).

One object at /org/mpris/MediaPlayer2 answers the root interface (Raise, Quit, Identity, ...), the
Player interface (PlayPause, Next, Seek, SetPosition, OpenUri, the playback status, metadata with the
cover as a file URL, volume), org.freedesktop.DBus.Properties (Get, GetAll, Set, and PropertiesChanged
whenever status, track or volume change) and Introspectable.

The messages are built with jeepney (pure Python) on a connection of our own, read on the GUI thread
when its socket has data (a QSocketNotifier: no thread, and the handlers touch the window directly).
Not QtDBus: from Python every int becomes a D-Bus int32 there when it fits (PySide picks the QVariant
type), and MPRIS wants positions and lengths as int64 ('x'); here each value carries its D-Bus type.
"""

from __future__ import annotations

import logging
import os
import sys

from jeepney import DBusAddress, HeaderFields, MessageType, new_error, new_method_return, new_signal
from jeepney.bus_messages import DBusNameFlags, message_bus
from jeepney.io.blocking import open_dbus_connection
from PySide6.QtCore import QObject, QSocketNotifier, QUrl

log = logging.getLogger(__name__)
PATH = "/org/mpris/MediaPlayer2"
ROOT = "org.mpris.MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
PROPS = "org.freedesktop.DBus.Properties"
INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"
NO_TRACK = "/org/mpris/MediaPlayer2/TrackList/NoTrack"
STATUS = {"playing": "Playing", "paused": "Paused", "stopped": "Stopped"}
PRIMARY_OWNER = 1  # RequestName's answer when the name is ours

INTROSPECTION = f"""<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
<interface name="{INTROSPECTABLE}"><method name="Introspect"><arg name="xml" type="s" direction="out"/></method>
</interface>
<interface name="{PROPS}">
  <method name="Get"><arg type="s" direction="in"/><arg type="s" direction="in"/>
    <arg type="v" direction="out"/></method>
  <method name="GetAll"><arg type="s" direction="in"/><arg type="a{{sv}}" direction="out"/></method>
  <method name="Set"><arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="v" direction="in"/></method>
  <signal name="PropertiesChanged"><arg type="s"/><arg type="a{{sv}}"/><arg type="as"/></signal>
</interface>
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
</node>
"""


def service_name(instance: str = "") -> str:
    return f"{ROOT}.soundalike" + (f".instance{instance}" if instance else "")


class Mpris(QObject):
    """Serves the window's playback on a bus. `window` needs: playback (PlaybackController),
    play_or_pause(), set_volume(), covers (CoverCache), open_files(paths), model, and is a QMainWindow.
    `bus`: a D-Bus address, or "SESSION" (the desktop's session bus)."""

    def __init__(self, window, bus: str = "SESSION", parent: QObject | None = None):
        super().__init__(parent)
        self.window = window
        self.bus = bus
        self.service = ""
        self.conn = None
        self._notifier: QSocketNotifier | None = None
        self._last: dict = {}
        pb = window.playback
        pb.state_changed.connect(self._changed)
        pb.current_changed.connect(self._changed)
        window.covers.cover_ready.connect(self._cover_ready)

    # -- registration --------------------------------------------------------------------------------
    def register(self) -> bool:
        try:
            self.conn = open_dbus_connection(self.bus)
        except (OSError, KeyError, ValueError, RuntimeError) as e:  # no bus (KeyError: no address in the env)
            log.info("MPRIS off: no D-Bus session bus (%s)", e)
            return False
        for name in (service_name(), service_name(str(os.getpid()))):
            reply = self.conn.send_and_get_reply(message_bus.RequestName(name, DBusNameFlags.do_not_queue),
                                                 timeout=5)
            if reply.header.message_type == MessageType.method_return and reply.body[0] == PRIMARY_OWNER:
                self.service = name
                self._notifier = QSocketNotifier(self.conn.sock.fileno(), QSocketNotifier.Read, self)
                self._notifier.activated.connect(self._readable)
                return True
        log.info("MPRIS off: cannot own %s", service_name())
        self.conn.close()
        self.conn = None
        return False

    def unregister(self) -> None:
        if self.conn is None:
            return
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None
        try:
            if self.service:
                self.conn.send(message_bus.ReleaseName(self.service))
        except OSError:
            pass
        self.conn.close()
        self.conn, self.service = None, ""

    # -- properties (each value with its D-Bus type) ---------------------------------------------------
    def metadata(self) -> dict:
        now = self.window.playback.current
        if now is None:
            return {"mpris:trackid": ("o", NO_TRACK)}
        track = f"/org/soundalike/track/{now.track_id}" if now.track_id is not None else "/org/soundalike/file"
        md = {"mpris:trackid": ("o", track), "xesam:title": ("s", now.title or os.path.basename(now.path)),
              "xesam:artist": ("as", [now.artist] if now.artist else []),
              "xesam:url": ("s", QUrl.fromLocalFile(now.path).toString())}
        if now.duration > 0:
            md["mpris:length"] = ("x", microseconds(now.duration))
        thumb = self.window.covers.thumbnail_path(now.path)
        if thumb:
            md["mpris:artUrl"] = ("s", QUrl.fromLocalFile(thumb).toString())
        return md

    def properties(self, interface: str) -> dict:
        pb = self.window.playback
        if interface == ROOT:
            return {"CanQuit": ("b", True), "CanRaise": ("b", True), "HasTrackList": ("b", False),
                    "Identity": ("s", "Soundalike"), "DesktopEntry": ("s", "soundalike"),
                    "SupportedUriSchemes": ("as", ["file"]),
                    "SupportedMimeTypes": ("as", ["audio/mpeg", "audio/flac", "audio/ogg", "audio/x-wav",
                                                  "audio/mp4"])}
        if interface == PLAYER:
            has = pb.current is not None
            return {"PlaybackStatus": ("s", STATUS.get(pb.state, "Stopped")), "Rate": ("d", 1.0),
                    "MinimumRate": ("d", 1.0), "MaximumRate": ("d", 1.0), "Metadata": ("a{sv}", self.metadata()),
                    "Volume": ("d", float(pb.volume)), "Position": ("x", microseconds(pb.position)),
                    "CanGoNext": ("b", bool(pb.queue.has_next)), "CanGoPrevious": ("b", has),
                    "CanPlay": ("b", has or self.window.model.rowCount() > 0), "CanPause": ("b", has),
                    "CanSeek": ("b", has), "CanControl": ("b", True)}
        return {}

    # -- incoming messages -------------------------------------------------------------------------------
    def _readable(self, *_args) -> None:
        """Handle every message that has arrived (the socket is non-blocking to us: timeout 0)."""
        while self.conn is not None:
            try:
                msg = self.conn.receive(timeout=0)
            except TimeoutError:
                return
            except (OSError, ValueError) as e:  # the bus went away
                log.info("MPRIS off: the D-Bus connection closed (%s)", e)
                self.unregister()
                return
            if msg.header.message_type == MessageType.method_call:
                self._call(msg)

    def _call(self, msg) -> None:
        fields = msg.header.fields
        path, iface = fields.get(HeaderFields.path), fields.get(HeaderFields.interface, "")
        member, args = fields.get(HeaderFields.member), msg.body
        try:
            if path != PATH:
                reply = new_error(msg, "org.freedesktop.DBus.Error.UnknownObject", "s", (str(path),))
            elif iface == INTROSPECTABLE and member == "Introspect":
                reply = new_method_return(msg, "s", (INTROSPECTION,))
            elif iface == PROPS:
                reply = self._properties_call(msg, member, args)
            elif iface in (PLAYER, ROOT, "") and self._method(member, args):
                reply = new_method_return(msg)
            else:
                reply = new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"{iface}.{member}",))
        except Exception as e:  # a bad call from another program must not take the player down
            log.warning("MPRIS %s.%s failed: %s", iface, member, e)
            reply = new_error(msg, "org.freedesktop.DBus.Error.Failed", "s", (str(e),))
        self._send(reply)

    def _properties_call(self, msg, member: str, args):
        if member == "GetAll":
            return new_method_return(msg, "a{sv}", (self.properties(args[0]),))
        if member == "Get":
            props = self.properties(args[0])
            if args[1] not in props:
                return new_error(msg, "org.freedesktop.DBus.Error.UnknownProperty", "s", (args[1],))
            return new_method_return(msg, "v", (props[args[1]],))
        if member == "Set":
            if args[0] == PLAYER and args[1] == "Volume":
                self.window.set_volume(float(args[2][1]))
                self._changed()
                return new_method_return(msg)
            return new_error(msg, "org.freedesktop.DBus.Error.PropertyReadOnly", "s", (args[1],))
        return new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"{PROPS}.{member}",))

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
    def _send(self, message) -> None:
        if self.conn is None:
            return
        try:
            self.conn.send(message)
        except OSError as e:
            log.info("MPRIS off: cannot write to the D-Bus connection (%s)", e)
            self.unregister()

    def _seeked(self) -> None:
        self._send(new_signal(DBusAddress(PATH, interface=PLAYER), "Seeked", "x",
                              (microseconds(self.window.playback.position),)))

    def _cover_ready(self, path: str) -> None:
        """Only the playing track's cover changes what the desktop shows; the Sounds-like list asks for a cover
        per hit (dozens per selected row), and each used to rebuild every Player property on the GUI thread."""
        if self.window.playback.is_current(path):
            self._changed()

    def _changed(self, *_args) -> None:
        """PropertiesChanged with the Player properties that differ from the last announcement."""
        if not self.service:
            return
        props = self.properties(PLAYER)
        props.pop("Position")  # clients interpolate it; Seeked says when it jumps
        changed = {k: v for k, v in props.items() if self._last.get(k) != v}
        self._last = props
        if changed:
            self._send(new_signal(DBusAddress(PATH, interface=PROPS), "PropertiesChanged", "sa{sv}as",
                                  (PLAYER, changed, [])))


def start_mpris(window) -> Mpris | None:
    """Serve MPRIS2 on the session bus for the app's window; None where there is no such bus."""
    if not sys.platform.startswith("linux"):
        return None
    mpris = Mpris(window, "SESSION", window)
    return mpris if mpris.register() else None


def microseconds(seconds: float) -> int:
    """MPRIS times: int64 microseconds (sent as 'x' whatever their size)."""
    return int(round(float(seconds) * 1e6))
