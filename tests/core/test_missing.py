"""Missing is not deleted: unplugged drives, vanished, moved and renamed files keep their tracks and vectors."""


import pytest

from desktop.core.check import check
from desktop.core.events import IndexSummary, ScanSummary
from desktop.core.indexer import scan_and_index
from desktop.core.library import Library
from desktop.core.similarity import similar
from tests import audio


def run(lib, roots) -> tuple[ScanSummary, IndexSummary]:
    events = list(scan_and_index(lib, roots, workers=1))
    return next(e for e in events if isinstance(e, ScanSummary)), events[-1]


def snapshot(lib) -> dict:
    """id -> (path, indexed_at, artist, raw vector bytes) for every track, missing ones included."""
    key = lib.active_key
    raws = dict(lib.catalog.raw_vectors(key))
    return {t.id: (t.path, t.indexed_at, t.artist, raws[t.id].tobytes())
            for t in lib.catalog.tracks(missing=None)}


@pytest.fixture
def music(tmp_path):
    root = tmp_path / "usb"
    for i, family in enumerate(["drums", "pad", "plucked", "drums", "pad"]):
        audio.write(root / "album" / f"t{i}.flac", audio.render(family, 2.0, seed=i))
    return root


def test_unplugged_drive_renamed_away_and_back_keeps_everything(home, music):
    with Library.open(home, embedder="spectral") as lib:
        run(lib, [music])
        before = snapshot(lib)
        assert len(before) == 5
        away = music.with_name("usb-away")
        music.rename(away)  # unmounted
        scanned, indexed = run(lib, [music])
        assert scanned.unavailable == [str(music)] and not scanned.missing and indexed.indexed == 0
        assert snapshot(lib) == before and lib.catalog.counts()["missing"] == 0
        assert lib.store().ids() == set(before)
        away.rename(music)  # plugged back in
        scanned, indexed = run(lib, [music])
        assert scanned.unchanged == 5 and not scanned.added and indexed.indexed == 0
        assert snapshot(lib) == before  # same ids, same vectors, nothing analysed again


def test_empty_mount_point_is_unavailable(home, music, tmp_path):
    with Library.open(home, embedder="spectral") as lib:
        run(lib, [music])
        before = snapshot(lib)
        music.rename(tmp_path / "elsewhere")
        music.mkdir()  # the mount point without its drive
        scanned, _ = run(lib, [music])
        assert scanned.unavailable == [str(music)] and snapshot(lib) == before



def test_vanished_file_is_missing_hidden_then_back_without_decoding(home, music, tmp_path):
    gone = music / "album" / "t3.flac"
    with Library.open(home, embedder="spectral") as lib:
        run(lib, [music])
        before = snapshot(lib)
        tid = lib.catalog.by_path(str(gone)).id
        gone.rename(tmp_path / "t3-outside.flac")
        scanned, indexed = run(lib, [music])
        assert scanned.missing == [tid] and indexed.hidden == 1
        assert lib.catalog.get(tid).missing and snapshot(lib) == before  # row and vector kept
        assert tid not in lib.store().ids()
        assert tid not in lib.catalog.track_ids()  # hidden from the library view ...
        assert lib.catalog.track_ids(missing=True) == [tid]  # ... shown on request
        assert lib.catalog.counts()["missing"] == 1 and lib.catalog.plan(lib.active_key) == []
        for t in lib.catalog.tracks():
            assert tid not in {h.track_id for h in similar(lib, t.id, k=10)}
        assert similar(lib, tid, k=3)  # a missing track can still be asked about: its vector is kept
        (tmp_path / "t3-outside.flac").rename(gone)
        scanned, indexed = run(lib, [music])
        assert scanned.returned == [tid] and indexed.indexed == 0 and indexed.restored == 1
        assert tid in lib.store().ids() and not lib.catalog.get(tid).missing
        assert snapshot(lib) == before



def test_every_known_file_gone_at_once_changes_nothing(home, music):
    with Library.open(home, embedder="spectral") as lib:
        run(lib, [music])
        before = snapshot(lib)
        for f in (music / "album").iterdir():
            f.unlink()
        (music / "notes.txt").write_text("a share mounted without its music")
        scanned, _ = run(lib, [music])
        assert scanned.unavailable == [str(music)] and not scanned.missing
        assert snapshot(lib) == before and lib.catalog.counts()["missing"] == 0



def test_moved_and_renamed_files_keep_id_vector_and_made_up_artist(home, music):
    with Library.open(home, embedder="spectral") as lib:
        run(lib, [music])
        before = snapshot(lib)
        renamed_from, moved_from = music / "album" / "t1.flac", music / "album" / "t2.flac"
        ids = {lib.catalog.by_path(str(p)).id for p in (renamed_from, moved_from)}
        renamed_to, moved_to = music / "album" / "renamed.flac", music / "other" / "deeper" / "t2.flac"
        moved_to.parent.mkdir(parents=True)
        renamed_from.rename(renamed_to)
        moved_from.rename(moved_to)
        scanned, indexed = run(lib, [music])
        assert set(scanned.moved) == ids and not scanned.added and not scanned.missing and indexed.indexed == 0
        after = snapshot(lib)
        assert set(after) == set(before)
        for tid in ids:
            path, indexed_at, artist, raw = after[tid]
            assert path in (str(renamed_to), str(moved_to))
            assert (indexed_at, artist, raw) == before[tid][1:]
        payloads = {h.track_id: h.path for t in ids for h in similar(lib, next(iter(ids - {t})), k=10)}
        assert all(payloads[t] == after[t][0] for t in ids if t in payloads)  # hits carry the new path



def test_check_repair_marks_missing_and_only_prune_drops(home, music, tmp_path):
    with Library.open(home, embedder="spectral") as lib:
        run(lib, [music])
        gone = music / "album" / "t0.flac"
        tid = lib.catalog.by_path(str(gone)).id
        gone.unlink()
        report = check(lib)
        assert report.missing_files == [tid] and not report.ok
        report = check(lib, repair=True)
        assert report.repaired and lib.catalog.get(tid).missing and tid not in lib.store().ids()
        assert len(dict(lib.catalog.raw_vectors(lib.active_key))) == 5  # its vector is kept
        assert check(lib).ok
        report = check(lib, repair=True, prune=True)
        assert report.pruned == [tid] and len(dict(lib.catalog.raw_vectors(lib.active_key))) == 4
        assert lib.catalog.counts() == {"pending": 0, "indexed": 4, "failed": 0, "total": 4, "missing": 0}
        assert check(lib).ok


def test_prune_command_says_what_it_drops(home, music):
    from tests.cli.test_cli import cli

    assert cli("index", music, "--embedder", "spectral", home=home).returncode == 0
    (music / "album" / "t4.flac").unlink()
    out = cli("index", music, home=home)
    assert out.returncode == 0 and "1 missing (kept" in out.stdout
    assert "t4.flac" in cli("tracks", "--missing", home=home).stdout
    out = cli("prune", "--dry-run", home=home)
    assert "would drop 1 missing tracks" in out.stdout and "t4.flac" in out.stdout
    assert "1 missing" in cli("status", home=home).stdout
    out = cli("prune", home=home)
    assert out.returncode == 0 and "dropping 1" in out.stdout and "pruned 1 tracks" in out.stdout
    assert "no missing tracks" in cli("prune", home=home).stdout
    assert cli("check", home=home).returncode == 0
