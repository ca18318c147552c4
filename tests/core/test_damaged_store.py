"""A damaged or missing vector store heals from the catalog's raw vectors, without decoding anything."""

import os
import shutil

import numpy as np
import pytest

from tests import audio
from tests.cli.test_cli import cli


@pytest.fixture(scope="module")
def clean_library(tmp_path_factory):
    """A library of 6 tracks indexed once; each test works on its own copy."""
    base = tmp_path_factory.mktemp("clean")
    for i in range(6):
        audio.write(base / "music" / f"t{i}.flac", audio.render(["drums", "pad", "plucked"][i % 3], 2.0, seed=i))
    out = cli("index", base / "music", "--embedder", "spectral", home=base / "home")
    assert out.returncode == 0, out.stderr
    answers = {tid: cli("similar", tid, "-k", "3", home=base / "home").stdout for tid in (1, 4)}
    return base / "home", answers


@pytest.fixture
def library(clean_library, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(clean_library[0], home)
    # the track store, not the passage index beside it (iterdir's order is the file system's, not by name)
    shard = next(p for p in (home / "vectors").iterdir() if not p.name.startswith("passages-"))
    return home, shard, clean_library[1]


def hits(out) -> list:
    """(track id, score) of each hit line: the ranking, without the explanation text."""
    return [line.split("[", 1)[1].split("]")[0] + line.split("[", 1)[0].split()[-1]
            for line in out.splitlines() if line[:4].strip().isdigit() and "[" in line]


def same_answers(home, answers):
    for tid, want in answers.items():
        out = cli("similar", tid, "-k", "3", home=home)
        assert out.returncode == 0 and hits(out.stdout) == hits(want) and hits(want), out.stderr


def test_deleted_store_heals_on_use_and_check_reports_it(library):
    home, shard, answers = library
    shutil.rmtree(home / "vectors")
    out = cli("check", home=home)
    assert out.returncode == 1 and "6 indexed in the catalog but missing from the store" in out.stdout
    same_answers(home, answers)  # restored from the catalog on open: nothing decoded
    assert cli("check", home=home).returncode == 0


def test_deleted_store_is_restored_by_index_without_decoding(library, clean_library):
    home, shard, answers = library
    shutil.rmtree(home / "vectors")
    out = cli("index", clean_library[0].parent / "music", home=home)
    assert out.returncode == 0 and "0 indexed, 6 unchanged" in out.stdout, out.stdout
    assert "6 points restored from the catalog" in out.stdout
    same_answers(home, answers)


@pytest.mark.parametrize("damage", ["wal", "config", "vectors"])
def test_damaged_store_is_named_then_rebuilt_by_check_repair(library, damage):
    home, shard, answers = library
    if damage == "wal":
        with open(shard / "wal" / "open-1", "r+b") as f:
            f.write(os.urandom(4096))
    elif damage == "config":
        (shard / "edge_config.json").write_text("{garbage")
    else:
        chunk = next(shard.glob("segments/*/vector_storage-full/vectors/chunk_0.mmap"))
        with open(chunk, "r+b") as f:
            f.write(np.full(4096, np.nan, np.float32).tobytes())
    out = cli("similar", "1", home=home)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert out.stderr.strip().endswith("(no decoding, nothing is lost)") or "check --repair" in out.stderr
    out = cli("check", home=home)
    assert out.returncode == 1 and "check --repair" in out.stdout
    out = cli("check", "--repair", home=home)
    assert out.returncode == 0 and "rebuilt from the catalog" in out.stdout, out.stdout + out.stderr
    aside = [p for p in (home / "vectors").iterdir() if ".damaged-" in p.name]
    assert len(aside) == 1 and any(aside[0].iterdir())  # the old folder is kept, not deleted
    assert cli("check", home=home).returncode == 0
    same_answers(home, answers)  # identical to the clean library
