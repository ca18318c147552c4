"""Faults of the machine, injected at its edges: a read-only library folder, a full disk, a dead server."""

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from desktop.core.errors import StoreUnavailable
from tests import audio


def soundalike(*args, home, preexec=None, timeout=120):
    env = {**os.environ, "SOUNDALIKE_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "desktop", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout, preexec_fn=preexec)


@pytest.fixture
def indexed_library(home, tmp_path):
    music = tmp_path / "music"
    for i in range(4):
        audio.write(music / f"t{i}.flac", audio.render("pad", 3.0, seed=i))
    assert soundalike("index", music, "--embedder", "spectral", home=home).returncode == 0
    return home, music


def test_disk_full_is_a_clear_error_and_the_library_survives(indexed_library, tmp_path):
    home, music = indexed_library
    more = tmp_path / "more"
    for i in range(6):
        audio.write(more / f"m{i}.flac", audio.render("drums", 3.0, seed=i))
    biggest = (home / "catalog.sqlite3").stat().st_size  # the catalog cannot grow: "no space left"

    def full_disk():  # no file may grow past its current size: every write that needs space fails
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (biggest, biggest))

    out = soundalike("index", more, "--embedder", "spectral", home=home, preexec=full_disk)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) <= 3
    assert "soundalike: error:" in out.stderr
    # without the limit: what was there is intact and the next run finishes the job
    check = soundalike("check", home=home)
    assert check.returncode in (0, 1), check.stderr
    if check.returncode == 1:
        assert soundalike("check", "--repair", home=home).returncode == 0
    out = soundalike("index", more, "--embedder", "spectral", home=home)
    assert out.returncode == 0, out.stderr
    assert "10 indexed" in soundalike("status", home=home).stdout
    assert soundalike("check", home=home).returncode == 0


def test_read_only_library_folder_is_a_clear_error():
    """As root permissions do not apply, so the command runs as an unprivileged user (after imports)."""
    work = Path(tempfile.mkdtemp(prefix="sa-ro-"))
    try:
        home = work / "home"
        home.mkdir()
        work.chmod(0o755)
        home.chmod(0o555)
        code = (
            "import os, sys\n"
            "from desktop.core.library import Library\n"
            "from desktop.core.errors import SoundalikeError\n"
            "import desktop.core.catalog, sqlite3, json, platformdirs\n"
            "if os.geteuid() == 0: os.setgid(65534); os.setuid(65534)\n"
            "try:\n"
            "    Library.open(sys.argv[1]).close()\n"
            "except SoundalikeError as e:\n"
            "    print(e)\n"
        )
        out = subprocess.run([sys.executable, "-c", code, str(home)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "cannot write to the library folder" in out.stdout and str(home) in out.stdout
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_unreachable_qdrant_url_fails_fast_and_clearly(indexed_library):
    home, _ = indexed_library
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    out = subprocess.run(
        [sys.executable, "-m", "desktop", "similar", "1"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "SOUNDALIKE_HOME": str(home), "SOUNDALIKE_QDRANT_URL": f"http://127.0.0.1:{port}"})
    assert out.returncode == 1
    assert f"127.0.0.1:{port}" in out.stderr and "unreachable" in out.stderr  # how fast: bench/timeouts.py


def test_open_store_on_hanging_server_gives_up_within_the_timeout():
    from desktop.core.store import open_store

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)  # accepts connections, never answers
        port = server.getsockname()[1]
        with pytest.raises(StoreUnavailable):  # how fast: bench/timeouts.py
            open_store("/nonexistent", "spectral-v1-8", 8, url=f"http://127.0.0.1:{port}", timeout=1.0)
