"""`soundalike model list|pull|remove` and `index` fetching a missing model, in subprocesses, against the
local hub of tests/hub.py (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import os

from tests import audio
from tests.cli.test_cli import cli

REPO = "someone/tiny-w2v"


def test_model_pull_list_remove(home, local_hub, tiny_model_dir):
    local_hub.add_folder(REPO, tiny_model_dir)
    out = cli("model", "list", home=home)
    assert out.returncode == 0 and "no models downloaded" in out.stdout
    out = cli("model", "pull", REPO, home=home)
    assert out.returncode == 0, out.stderr
    assert f"downloaded {REPO}" in out.stderr and "it loads" in out.stderr
    out = cli("model", "list", home=home)
    assert REPO in out.stdout and "MB" in out.stdout
    out = cli("model", "remove", REPO, home=home)
    assert out.returncode == 0 and f"removed {REPO}" in out.stdout
    out = cli("model", "remove", REPO, home=home)
    assert out.returncode == 1 and "not in the cache" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_index_with_an_explicit_model_downloads_it_first(home, local_hub, tiny_model_dir, tmp_path):
    local_hub.add_folder(REPO, tiny_model_dir)
    music = tmp_path / "music"
    for i in range(2):
        audio.write(music / f"t{i}.wav", audio.render("pad", 2.0, seed=i))
    out = cli("index", music, "--embedder", "wav2vec2", "--model", REPO, "--device", "cpu", home=home)
    assert out.returncode == 0, out.stderr
    assert "not downloaded yet: downloading it" in out.stderr and f"downloaded {REPO}" in out.stderr
    assert "2 indexed" in out.stdout
    listing = cli("model", "list", home=home).stdout
    assert f"used by the library in {os.path.realpath(home)}" in listing


def test_unreachable_hub_is_one_line_and_the_default_fallback_says_how_to_get_the_model(home, local_hub, tmp_path):
    env = {"HF_ENDPOINT": "http://127.0.0.1:9"}
    out = cli("model", "pull", home=home, env=env)
    assert out.returncode == 1 and "cannot reach the model hub" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    music = tmp_path / "music"
    audio.write(music / "a.wav", audio.render("pad", 2.0, seed=1))
    out = cli("index", music, home=home, env=env)  # default embedder, model not downloaded: built-in analysis
    assert out.returncode == 0, out.stderr
    notice = [line for line in out.stderr.splitlines() if "notice" in line]
    assert len(notice) == 1 and "soundalike model pull facebook/wav2vec2-base" in notice[0]
