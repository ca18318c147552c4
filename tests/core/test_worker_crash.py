"""Crashing workers and decoders: every file in flight is accounted for, a native crash costs one file only."""

import json
import signal

import numpy as np
import pytest

from desktop.core.library import Library
from tests import audio
from tests.cli.test_cli import cli


@pytest.fixture
def music(tmp_path):
    root = tmp_path / "music"
    for i in range(11):  # enough that a pool breaks with files still waiting to be submitted
        audio.write(root / f"t{i:02d}.flac", audio.render(["drums", "pad", "plucked"][i % 3], 2.0, seed=i))
    audio.write(root / "bad.flac", audio.render("pad", 2.0, seed=99))
    return root


def test_a_file_that_segfaults_the_decoder_fails_alone(home, music):
    out = cli("index", music, "--embedder", "spectral", "--workers", "2", home=home,
              env={"SOUNDALIKE_CRASH_ON": "bad.flac"})
    assert out.returncode == 0, out.stderr
    assert "11 indexed" in out.stdout and "1 failed" in out.stdout and "pending" not in out.stdout
    assert "bad.flac: the decoder crashed on this file" in out.stdout
    assert "bad.flac: the decoder crashed on this file" in cli("tracks", "--failed", home=home).stdout
    assert cli("check", home=home).returncode == 0


def test_a_killed_worker_loses_no_file(home, music):
    """Each worker SIGKILLs itself at its 2nd file: the pool breaks again and again, nothing is lost."""
    out = cli("index", music, "--embedder", "spectral", "--workers", "2", home=home,
              env={"SOUNDALIKE_CRASH_AT": "worker-analyze:2"})
    assert out.returncode == 0, out.stderr
    assert "12 indexed" in out.stdout and "0 failed" in out.stdout and "pending" not in out.stdout
    assert "12 indexed" in cli("status", home=home).stdout
    assert cli("check", home=home).returncode == 0


def test_last_file_and_similar_file_crash_in_a_child_only(home, music, tmp_path):
    crash = {"SOUNDALIKE_CRASH_ON": "bad.flac"}
    out = cli("index", music / "bad.flac", "--embedder", "spectral", home=home, env=crash)  # the only file
    assert out.returncode == 0 and "1 failed" in out.stdout, out.stderr
    assert cli("index", music, home=home).returncode == 0
    out = cli("similar", music / "bad.flac", home=home, env=crash)  # analysed on the fly (it failed)
    assert out.returncode == 1 and out.returncode != -signal.SIGSEGV
    assert "bad.flac: the decoder crashed on this file" in out.stderr and "Traceback" not in out.stderr
    outside = audio.write(tmp_path / "outside.flac", audio.render("drums", 2.0, seed=5))
    assert cli("similar", outside, "-k", "3", home=home, env=crash).returncode == 0
    out = cli("passages", music / "bad.flac", home=home, env=crash)  # a passage search by the file, too
    assert out.returncode == 1 and "bad.flac: the decoder crashed on this file" in out.stderr, out.stderr
    out = cli("passages", outside, "-k", "3", home=home, env=crash)
    assert out.returncode == 0 and "passages like" in out.stdout, out.stderr


def test_a_file_that_segfaults_the_decoder_of_a_model_fails_alone(home, music, tiny_model_dir, tmp_path):
    """wav2vec2 (a tiny random one): the model runs in the main process, the decoding in a child, so a
    decoder's segfault costs that file only; in the middle of a run, as the only file, and for `similar FILE`."""
    crash = {"SOUNDALIKE_CRASH_ON": "bad.flac"}
    model = ["--embedder", "wav2vec2", "--model", tiny_model_dir, "--device", "cpu", "--no-passages"]
    out = cli("index", music / "bad.flac", *model, home=home, env=crash)  # the only file, and the first
    assert out.returncode == 0 and "0 indexed" in out.stdout and "1 failed" in out.stdout, out.stderr
    assert "bad.flac: the decoder crashed on this file" in out.stdout
    out = cli("index", music, *model, "--retry-failed", home=home, env=crash)  # in the middle of the run
    assert out.returncode == 0, out.stderr
    assert "11 indexed" in out.stdout and "1 failed" in out.stdout and "pending" not in out.stdout, out.stdout
    assert "bad.flac: the decoder crashed on this file" in cli("tracks", "--failed", home=home).stdout
    assert cli("check", home=home).returncode == 0
    out = cli("similar", music / "bad.flac", home=home, env=crash)  # a failed track: analysed on the fly
    assert out.returncode == 1 and "bad.flac: the decoder crashed on this file" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    outside = audio.write(tmp_path / "outside.flac", audio.render("drums", 2.0, seed=5))
    out = cli("similar", outside, "-k", "3", "--json", home=home, env=crash)
    assert out.returncode == 0 and len(json.loads(out.stdout)) == 3, out.stderr


def test_similar_file_searches_the_librarys_own_vector_space(home, music, tiny_model_dir, tmp_path):
    """Item 7: the settings now name a wav2vec2 model, the library holds spectral vectors."""
    assert cli("index", music, "--embedder", "spectral", home=home).returncode == 0
    (home / "config.json").write_text(f'{{"embedder": "wav2vec2", "model": "{tiny_model_dir}"}}')
    outside = audio.write(tmp_path / "outside.flac", audio.render("drums", 2.0, seed=5))
    out = cli("similar", outside, "-k", "3", "--json", home=home)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)) == 3


def test_kill_between_statistics_and_refit_marker_leaves_no_half_state(home, music):
    """Item 8: new statistics and the "store not rewritten yet" marker are one transaction."""
    out = cli("index", music, "--embedder", "spectral", home=home,
              env={"SOUNDALIKE_CRASH_AT": "between-statistics-and-marker:1"})
    assert out.returncode == -signal.SIGKILL
    with Library.open(home) as lib:
        assert lib.catalog.standardizer(lib.active_key) is None  # rolled back with the marker
    assert cli("index", music, home=home).returncode == 0
    with Library.open(home) as lib:
        key = lib.active_key
        assert lib.catalog.standardizer(key) is not None and not lib.catalog.meta("refit_pending:" + key)
        raws = dict(lib.catalog.raw_vectors(key))
        stored = lib.store().get_vectors(raws)
        assert set(stored) == set(raws)
        for tid, raw in raws.items():
            want = lib.space().to_unit(raw)
            want = want / np.linalg.norm(want)
            assert np.allclose(stored[tid], want, atol=1e-4)  # the store is on the new statistics
