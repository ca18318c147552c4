"""One window per library: a second launch hands its files to the running window and exits.

The first instance listens on a local socket named after the library folder; a later launch for the
same library connects, sends the files it was given (or none, which just raises the window) and exits
0, instead of failing on the library lock. A socket left behind by a crashed instance is removed before
listening (nobody answered on it, so nobody owns it).
"""

from __future__ import annotations

import hashlib
import json
import os

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

TIMEOUT_MS = 1500


def server_name(home) -> str:
    digest = hashlib.sha1(os.path.abspath(os.fspath(home)).encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"soundalike-{os.getuid()}-{digest}"


class SingleInstance(QObject):
    """`hand_over(files)` in a new launch; `listen()` in the instance that owns the window."""

    files_received = Signal(list)  # absolute paths (may be empty: "show yourself")

    def __init__(self, home, parent=None):
        super().__init__(parent)
        self.name = server_name(home)
        self.server: QLocalServer | None = None

    def hand_over(self, files) -> bool:
        """True when a running instance took the files (this launch should then exit)."""
        sock = QLocalSocket()
        sock.connectToServer(self.name)
        if not sock.waitForConnected(TIMEOUT_MS):
            return False
        message = json.dumps({"files": [os.path.abspath(f) for f in files]}).encode("utf-8") + b"\n"
        written = sock.write(message) == len(message)
        sock.flush()
        sock.waitForBytesWritten(TIMEOUT_MS)  # False when it was already written at once
        sock.disconnectFromServer()
        if sock.state() != QLocalSocket.UnconnectedState:
            sock.waitForDisconnected(TIMEOUT_MS)
        return written  # a server listening on our name is a live instance: it has the message

    def listen(self) -> bool:
        QLocalServer.removeServer(self.name)  # a stale socket from a crash: hand_over found nobody there
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.UserAccessOption)
        self.server.newConnection.connect(self._accept)
        return self.server.listen(self.name)

    def _accept(self) -> None:
        while self.server is not None and self.server.hasPendingConnections():
            sock = self.server.nextPendingConnection()  # a child of the server, freed with it
            sock.readyRead.connect(lambda s=sock: self._read(s))

    def _read(self, sock: QLocalSocket) -> None:
        if not sock.canReadLine():
            return
        try:
            files = json.loads(bytes(sock.readLine().data()).decode("utf-8")).get("files", [])
        except (ValueError, AttributeError):
            return  # not one of ours
        self.files_received.emit([str(f) for f in files])

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
