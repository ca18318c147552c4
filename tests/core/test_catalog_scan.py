"""Real SQLite catalog + real files: scanning is incremental, tags fall back, locks name their holder."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from desktop.core.catalog import SCHEMA_VERSION, Catalog
from desktop.core.errors import CatalogError, LibraryInUse
from desktop.core.events import ScanSummary
from desktop.core.lock import LibraryLock
from desktop.core.scan import scan
from desktop.core.tags import generated_artist, read_tags
from tests import audio


def run_scan(catalog, roots):
    events = list(scan(catalog, roots))
    assert isinstance(events[-1], ScanSummary)
    return events[-1]


def test_scan_is_incremental(tmp_path, family_dir):
    cat = Catalog(tmp_path / "c.sqlite3")
    first = run_scan(cat, [family_dir])
    assert len(first.added) == 12 and first.unchanged == 0
    again = run_scan(cat, [family_dir])
    assert again.added == [] and again.changed == [] and again.unchanged == 12


def test_changed_and_vanished_files(tmp_path):
    lib = tmp_path / "music"
    a = audio.write(lib / "rock" / "a.wav", audio.render("drums", 1.0, seed=1))
    b = audio.write(lib / "rock" / "b.wav", audio.render("drums", 1.0, seed=2))
    cat = Catalog(tmp_path / "c.sqlite3")
    run_scan(cat, [lib])
    tid_a = cat.by_path(str(a)).id
    cat.set_indexed(tid_a, "spectral-v1-4", np.ones(4, np.float32))
    audio.write(a, audio.render("pad", 2.0, seed=3))
    os.utime(a, (time.time() + 5, time.time() + 5))
    b.unlink()
    summary = run_scan(cat, [lib])
    assert summary.changed == [tid_a]
    assert summary.missing == [cat.by_path(str(b)).id] and cat.by_path(str(b)).missing  # kept, not deleted
    t = cat.get(tid_a)
    assert t.status == "pending" and cat.vector_count("spectral-v1-4") == 0  # old vector dropped


def test_symlink_loop_and_unreadable_folder_do_not_stop_the_scan(tmp_path):
    lib = tmp_path / "music"
    audio.write(lib / "x" / "one.flac", audio.render("pad", 1.0, seed=1))
    os.symlink(lib, lib / "x" / "loop")  # music/x/loop -> music
    (lib / "notes.txt").write_text("not music")
    cat = Catalog(tmp_path / "c.sqlite3")
    summary = run_scan(cat, [lib, tmp_path / "missing-folder"])
    assert len(summary.added) == 1
    assert any("no such file" in why for _, why in summary.problems)


def test_links_never_lead_the_scan_out_of_its_folder_nor_twice_into_it(tmp_path):
    """A link to `..`, to an ancestor, to a folder elsewhere, or into a loop: nothing outside the
    scanned folder is read. Links that stay inside it: their files are catalogued once, by real path."""
    outside = tmp_path / "elsewhere"
    audio.write(outside / "stranger.flac", audio.render("drums", 1.0, seed=7))
    lib = tmp_path / "home" / "music"
    audio.write(lib / "a" / "one.flac", audio.render("pad", 1.0, seed=1))
    audio.write(lib / "b" / "two.flac", audio.render("drums", 1.0, seed=2))
    audio.write(tmp_path / "home" / "beside.flac", audio.render("pad", 1.0, seed=3))  # beside the music folder
    os.symlink("..", lib / "up")  # music/up -> home
    os.symlink(tmp_path, lib / "a" / "root")  # an ancestor
    os.symlink(outside, lib / "b" / "away")  # a folder outside
    os.symlink(outside / "stranger.flac", lib / "stranger.flac")  # a file outside
    os.symlink(lib / "b", lib / "a" / "b-again")  # inside: b is scanned once, not twice
    os.symlink(lib / "a" / "one.flac", lib / "b" / "one-again.flac")  # a second name for one.flac
    os.symlink("self.flac", lib / "self.flac")  # a loop
    os.mkfifo(lib / "pipe.wav")  # not a link, but not a file either: reading it would wait forever
    cat = Catalog(tmp_path / "c.sqlite3")
    summary = run_scan(cat, [lib])
    paths = sorted(cat.file_states())
    assert paths == [str(lib / "a" / "one.flac"), str(lib / "b" / "two.flac")]
    assert len(summary.added) == 2
    why = dict(summary.problems)
    for link in ("up", "a/root", "b/away", "stranger.flac"):
        assert "a link out of the scanned folders" in why[str(lib / link)] and "not followed" in why[str(lib / link)]
    assert "a link to nothing" in why[str(lib / "self.flac")]
    assert why[str(lib / "pipe.wav")].startswith("not a regular file")
    assert str(lib / "a" / "b-again") not in why and str(lib / "b" / "one-again.flac") not in why
    assert run_scan(cat, [lib]).unchanged == 2


def test_a_track_catalogued_through_a_link_before_is_not_kept_twice(tmp_path):
    """A catalog from a scan that followed links holds the linked name of a file: the next scan forgets
    that entry and keeps the file under its real path."""
    lib = tmp_path / "music"
    audio.write(lib / "a" / "one.flac", audio.render("pad", 1.0, seed=1))
    os.symlink(lib / "a", lib / "link")
    cat = Catalog(tmp_path / "c.sqlite3")
    run_scan(cat, [lib])
    linked = str(lib / "link" / "one.flac")
    cat.move(cat.by_path(str(lib / "a" / "one.flac")).id, linked, os.stat(linked).st_mtime)  # as the old scan had it
    summary = run_scan(cat, [lib])
    assert len(summary.removed) == 1 and len(summary.added) == 1  # the caller forgets the linked entry
    cat.remove(summary.removed)
    assert sorted(cat.file_states()) == [str(lib / "a" / "one.flac")]


def test_tag_fallbacks_are_marked_generated(tmp_path):
    path = audio.write(tmp_path / "Ambient Stuff" / "my_quiet_song.flac", audio.render("pad", 1.0, seed=1))
    tags = read_tags(str(path))
    assert tags["title"] == "my quiet song"
    assert tags["genre"] == "Ambient Stuff"
    assert tags["album"] == "Ambient Stuff"
    assert tags["artist"] == generated_artist(str(path.parent)) != ""  # one made-up artist per folder
    assert set(tags["generated"].split(",")) == {"title", "album", "genre", "artist"}
    assert generated_artist(str(path.parent)) == generated_artist(str(path.parent))  # deterministic
    assert generated_artist(str(path.parent)) != generated_artist(str(path.parent) + "x")


def test_real_tags_win(tmp_path):
    import mutagen

    path = audio.write(tmp_path / "x" / "t.flac", audio.render("pad", 1.0, seed=1))
    f = mutagen.File(path, easy=True)
    f["title"], f["artist"], f["genre"], f["date"] = "Blue", "Ann Example", "Jazz", "1999-02-03"
    f.save()
    tags = read_tags(str(path))
    assert (tags["title"], tags["artist"], tags["genre"], tags["year"]) == ("Blue", "Ann Example", "Jazz", 1999)
    assert tags["generated"] == "album" and tags["duration"] == pytest.approx(1.0, abs=0.05)


def test_catalog_schema_version_and_newer_schema_refused(tmp_path):
    path = tmp_path / "c.sqlite3"
    cat = Catalog(path)
    assert cat.meta("schema_version") == str(SCHEMA_VERSION)
    cat.set_meta("schema_version", str(SCHEMA_VERSION + 1))
    cat.close()
    with pytest.raises(CatalogError, match="newer Soundalike"):
        Catalog(path)


def test_plan_skips_indexed_and_failed(tmp_path, family_dir):
    cat = Catalog(tmp_path / "c.sqlite3")
    ids = run_scan(cat, [family_dir]).added
    cat.set_indexed(ids[0], "k-v1-3", np.ones(3, np.float32))
    cat.set_failed(ids[1], "k-v1-3", "broken")
    assert cat.plan("k-v1-3") == ids[2:]
    assert cat.plan("k-v1-3", retry_failed=True) == ids[1:]
    assert cat.plan("other-v1-3") == [i for i in ids if i != ids[1]]
    assert cat.counts() == {"pending": 10, "indexed": 1, "failed": 1, "total": 12, "missing": 0}


def test_text_filter_and_sort(tmp_path, family_dir):
    cat = Catalog(tmp_path / "c.sqlite3")
    run_scan(cat, [family_dir])
    drums = cat.tracks(text="drums")
    assert len(drums) == 4 and all(t.genre == "drums" for t in drums)
    titles = [t.title for t in cat.tracks(order="title", descending=True)]
    assert titles == sorted(titles, key=str.casefold, reverse=True)
    with pytest.raises(ValueError):
        cat.tracks(order="title; DROP TABLE tracks")


def test_second_lock_names_the_holder(tmp_path):
    with LibraryLock(tmp_path, purpose="soundalike index ~/Music"):
        with pytest.raises(LibraryInUse, match=r"pid \d+: soundalike index ~/Music"):
            LibraryLock(tmp_path).acquire()
        code = "from desktop.core.lock import LibraryLock; import sys; LibraryLock(sys.argv[1]).acquire()"
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
        assert out.returncode != 0 and f"pid {os.getpid()}" in out.stderr
    LibraryLock(tmp_path).acquire().release()  # released on exit
