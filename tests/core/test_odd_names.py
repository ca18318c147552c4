"""File and folder names that are not UTF-8 (Latin-1 from old Windows/Samba copies): kept exactly, shown readably."""

import json
import os

import numpy as np

from desktop.core.decode import open_audio
from desktop.core.library import Library
from desktop.core.paths import shown
from tests import audio
from tests.cli.test_cli import cli


def odd_library(tmp_path):
    """A folder `Música` and files `café.flac`, `\xff.wav` whose names are Latin-1 bytes, beside a plain one."""
    root = os.fsencode(tmp_path) + b"/M\xfasica"
    os.makedirs(root + b"/\xe9t\xe9")
    files = [root + b"/caf\xe9.flac", root + b"/\xe9t\xe9/\xff.wav", root + b"/plain.flac"]
    for i, name in enumerate(files):
        plain = tmp_path / f"tmp{i}.flac"
        audio.write(plain, audio.render(["drums", "pad", "drums"][i], 2.0, seed=i))
        os.rename(os.fsencode(plain), name)
    return root, files


def test_non_utf8_names_index_list_search_and_play(home, tmp_path):
    root, files = odd_library(tmp_path)
    out = cli("index", os.fsdecode(root), "--embedder", "spectral", home=home)
    assert out.returncode == 0, out.stderr
    assert "3 indexed" in out.stdout and "0 failed" in out.stdout
    again = cli("index", os.fsdecode(root), home=home)
    assert "0 new" in again.stdout and "3 unchanged" in again.stdout  # the names compare losslessly

    listing = cli("tracks", home=home)
    assert listing.returncode == 0 and "caf\ufffd.flac" in listing.stdout and "M\ufffdsica" in listing.stdout
    rows = json.loads(cli("tracks", "--json", home=home).stdout)
    assert sorted(os.path.basename(r["path"]) for r in rows) == ["caf\ufffd.flac", "plain.flac", "\ufffd.wav"]
    assert "M\ufffdsica" in cli("status", home=home).stdout

    by_file = cli("similar", os.fsdecode(files[0]), "-k", "2", "--json", home=home)
    assert by_file.returncode == 0, by_file.stderr
    hits = json.loads(by_file.stdout)
    assert hits and all("\ufffd" in h["path"] or h["path"].endswith("plain.flac") for h in hits)

    with Library.open(home, lock=False) as lib:
        for name in files:
            track = lib.catalog.by_path(os.fsdecode(name))
            assert track is not None and track.status == "indexed", name
            assert os.fsencode(track.path) == name  # stored exactly, byte for byte
            # played back by its path: the player's decode path gives real samples
            with open_audio(track.path) as src:
                block = next(src.native_blocks())
            assert block.ndim == 2 and np.abs(block).max() > 0.01
        odd = lib.catalog.by_path(os.fsdecode(files[0]))
        assert odd.title == "caf\ufffd" and odd.genre == "M\ufffdsica"  # made from the name, readable
    out = cli("similar", str(odd.id), "-k", "2", home=home)
    assert out.returncode == 0 and "[" in out.stdout
    assert cli("check", home=home).returncode == 0


def test_shown_replaces_only_undecodable_bytes():
    assert shown(os.fsdecode(b"/m/caf\xe9 \xe2\x99\xab.wav")) == "/m/caf\ufffd \u266b.wav"
    assert shown("/m/plain.wav") == "/m/plain.wav"
    assert shown(b"/m/\xff") == "/m/\ufffd"
