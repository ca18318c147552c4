"""How fast Soundalike gives up or answers where a user waits: the wall-clock targets the tests no longer assert.

    .venv/bin/python bench/timeouts.py [--json]

The tests check the behaviour (the right error, the right message, nothing hangs for ever); the time it
takes depends on the machine's load, so it is measured here, with the target beside each number:
- an unreachable Qdrant server: refused port (< 1 s), silent server (the 1 s timeout, < 2 s), a server that
  trickles bytes (the hard deadline, < 3 s), gRPC to a closed port (< 5 s), `soundalike similar` on an
  unreachable server (< 15 s);
- a missing Wav2Vec2 model folder is refused (< 3 s, no network);
- the library table over 50,000 tracks: model built (< 1 s), filtered to 25,000 rows (< 1 s);
- indexing cancelled: from the cancel to the end of the job (< 1 s; the window adds a signal's delivery).
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop.core.errors import ModelUnavailable, StoreUnavailable  # noqa: E402
from desktop.core.store import open_store  # noqa: E402


def timed(fn) -> float:
    t = time.monotonic()
    fn()
    return time.monotonic() - t


def expect(exc_type, fn):
    def run():
        try:
            fn()
        except exc_type:
            return
        raise AssertionError(f"{exc_type.__name__} was not raised")
    return run


def remote(url: str, timeout: float) -> None:
    open_store("/nonexistent", "bench-v1-8", 8, url=url, timeout=timeout)


def refused_port() -> float:
    import desktop.core.store.remote  # noqa: F401  (qdrant-client's import is not the network's time)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        return timed(expect(StoreUnavailable, lambda: remote(url, 2.0)))


def silent_server() -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        return timed(expect(StoreUnavailable, lambda: remote(url, 1.0)))


def trickling_server() -> float:
    stop = threading.Event()
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        srv.settimeout(5)

        def trickle():
            conn, _ = srv.accept()
            with conn:
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                while not stop.wait(0.3):
                    conn.sendall(b"X-Slow: 1\r\n")

        threading.Thread(target=trickle, daemon=True).start()
        url = f"http://127.0.0.1:{srv.getsockname()[1]}"
        try:
            return timed(expect(StoreUnavailable, lambda: remote(url, 1.0)))
        finally:
            stop.set()


def grpc_closed_port() -> float:
    from desktop.core.store.server import ServerConfig

    def port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    config = ServerConfig(url=f"http://127.0.0.1:{port()}", prefer_grpc=True, grpc_port=port(), timeout=2)
    return timed(expect(StoreUnavailable, lambda: open_store("", "bench-v1-4", 4, server=config)))


def cli_similar_unreachable(home: Path) -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SOUNDALIKE_HOME": str(home), "SOUNDALIKE_QDRANT_URL": f"http://127.0.0.1:{port}"}
    return timed(lambda: subprocess.run([sys.executable, "-m", "desktop", "similar", "1"], capture_output=True,
                                        env=env, timeout=120, cwd=ROOT))


def missing_model(tmp: Path) -> float:
    from desktop.core.embedders.wav2vec2 import Wav2Vec2Embedder

    return timed(expect(ModelUnavailable, lambda: Wav2Vec2Embedder(str(tmp / "no-such-model"))))


def table_50k(tmp: Path) -> tuple[float, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from desktop.core.catalog import Catalog, Track
    from desktop.ui.library_model import LibraryModel

    _app = QApplication.instance() or QApplication([])
    cat = Catalog(tmp / "big.sqlite3")
    with cat.transaction():
        for i in range(50_000):
            cat.add_track(Track(id=0, path=f"/music/a{i // 100}/t{i}.flac", title=f"Song {i}", artist=f"A{i % 500}",
                                genre=("jazz", "rock")[i % 2], duration=100 + i % 200, status="indexed"))
    model = None

    def build():
        nonlocal model
        model = LibraryModel(cat)

    built = timed(build)
    filtered = timed(lambda: model.set_filter("jazz"))
    cat.close()
    return built, filtered


def cancel_to_stop(tmp: Path) -> float:
    from dataclasses import replace

    from desktop.core.config import load_settings
    from desktop.core.events import TrackDone
    from desktop.core.indexer import scan_and_index
    from desktop.core.library import Library
    from tests.audio import write_families

    music = tmp / "music"
    write_families(music, per_family=12, seconds=6.0)
    home = tmp / "cancel-home"
    replace(load_settings(home), embedder="spectral").save()
    cancel, done, since = threading.Event(), 0, None
    with Library.open(home) as lib:
        for ev in scan_and_index(lib, [str(music)], cancel=cancel):
            done += isinstance(ev, TrackDone)
            if done >= 3 and since is None:
                cancel.set()
                since = time.monotonic()
    return time.monotonic() - since


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        built, filtered = table_50k(tmp)
        rows = [
            ("refused Qdrant port -> StoreUnavailable", refused_port(), 1.0),
            ("silent Qdrant server (timeout 1 s) -> StoreUnavailable", silent_server(), 2.0),
            ("trickling Qdrant server (timeout 1 s) -> StoreUnavailable", trickling_server(), 3.0),
            ("gRPC to a closed port (timeout 2 s) -> StoreUnavailable", grpc_closed_port(), 5.0),
            ("`soundalike similar` on an unreachable server", cli_similar_unreachable(tmp / "home"), 15.0),
            ("missing Wav2Vec2 folder -> ModelUnavailable", missing_model(tmp), 3.0),
            ("library table over 50,000 tracks built", built, 1.0),
            ("library table filtered to 25,000 rows", filtered, 1.0),
            ("indexing cancelled -> the job ends", cancel_to_stop(tmp), 1.0),
        ]
    if args.json:
        print(json.dumps([{"what": w, "seconds": round(s, 3), "target_s": t} for w, s, t in rows], indent=2))
    else:
        for what, seconds, target in rows:
            print(f"{what:<60} {seconds:7.2f} s  (target < {target:g} s){'' if seconds < target else '  MISSED'}")
    return 0 if all(s < t for _, s, t in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
