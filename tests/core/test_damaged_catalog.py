"""A damaged or deleted catalog is named in one line and restored from its automatic backup."""

import os
import shutil

import numpy as np
import pytest

from desktop.core.library import Library
from desktop.core.similarity import similar
from tests import audio
from tests.cli.test_cli import cli


@pytest.fixture(scope="module")
def clean_library(tmp_path_factory):
    base = tmp_path_factory.mktemp("clean-catalog")
    for i in range(6):
        audio.write(base / "music" / f"t{i}.flac", audio.render(["drums", "pad", "plucked"][i % 3], 2.0, seed=i))
    out = cli("index", base / "music", "--embedder", "spectral", home=base / "home")
    assert out.returncode == 0, out.stderr
    answers = {tid: cli("similar", tid, "-k", "3", home=base / "home").stdout for tid in (1, 4)}
    return base, answers


@pytest.fixture
def library(clean_library, tmp_path):
    base, answers = clean_library
    home = tmp_path / "home"
    shutil.copytree(base / "home", home)
    return home, base / "music", answers


def hits(out) -> list:
    """(track id, score) of each hit line: the ranking, without the explanation text."""
    return [line.split("[", 1)[1].split("]")[0] + line.split("[", 1)[0].split()[-1]
            for line in out.splitlines() if line[:4].strip().isdigit() and "[" in line]


def same_answers(home, answers):
    for tid, want in answers.items():
        out = cli("similar", tid, "-k", "3", home=home)
        assert out.returncode == 0 and hits(out.stdout) == hits(want) and hits(want), out.stderr


def test_each_index_run_leaves_a_sound_backup(library):
    home, _, _ = library
    backup = home / "catalog.backup.sqlite3"
    assert backup.exists()
    with Library.open(backup.parent, lock=False) as lib:  # the backup is a real catalog with every vector
        assert lib.catalog.counts()["indexed"] == 6


def test_garbled_pages_are_one_line_and_repair_restores_the_backup(library):
    home, music, answers = library
    catalog = home / "catalog.sqlite3"
    assert not (home / "catalog.sqlite3-wal").exists() or (home / "catalog.sqlite3-wal").stat().st_size == 0
    with open(catalog, "r+b") as f:
        for page in (2, 3, 4):
            f.seek(4096 * page)
            f.write(os.urandom(4096))
    for args in (["check"], ["index", music], ["tracks"], ["status"]):
        out = cli(*args, home=home)
        assert "Traceback" not in out.stderr, (args, out.stderr)
        if out.returncode:
            assert len(out.stderr.strip().splitlines()) == 1 and "check --repair" in out.stderr, (args, out.stderr)
    out = cli("check", home=home)
    assert out.returncode == 1 and "the catalog is damaged" in out.stderr
    out = cli("check", "--repair", home=home)
    assert out.returncode == 0 and "restored from its last good copy" in out.stdout, out.stdout + out.stderr
    assert list(home.glob("catalog.sqlite3.damaged-*"))  # moved aside, not deleted
    assert cli("check", home=home).returncode == 0
    same_answers(home, answers)


def test_deleted_catalog_never_answers_from_the_store_alone(library):
    home, _, answers = library
    (home / "catalog.sqlite3").unlink()
    out = cli("similar", "1", home=home)
    assert out.returncode == 1 and "the catalog is missing" in out.stderr and "check --repair" in out.stderr
    out = cli("check", "--repair", home=home)
    assert out.returncode == 0 and "restored from its last good copy" in out.stdout, out.stdout + out.stderr
    same_answers(home, answers)


def test_similar_never_returns_a_point_the_catalog_lacks(library):
    home, _, _ = library
    with Library.open(home) as lib:
        store = lib.store()
        query = store.get_vectors([1])[1]
        store.upsert([(999, query + 0.01 * np.ones_like(query), {"title": "ghost", "path": "/nowhere"})])
        assert 999 in {h.id for h in store.search(query, 5)}
        hits = similar(lib, 1, k=5)
        assert hits and 999 not in {h.track_id for h in hits} and "ghost" not in {h.title for h in hits}
