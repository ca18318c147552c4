"""The CLI end to end, in subprocesses, on synthesized audio: index, similar, status, tracks, errors."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from desktop.core.embedders.spectral import SpectralEmbedder
from tests import audio


def cli(*args, home, timeout=180, env=None):
    full_env = {**os.environ, "SOUNDALIKE_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "desktop", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=full_env)


def test_index_then_similar_ranks_own_family_first(home, family_dir):
    out = cli("index", family_dir, "--embedder", "spectral", home=home)
    assert out.returncode == 0, out.stderr
    assert "12 indexed" in out.stdout and "0 failed" in out.stdout
    again = cli("index", family_dir, "--embedder", "spectral", home=home)
    assert "0 indexed, 12 unchanged" in again.stdout
    query = sorted((family_dir / "drums").iterdir())[0]
    out = cli("similar", query, "-k", "3", "--json", home=home)
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)
    assert len(hits) == 3
    assert all(h["genre"] == "drums" for h in hits), hits
    assert str(query) not in [h["path"] for h in hits]
    # by track id, in text form
    tid = hits[0]["track_id"]
    out = cli("similar", tid, "-k", "2", home=home)
    assert out.returncode == 0 and "[" in out.stdout
    status = cli("status", home=home)
    assert "12 indexed" in status.stdout and "spectral" in status.stdout


def test_similar_to_a_file_outside_the_library_does_not_add_it(home, family_dir, tmp_path):
    assert cli("index", family_dir, "--embedder", "spectral", home=home).returncode == 0
    outside = audio.write(tmp_path / "new pad.flac", audio.render("pad", 6.0, seed=777))
    out = cli("similar", outside, "-k", "3", "--json", home=home)
    assert out.returncode == 0, out.stderr
    assert [h["genre"] for h in json.loads(out.stdout)] == ["pad"] * 3
    assert "12 indexed" in cli("status", home=home).stdout


def test_failures_are_listed_with_their_cause(home, tmp_path):
    music = tmp_path / "music"
    audio.write(music / "good.wav", audio.render("pad", 3.0, seed=1))
    (music / "bad.mp3").write_text("not audio at all\n" * 20)
    out = cli("index", music, "--embedder", "spectral", home=home)
    assert out.returncode == 0
    assert "1 indexed" in out.stdout and "1 failed" in out.stdout and "bad.mp3" in out.stdout
    failed = cli("tracks", "--failed", home=home)
    assert "bad.mp3" in failed.stdout and "not an audio file" in failed.stdout


@pytest.mark.parametrize("args, message", [
    (["index", "/no/such/folder"], "/no/such/folder: no such file or folder"),
    (["similar", "999"], "no library at"),  # a read-only command never creates a library
    (["index", ".", "--embedder", "nope"], "invalid choice"),
    (["similar", "x", "-k", "0", "--home", "{home}"], "-k must be between 1 and 10000"),
])
def test_errors_are_one_line_without_traceback(home, args, message):
    args = [a.format(home=home) for a in args]
    out = cli(*args, home=home)
    assert out.returncode != 0
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_missing_model_is_a_clear_error_when_asked_for_and_a_fallback_otherwise(home, family_dir, tmp_path):
    out = cli("index", family_dir, "--embedder", "wav2vec2", "--model", tmp_path / "no-model", home=home, timeout=60)
    assert out.returncode == 1 and "no-model" in out.stderr and "Traceback" not in out.stderr
    out = cli("index", family_dir, home=home, env={"SOUNDALIKE_MODEL": "facebook/wav2vec2-base"})
    assert out.returncode == 0, out.stderr
    assert "using the built-in analysis" in out.stderr and "soundalike model pull" in out.stderr


def test_killed_mid_index_resumes_without_duplicates(home, tmp_path):
    music = tmp_path / "music"
    for i in range(24):
        audio.write(music / f"f{i % 3}" / f"t{i:02d}.flac", audio.render(list(audio.FAMILIES)[i % 3], 8.0, seed=i))
    env = {**os.environ, "SOUNDALIKE_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "index", str(music), "--embedder", "spectral",
                             "--workers", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    from desktop.core.catalog import Catalog

    deadline = time.monotonic() + 120
    catalog_path = home / "catalog.sqlite3"
    while time.monotonic() < deadline:
        if catalog_path.exists() and Catalog(catalog_path).counts()["indexed"] >= 5:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = Catalog(catalog_path).counts()["indexed"]
    assert 5 <= done_before < 24
    out = cli("index", music, "--embedder", "spectral", home=home)
    assert out.returncode == 0, out.stderr
    assert f"{24 - done_before} indexed" in out.stdout or f"{24 - done_before - 1} indexed" in out.stdout
    check = cli("check", home=home)
    assert check.returncode == 0 and "catalog and store agree" in check.stdout, check.stdout
    assert "24 points in the store" in check.stdout


def test_switching_embedder_reindexes_with_a_clear_message(home, tmp_path, tiny_model_dir):
    music = tmp_path / "music"
    for i in range(3):
        audio.write(music / f"t{i}.wav", audio.render("pad", 2.0, seed=i))
    assert "3 indexed" in cli("index", music, "--embedder", "spectral", home=home).stdout
    out = cli("index", music, "--embedder", "wav2vec2", "--model", tiny_model_dir, "--device", "cpu", home=home)
    assert out.returncode == 0, out.stderr
    assert f"vectors were made by {SpectralEmbedder().key}" in out.stderr and "3 indexed" in out.stdout
    back = cli("index", music, "--embedder", "spectral", home=home)
    assert "0 indexed, 3 unchanged" in back.stdout  # the spectral vectors were kept


def test_the_self_test_passes_from_source_too(home):
    """What a build runs to prove itself (the bundle's test runs it frozen): spectral, a tiny wav2vec2, the window's
    way (the store served by a child process) and Qt, offscreen."""
    out = cli("--self-test", home=home, env={"QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "the window's way (store process): indexed 6 clips, similar ok" in out.stdout
    assert "self-test: all ok" in out.stdout
