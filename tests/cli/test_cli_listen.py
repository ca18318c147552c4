"""radio, path, similar --m3u, playlist import --expand and duplicates, end to end in subprocesses."""

from __future__ import annotations

import json
import shutil

import pytest

from desktop.core.playlists import read_playlist, write_playlist
from tests.cli.test_cli import cli
from tests.listen_library import family_of

KEYS = {"track_id", "path", "title", "artist"}


@pytest.fixture
def lhome(listening_template, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(listening_template[0], home)
    return home, listening_template[1]


def test_radio_json_m3u_and_skips(lhome, tmp_path):
    home, info = lhome
    seed = next(iter(info["copies"]))
    out = cli("radio", seed, "-n", "8", "--json", "--m3u", tmp_path / "st.m3u8", home=home)
    assert out.returncode == 0, out.stderr
    picks = json.loads(out.stdout)
    assert len(picks) == 8 and all(KEYS | {"reason", "score"} <= set(p) for p in picks)
    assert seed not in [p["path"] for p in picks]
    assert [e.path for e in read_playlist(tmp_path / "st.m3u8")] == [p["path"] for p in picks]
    skipped = picks[0]["track_id"]
    out = cli("radio", seed, "-n", "8", "--json", "--skip", skipped, home=home)
    again = json.loads(out.stdout)
    assert skipped not in [p["track_id"] for p in again]
    assert any("away from" in p["reason"] for p in again)
    text = cli("radio", seed, "-n", "3", home=home)
    assert text.returncode == 0 and "like Plucked Artist 0" in text.stdout


def test_path_and_similar_m3u(lhome, tmp_path):
    home, info = lhome
    a = next(iter(info["copies"]))
    b = info["missing"].replace("pad_11", "pad_04")
    out = cli("path", a, b, "--steps", "6", "--json", "--m3u", tmp_path / "p.xspf", home=home)
    assert out.returncode == 0, out.stderr
    path = json.loads(out.stdout)
    steps = path["steps"]
    assert steps[0]["path"] == a and steps[-1]["path"] == b and len(steps) == 6
    assert all(KEYS | {"reason"} <= set(s) for s in steps) and path["largest_jump"] > 0
    assert [e.path for e in read_playlist(tmp_path / "p.xspf")] == [s["path"] for s in steps]
    out = cli("similar", a, "-k", "4", "--m3u", tmp_path / "s.m3u8", home=home)
    assert out.returncode == 0, out.stderr
    assert len(read_playlist(tmp_path / "s.m3u8")) == 4


def test_playlist_import_and_expand(lhome, tmp_path):
    home, info = lhome
    pads = [info["missing"].replace("pad_11", f"pad_0{i}") for i in range(3)]
    lst = write_playlist(tmp_path / "mine.m3u8", [{"path": p, "title": "t"} for p in pads]
                         + [{"path": str(tmp_path / "elsewhere.flac"), "title": "gone"}], relative=True)
    out = cli("playlist", "import", lst, "--expand", "5", "--json", home=home)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert [t["path"] for t in res["tracks"]] == pads
    assert res["not_in_library"] == [str(tmp_path / "elsewhere.flac")]
    assert len(res["expansion"]) == 5 and not {e["path"] for e in res["expansion"]} & set(pads)
    assert sum(family_of(e["path"]) == "pad" for e in res["expansion"]) >= 4
    out = cli("radio", lst, "-n", "3", home=home)  # a whole playlist as the seed
    assert out.returncode == 0 and "not in the library" in out.stderr
    bad = cli("playlist", "import", tmp_path / "nope.xspf", home=home)
    assert bad.returncode == 1 and "nope.xspf" in bad.stderr and "Traceback" not in bad.stderr


def test_home_may_follow_the_nested_action(lhome, tmp_path, capsys):
    from desktop.cli import main

    home, info = lhome
    lst = write_playlist(tmp_path / "one.m3u8", [{"path": info["missing"].replace("pad_11", "pad_01"), "title": "t"}])
    assert main(["playlist", "import", str(lst), "--json", "--home", str(home)]) == 0
    assert len(json.loads(capsys.readouterr().out)["tracks"]) == 1


def test_duplicates_lists_the_copies(lhome):
    home, info = lhome
    out = cli("duplicates", "--json", home=home)
    assert out.returncode == 0, out.stderr
    groups = json.loads(out.stdout)
    got = [sorted(c["path"] for c in g["copies"]) for g in groups]
    for original, copies in info["copies"].items():
        assert sorted([original, *copies]) in got
    text = cli("duplicates", home=home)
    assert "best" in text.stdout and "nothing was deleted" in text.stdout
    assert "left out of similar lists and stations" in text.stdout
    extras = {c["track_id"] for g in groups for c in g["copies"] if c["track_id"] != g["best"]}
    for g in groups:  # no list holds an extra copy, nor another copy of its own query
        hits = json.loads(cli("similar", str(g["best"]), "--json", home=home).stdout)
        assert not {h["track_id"] for h in hits} & ({c["track_id"] for c in g["copies"]} | extras)
    picks = json.loads(cli("radio", str(groups[0]["best"]), "-n", "20", "--json", home=home).stdout)
    assert not {p["track_id"] for p in picks} & extras
    shown = cli("duplicates", "--show-copies", home=home)
    assert shown.returncode == 0 and "listed in similar lists" in shown.stdout
