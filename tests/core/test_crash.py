"""SIGKILL the indexer at exact points: the next run finishes, catalog and store agree, nothing is redone."""

import os
import signal
import subprocess
import sys
import time

import pytest

from desktop.core.catalog import Catalog
from tests import audio
from tests.badfiles import write_long

N = 9


def run_index(home, music, crash_at=None, timeout=180):
    env = {**os.environ, "SOUNDALIKE_HOME": str(home)}
    if crash_at:
        env["SOUNDALIKE_CRASH_AT"] = crash_at
    cmd = [sys.executable, "-m", "desktop", "index", str(music), "--embedder", "spectral", "--workers", "1",
           "--no-passages"]  # the first pass only; tests/core/test_passages.py kills the second
    return subprocess.run(cmd,
                          capture_output=True, text=True, env=env, timeout=timeout)


def run_check(home, repair=False):
    args = ["check", "--repair"] if repair else ["check"]
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True,
                          env={**os.environ, "SOUNDALIKE_HOME": str(home)}, timeout=120)


@pytest.fixture(scope="module")
def music(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash-music")
    for i in range(N):
        family = list(audio.FAMILIES)[i % 3]
        audio.write(root / family / f"{family}{i}.flac", audio.render(family, 4.0, seed=50 + i))
    return root


def indexed_times(home):
    cat = Catalog(home / "catalog.sqlite3")
    return {t.id: t.indexed_at for t in cat.tracks(status="indexed")}


@pytest.mark.parametrize("stage", ["before-store", "after-store", "after-commit"])
def test_sigkill_at_each_stage_then_resume(home, music, stage):
    crashed = run_index(home, music, crash_at=f"{stage}:4")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    before = indexed_times(home)
    assert len(before) == (4 if stage == "after-commit" else 3)
    check = run_check(home)
    if stage == "after-store":  # the 4th point was written, its catalog row never committed: an orphan
        assert check.returncode == 1 and "1 in the store but not searchable" in check.stdout
        assert run_check(home, repair=True).returncode == 0
    else:
        assert check.returncode == 0, check.stdout
    done = run_index(home, music)
    assert done.returncode == 0, done.stderr
    assert f"{N - len(before)} indexed" in done.stdout
    after = indexed_times(home)
    assert len(after) == N
    assert all(after[tid] == t for tid, t in before.items())  # nothing already indexed was redone
    final = run_check(home)
    assert final.returncode == 0 and f"{N} points in the store" in final.stdout, final.stdout


def test_sigkill_while_decoding_a_long_file(home, tmp_path, music):
    folder = tmp_path / "with-long"
    for p in sorted(music.rglob("*.flac"))[:3]:
        audio.write(folder / p.name, audio.render("pad", 3.0, seed=len(p.name)))
    write_long(folder / "zz-long.flac", 1200)
    env = {**os.environ, "SOUNDALIKE_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "index", str(folder), "--embedder", "spectral",
                             "--workers", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the three short files are done: the long one is being decoded
        if (home / "catalog.sqlite3").exists() and Catalog(home / "catalog.sqlite3").counts()["indexed"] >= 3:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert Catalog(home / "catalog.sqlite3").counts()["indexed"] == 3
    assert run_check(home).returncode == 0
    done = run_index(home, folder)
    assert done.returncode == 0 and "1 indexed, 3 unchanged" in done.stdout, done.stdout
    assert run_check(home).returncode == 0
