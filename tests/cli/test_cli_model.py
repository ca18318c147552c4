"""`soundalike model list|pull|remove` and `index` fetching a missing model, in subprocesses, against the
local hub of tests/hub.py (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import json
import os

from tests import audio
from tests.cli.test_cli import cli

REPO = "someone/tiny-w2v"


def test_model_pull_list_remove(home, local_hub, tiny_model_dir):
    local_hub.add_folder(REPO, tiny_model_dir)
    out = cli("model", "list", home=home, timeout=600)
    assert out.returncode == 0 and "no models downloaded" in out.stdout
    out = cli("model", "pull", REPO, home=home, timeout=600)
    assert out.returncode == 0, out.stderr
    assert f"downloaded {REPO}" in out.stderr and "it loads" in out.stderr
    out = cli("model", "list", home=home, timeout=600)
    assert REPO in out.stdout and "MB" in out.stdout
    out = cli("model", "remove", REPO, home=home, timeout=600)
    assert out.returncode == 0 and f"removed {REPO}" in out.stdout
    out = cli("model", "remove", REPO, home=home, timeout=600)
    assert out.returncode == 1 and "not in the cache" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_index_with_an_explicit_model_downloads_it_first(home, local_hub, tiny_model_dir, tmp_path):
    local_hub.add_folder(REPO, tiny_model_dir)
    music = tmp_path / "music"
    for i in range(2):
        audio.write(music / f"t{i}.wav", audio.render("pad", 2.0, seed=i))
    out = cli("index", music, "--embedder", "wav2vec2", "--model", REPO, "--device", "cpu", home=home, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "not downloaded yet: downloading it" in out.stderr and f"downloaded {REPO}" in out.stderr
    assert "2 indexed" in out.stdout
    listing = cli("model", "list", home=home, timeout=600).stdout
    assert f"used by the library in {os.path.realpath(home)}" in listing


def test_unreachable_hub_is_one_line_and_the_default_fallback_says_how_to_get_the_model(home, local_hub, tmp_path):
    env = {"HF_ENDPOINT": "http://127.0.0.1:9"}
    out = cli("model", "pull", home=home, env=env, timeout=600)
    assert out.returncode == 1 and "cannot reach the model hub" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    music = tmp_path / "music"
    audio.write(music / "a.wav", audio.render("pad", 2.0, seed=1))
    out = cli("index", music, home=home, env=env, timeout=600)  # default model not downloaded: built-in analysis
    assert out.returncode == 0, out.stderr
    notice = [line for line in out.stderr.splitlines() if "notice" in line]
    assert len(notice) == 1 and "soundalike model pull facebook/wav2vec2-base" in notice[0]


def test_eval_with_a_layer_range_and_a_layer_sweep(home, tmp_path, tiny_model_dir):
    labelled = tmp_path / "labelled"
    for family in ("pad", "drums"):
        for i in range(3):
            audio.write(labelled / family / f"{family}{i}.wav", audio.render(family, 2.0, seed=i), channels=1)
    common = ("--model", tiny_model_dir, "--device", "cpu")
    out = cli("eval", labelled, *common, "--layer", "1-2", "--json", "-k", "2", home=home, timeout=600)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["tracks"] == 6
    out = cli("eval", labelled, *common, "--layer", "9", home=home, timeout=600)
    assert out.returncode == 2 and "layer 9 does not exist" in out.stderr
    out = cli("eval", labelled, *common, "--sweep-layers", "-k", "2", home=home, timeout=600)
    assert out.returncode == 0, out.stderr
    table = [line.split() for line in out.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [int(row[0]) for row in table] == [0, 1, 2, 3]  # the tiny model has 3 transformer layers
    assert all(0.0 <= float(x) <= 1.0 for row in table for x in row[1:4])
    assert sum("<- best mAP" in line for line in out.stdout.splitlines()) == 1
    assert "--layer" in out.stdout.splitlines()[-1]
