"""`soundalike store migrate` and `store status`: embedded -> server -> embedded from the catalog's raw
vectors, a SIGKILL mid-way then a resume, and one clear line on a wrong API key.

The server is a real HTTP server on 127.0.0.1 (tests/qdrant_http.py) answered by qdrant-client's
in-process engine; it lives in this test process, so it outlives the killed migration.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.core.config import load_settings
from desktop.core.library import Library
from tests.qdrant_http import QdrantHttpServer
from tests.vector_library import KEY, add_passage_windows, make_library, passage_top, top_ids

REPO = Path(__file__).resolve().parents[2]
API_KEY = "sk-migrate-77aa"
OTHER_KEY = "other-v1-16"
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*[Pp]ayload index.*:UserWarning"),
    pytest.mark.filterwarnings("ignore:Local mode performs exact:UserWarning"),
]


@pytest.fixture
def server():
    with QdrantHttpServer(api_key=API_KEY) as srv:
        yield srv


def run_cli(home: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(REPO), "SOUNDALIKE_QDRANT_API_KEY": API_KEY, **(env or {})}
    return subprocess.run([sys.executable, "-m", "desktop", "--home", str(home), *args], cwd=REPO, env=full,
                          capture_output=True, text=True, timeout=300)


def test_migrate_to_server_and_back_gives_identical_results(home, server, capsys, monkeypatch):
    monkeypatch.setenv("SOUNDALIKE_QDRANT_API_KEY", API_KEY)
    make_library(home, 150, keys=(KEY, OTHER_KEY))
    queries = [1, 20, 77, 150]
    before = top_ids(home, queries)

    assert main(["--home", str(home), "store", "migrate", "--to", server.url, "--batch", "40"]) == 0
    out = capsys.readouterr().out
    assert f"copied 300 vectors of 2 vector space(s) to {server.url}" in out
    assert "sampled vectors identical" in out and f"the library now uses {server.url}" in out
    assert load_settings(home).qdrant_url == server.url
    assert json.loads((home / "config.json").read_text()).get("qdrant_api_key", "") == ""  # env key stays in env
    assert (home / "vectors" / KEY).is_dir()  # the old store is kept
    assert len(server.created) == 2  # every vector space, not only the active one
    on_server = top_ids(home, queries)
    assert [[i for i, _ in hits] for hits in on_server] == [[i for i, _ in hits] for hits in before]
    np.testing.assert_allclose([[s for _, s in h] for h in on_server], [[s for _, s in h] for h in before], atol=2e-3)

    assert main(["--home", str(home), "store", "migrate", "--to", "embedded"]) == 0
    assert "the library now uses embedded" in capsys.readouterr().out
    assert load_settings(home).qdrant_url == ""
    assert top_ids(home, queries) == before
    with Library.open(home) as lib:
        assert lib.store().count() == 150


def test_migrate_killed_mid_way_resumes_without_duplicates(home, server):
    make_library(home, 400)
    with Library.open(home) as lib:  # a stale point the catalog does not know must not survive the copy
        lib.store().upsert([(9999, np.ones(32, np.float32), {"title": "stale"})])
    crashed = run_cli(home, "store", "migrate", "--to", server.url, "--batch", "25",
                      env={"SOUNDALIKE_CRASH_AT": "migrate-batch:5"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert load_settings(home).qdrant_url == ""  # not switched: the copy was not complete
    (name, _), = server.created.items()
    assert server.engine.count(name).count == 125  # five batches reached the server
    with Library.open(home) as lib:
        assert json.loads(lib.catalog.meta("migrate_state"))["done"][KEY] == 100  # four were committed

    resumed = run_cli(home, "store", "migrate", "--to", server.url, "--batch", "25")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed and copied 400 vectors" in resumed.stdout
    upserts = [b for m, p, _, b in server.requests if m == "PUT" and p.startswith(f"/collections/{name}/points")]
    sent = [p["id"] for body in upserts for p in body["points"]]
    assert len(sent) == 400 + 25 and sorted(set(sent)) == list(range(1, 401))  # only the uncommitted batch twice
    assert server.engine.count(name).count == 400
    assert load_settings(home).qdrant_url == server.url

    back = run_cli(home, "store", "migrate", "--to", "embedded", "--batch", "100",
                   env={"SOUNDALIKE_CRASH_AT": "migrate-batch:2"})
    assert back.returncode == -signal.SIGKILL
    back = run_cli(home, "store", "migrate", "--to", "embedded")
    assert back.returncode == 0, back.stderr
    assert "1 stale points removed" in back.stdout  # the point 9999 the old embedded store still had
    with Library.open(home) as lib:
        assert lib.store().count() == 400 and lib.store().ids() == set(range(1, 401))


def test_passage_windows_move_with_the_library_and_back(home, server, capsys, monkeypatch):
    monkeypatch.setenv("SOUNDALIKE_QDRANT_API_KEY", API_KEY)
    make_library(home, 60)
    windows = add_passage_windows(home)
    queries = [1, 17, 42]
    before = passage_top(home, queries)
    assert len(before[0]) == 8

    assert main(["--home", str(home), "store", "status"]) == 0
    assert f"passage index: {home / 'vectors' / f'passages-{KEY}'}: {windows} windows" in capsys.readouterr().out
    assert main(["--home", str(home), "store", "migrate", "--to", server.url, "--batch", "40"]) == 0
    out = capsys.readouterr().out
    assert f"copied 60 vectors of 1 vector space(s) and {windows} passage windows to {server.url}" in out
    assert main(["--home", str(home), "store", "status"]) == 0
    assert f"-passages-{KEY} in {server.url}: {windows} windows (the catalog has {windows})" in capsys.readouterr().out
    names = sorted(server.created)
    assert len(names) == 2 and names[0].endswith(f"-passages-{KEY}")  # the windows have their own collection
    assert server.engine.count(names[0]).count == windows
    assert (home / "vectors" / f"passages-{KEY}").is_dir()  # the old passage index is kept
    on_server = passage_top(home, queries)
    assert [[(t, s) for t, s, _ in hits] for hits in on_server] == [[(t, s) for t, s, _ in hits] for hits in before]
    np.testing.assert_allclose([[x for *_, x in h] for h in on_server], [[x for *_, x in h] for h in before], atol=2e-3)

    with Library.open(home) as lib:  # on the server, a forgotten track's windows go with it
        lib.remove_tracks([17])
        assert 17 not in lib.passages().track_ids()
    left = server.engine.count(names[0]).count
    assert left < windows
    after_removal = passage_top(home, [1, 42])

    assert main(["--home", str(home), "store", "migrate", "--to", "embedded"]) == 0
    assert f"and {left} passage windows to embedded" in capsys.readouterr().out
    back = passage_top(home, [1, 42])
    assert [[(t, s) for t, s, _ in h] for h in back] == [[(t, s) for t, s, _ in h] for h in after_removal]
    with Library.open(home) as lib:  # the embedded index was rewritten whole: track 17's old windows are gone
        assert lib.passages().count() == left and 17 not in lib.passages().track_ids()


def test_migration_killed_while_copying_windows_resumes_without_duplicates(home, server):
    make_library(home, 100)
    windows = add_passage_windows(home)
    crashed = run_cli(home, "store", "migrate", "--to", server.url, "--batch", "25",
                      env={"SOUNDALIKE_CRASH_AT": "migrate-batch:8"})  # 4 batches of tracks, then windows
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert load_settings(home).qdrant_url == ""
    passages = next(n for n in server.created if "-passages-" in n)
    reached = server.engine.count(passages).count
    assert 0 < reached < windows

    resumed = run_cli(home, "store", "migrate", "--to", server.url, "--batch", "25")
    assert resumed.returncode == 0, resumed.stderr
    assert f"and {windows} passage windows" in resumed.stdout
    upserts = [b for m, p, _, b in server.requests if m == "PUT" and p.startswith(f"/collections/{passages}/points")]
    sent = [p["id"] for body in upserts for p in body["points"]]
    assert len(set(sent)) == windows == server.engine.count(passages).count
    assert len(sent) - windows <= 25 + 12  # only the batch in flight at the kill went twice
    assert load_settings(home).qdrant_url == server.url


def test_wrong_api_key_is_one_clear_line(home, server):
    make_library(home, 20)
    r = run_cli(home, "store", "migrate", "--to", server.url, env={"SOUNDALIKE_QDRANT_API_KEY": "sk-wrong-1234"})
    assert r.returncode == 1
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines == [f"soundalike: error: Qdrant server at {server.url} rejected the API key (HTTP 401): check "
                     "qdrant_api_key (config.json) or SOUNDALIKE_QDRANT_API_KEY"], r.stderr
    assert "sk-wrong" not in r.stdout + r.stderr
    assert load_settings(home).qdrant_url == ""


def test_migrate_refuses_what_makes_no_sense(home, capsys):
    make_library(home, 5)
    assert main(["--home", str(home), "store", "migrate", "--to", "embedded"]) == 1
    assert "already keeps its vectors in embedded" in capsys.readouterr().err
    assert main(["--home", str(home), "store", "migrate", "--to", "ftp://nas"]) == 1
    assert "--to takes a Qdrant server URL" in capsys.readouterr().err


def test_status_reports_the_collection(home, server, capsys, monkeypatch):
    make_library(home, 30)
    assert main(["--home", str(home), "status"]) == 0
    out = capsys.readouterr().out
    assert f"collection: {KEY} in" in out and "30 points in" in out and "segments" in out
    monkeypatch.setenv("SOUNDALIKE_QDRANT_API_KEY", API_KEY)
    assert main(["--home", str(home), "store", "migrate", "--to", server.url]) == 0
    capsys.readouterr()
    assert main(["--home", str(home), "store", "status"]) == 0
    out = capsys.readouterr().out
    assert "collection: soundalike-" in out and f"in {server.url}" in out and "30 points in 1 segments" in out
    assert "status green, optimizer ok" in out and "layout: 1 shard(s) x 1 replica(s), vectors in RAM" in out
