"""The disk holding the library fills up mid-run: a clear message, nothing lost, and `index` goes on later.

On a real size-limited file system (a tmpfs mounted for the test), so the store's memory-mapped files
really have no room to grow. Mounting needs root."""

import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from desktop.core.diskspace import MIN_FREE_MB, free_mb
from tests import audio
from tests.cli.test_cli import cli


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200M", "tmpfs", str(disk)]).returncode:
        pytest.skip("this machine does not allow mounting a tmpfs (no CAP_SYS_ADMIN)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)])


def indexed(home) -> int:
    db = sqlite3.connect(f"file:{home / 'catalog.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT COUNT(*) FROM tracks WHERE status='indexed'").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        db.close()


def test_disk_full_mid_run_is_a_message_and_index_goes_on(small_disk, tmp_path):
    home = small_disk / "home"
    first, more = tmp_path / "first", tmp_path / "more"
    for i in range(4):
        audio.write(first / f"f{i}.flac", audio.render("pad", 2.0, seed=i))
    for i in range(24):
        audio.write(more / f"m{i:02d}.flac", audio.render(["drums", "plucked"][i % 2], 3.0, seed=10 + i))
    assert cli("index", first, "--embedder", "spectral", "--workers", "1", home=home).returncode == 0

    filler = small_disk / "filler"

    def fill_when_some_are_indexed():  # the disk fills while the run is going
        deadline = time.monotonic() + 300
        while indexed(home) < 7 and time.monotonic() < deadline:
            time.sleep(0.02)
        with open(filler, "wb") as f:
            os.posix_fallocate(f.fileno(), 0, int((free_mb(small_disk) - MIN_FREE_MB / 2) * 2**20))

    filling = threading.Thread(target=fill_when_some_are_indexed)
    filling.start()
    env = {**os.environ, "SOUNDALIKE_HOME": str(home)}
    out = subprocess.run([sys.executable, "-m", "desktop", "index", str(more), "--workers", "1"],
                         capture_output=True, text=True, env=env, timeout=600)
    filling.join()
    assert out.returncode == 1, (out.returncode, out.stdout, out.stderr)  # not 135 (SIGBUS)
    assert "Traceback" not in out.stderr and "is full" in out.stderr
    assert "nothing already indexed was lost" in out.stderr
    kept = indexed(home)
    assert 7 <= kept < 28
    for args in (["check"], ["similar", "1"]):  # on the full disk: the same message, never SIGBUS
        full = cli(*args, home=home)
        assert full.returncode == 1 and "is full" in full.stderr and "Traceback" not in full.stderr, full.stderr

    filler.unlink()  # space freed: the next run goes on where this one stopped
    assert cli("check", home=home).returncode == 0
    out = cli("index", more, home=home)
    assert out.returncode == 0 and f"{28 - kept} indexed" in out.stdout, out.stdout + out.stderr
    assert indexed(home) == 28 and cli("check", home=home).returncode == 0
