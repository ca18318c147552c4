"""Passage search on a synthesised library: a distinctive 8 s motif pasted at known offsets into 5 tracks.

Real files in four formats, the real spectral embedder, real SQLite and real Qdrant Edge shards.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from desktop.core.config import load_settings
from desktop.core.cue import track_path
from desktop.core.indexer import scan_and_index
from desktop.core.library import Library
from desktop.core.passage_catalog import PassageRows
from desktop.core.passage_search import find_passages, passage_query
from desktop.core.passage_windows import HOP_SECONDS, embed_windows, fixed_blocks, window_groups
from desktop.core.passages import PassageSummary, index_passages
from desktop.core.playlists import read_playlist
from tests import audio
from tests.motif import write_motif_library


def spectral(home):
    replace(load_settings(home), embedder="spectral").save()
    return home


@pytest.fixture(scope="module")
def motif_lib(tmp_path_factory):
    return write_motif_library(tmp_path_factory.mktemp("motif"))


@pytest.fixture(scope="module")
def template(tmp_path_factory, motif_lib):
    home = spectral(tmp_path_factory.mktemp("passage-template"))
    with Library.open(home) as lib:
        list(scan_and_index(lib, [str(motif_lib.folder)]))
        summary = list(index_passages(lib))[-1]
    assert isinstance(summary, PassageSummary) and summary.tracks == 11 and not summary.failed, summary
    return home


@pytest.fixture
def lib_home(template, tmp_path):
    home = tmp_path / "library"
    shutil.copytree(template, home)
    return home


def near_truth(hit, truth, tol=HOP_SECONDS):
    return any(abs(hit.start - t) <= tol for t in truth[hit.path])


def assert_motif_tracks_first(hits, truth, expected):
    top = hits[: len(expected)]
    assert {h.path for h in top} == set(expected), [(h.path, h.start, h.score) for h in hits]
    for h in top:
        assert near_truth(h, truth), (h.path, h.start, truth[h.path])
        assert h.end > h.start
    assert all(h.path not in truth for h in hits[len(expected):])


def test_motif_clip_finds_the_five_tracks_and_where(lib_home, motif_lib):
    with Library.open(lib_home) as lib:
        hits = find_passages(lib, passage_query(lib, str(motif_lib.clip)), k=8)
    assert_motif_tracks_first(hits, motif_lib.truth, list(motif_lib.truth))
    assert hits[0].score > hits[5].score + 0.1  # a clear gap to the tracks without it


def test_motif_selection_finds_the_others_not_itself(lib_home, motif_lib):
    source = list(motif_lib.truth)[1]  # drums, motif at 14.0 s
    with Library.open(lib_home) as lib:
        q = passage_query(lib, source, 14.0, 22.0)
        hits = find_passages(lib, q, k=6)
    assert q.label.startswith("0:14-0:22 of ")
    assert source not in {h.path for h in hits}
    assert_motif_tracks_first(hits, motif_lib.truth, [p for p in motif_lib.truth if p != source])


def test_include_self_finds_the_second_occurrence(lib_home, motif_lib):
    source = list(motif_lib.truth)[0]  # motif at 6.3 s and 27.1 s
    with Library.open(lib_home) as lib:
        tid = lib.catalog.by_path(source).id
        q = passage_query(lib, tid, 6.3, 14.3)
        plain = find_passages(lib, q, k=6)
        selfish = find_passages(lib, q, k=6, include_self=True)
    assert tid not in {h.track_id for h in plain}
    own = [h for h in selfish if h.track_id == tid]
    assert len(own) == 1 and abs(own[0].start - 27.1) <= HOP_SECONDS, own


def test_copies_of_the_query_track_are_excluded(lib_home, motif_lib, tmp_path):
    source = list(motif_lib.truth)[1]
    copy = motif_lib.folder / "copy" / ("copy_of_" + os.path.basename(source))
    copy.parent.mkdir()
    shutil.copy(source, copy)
    with Library.open(lib_home) as lib:
        list(scan_and_index(lib, [str(motif_lib.folder)]))
        list(index_passages(lib))
        hits = find_passages(lib, passage_query(lib, source, 14.0, 22.0), k=6)
        both = find_passages(lib, passage_query(lib, str(motif_lib.clip)), k=6)
    copy.unlink()
    copy.parent.rmdir()
    assert str(copy) not in {h.path for h in hits}
    assert {source, str(copy)} <= {h.path for h in both}  # a clip query still finds both copies


def test_deleted_tracks_lose_their_windows_and_missing_ones_are_hidden(lib_home, motif_lib):
    deleted, missing = list(motif_lib.truth)[3:5]
    with Library.open(lib_home) as lib:
        tid = lib.catalog.by_path(deleted).id
        lib.remove_tracks([tid])  # what a rescan does for a file that is gone
        assert tid not in lib.passages().track_ids()
        assert tid not in PassageRows(lib.catalog).written(lib.active_key)
        os.rename(missing, missing + ".away")  # an unplugged drive: the track stays, its hits are hidden
        try:
            hits = find_passages(lib, passage_query(lib, str(motif_lib.clip)), k=8)
        finally:
            os.rename(missing + ".away", missing)
        back = find_passages(lib, passage_query(lib, str(motif_lib.clip)), k=8)
    paths = [h.path for h in hits]
    assert deleted not in paths and missing not in paths
    assert set(paths[:3]) == set(motif_lib.truth) - {deleted, missing}
    assert missing in [h.path for h in back[:4]]


def test_rebuilt_from_stored_windows_without_decoding(lib_home, motif_lib, tmp_path):
    music = tmp_path / "music"
    shutil.copytree(motif_lib.folder, music)
    home = spectral(tmp_path / "home2")
    with Library.open(home) as lib:
        list(scan_and_index(lib, [str(music)]))
        list(index_passages(lib))
        before = lib.passages().count()
        key = lib.active_key
        lib.close_store()
    shutil.rmtree(home / "vectors" / f"passages-{key}")
    for f in music.rglob("*.*"):  # every file now undecodable, with its size and mtime unchanged
        st = f.stat()
        f.write_bytes(b"\0" * st.st_size)
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    with Library.open(home) as lib:
        summary = list(index_passages(lib))[-1]
        assert summary.rebuilt == 11 and summary.tracks == 0 and not summary.failed, summary
        assert lib.passages().count() == before
        hits = find_passages(lib, passage_query(lib, str(motif_lib.clip)), k=5)
    assert {os.path.basename(h.path) for h in hits} == {os.path.basename(p) for p in motif_lib.truth}


def test_a_pass_with_nothing_to_do_leaves_the_index_closed(lib_home, motif_lib, tmp_path):
    """The window runs the pass at every start; opening a big index holds the GIL for seconds, so a pass
    with nothing to do must not open it. New work (a new track) opens it again."""
    with Library.open(lib_home) as lib:  # the template's pass finished everything
        summary = list(index_passages(lib))[-1]
        assert summary.tracks == 0 and summary.rebuilt == 0 and not summary.skipped, summary
        assert lib._passages is None
    music = tmp_path / "more"
    audio.write(music / "new.flac", audio.render("pad", 20.0, seed=7))
    with Library.open(lib_home) as lib:
        list(scan_and_index(lib, [str(music)]))
        summary = list(index_passages(lib))[-1]
        assert summary.tracks == 1 and lib._passages is not None, summary
    with Library.open(lib_home) as lib:
        assert list(index_passages(lib))[-1].tracks == 0 and lib._passages is None
        assert len(find_passages(lib, passage_query(lib, str(motif_lib.clip)), k=5)) == 5  # opened on use


def run_index(home, music, crash_at=None):
    env = {**os.environ, "SOUNDALIKE_HOME": str(home)}
    env.pop("SOUNDALIKE_CRASH_AT", None)
    if crash_at:
        env["SOUNDALIKE_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "desktop", "index", str(music), "--embedder", "spectral",
                           "--workers", "1"], capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def small_music(tmp_path_factory):
    root = tmp_path_factory.mktemp("small-music")
    for i in range(N_SMALL):
        family = list(audio.FAMILIES)[i % 3]
        audio.write(root / family / f"{family}{i}.flac", audio.render(family, 9.0, seed=80 + i))
    return root


N_SMALL = 6


@pytest.mark.parametrize("stage", ["after-passage-store", "after-passage-commit"])
def test_kill_9_during_the_passage_pass_then_resume_without_duplicates(tmp_path, small_music, stage):
    home = spectral(tmp_path / "home")
    crashed = run_index(home, small_music, crash_at=f"{stage}:3")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert f"index: {N_SMALL} indexed" in crashed.stdout  # the first pass was complete: searchable already
    done = run_index(home, small_music)
    assert done.returncode == 0, done.stderr
    redone = N_SMALL - 2 if stage == "after-passage-store" else N_SMALL - 3
    assert f"passages: {redone} tracks" in done.stdout, done.stdout
    with Library.open(home) as lib:
        rows = PassageRows(lib.catalog)
        store = lib.passages()
        assert store.count() == rows.counts(lib.active_key)["windows"]
        assert store.track_ids() == rows.written(lib.active_key) and len(store.track_ids()) == N_SMALL
    status = subprocess.run([sys.executable, "-m", "desktop", "status"], capture_output=True, text=True,
                            env={**os.environ, "SOUNDALIKE_HOME": str(home)}, timeout=120)
    assert f"passage index: {N_SMALL} of {N_SMALL} indexed tracks" in status.stdout and "0 to do" in status.stdout


def test_cli_passages_json_and_m3u(lib_home, motif_lib, tmp_path):
    out = tmp_path / "passages.m3u"
    env = {**os.environ, "SOUNDALIKE_HOME": str(lib_home)}
    r = subprocess.run([sys.executable, "-m", "desktop", "passages", str(motif_lib.clip), "-k", "5", "--json",
                        "--m3u", str(out)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    hits = json.loads(r.stdout)
    assert [sorted(h) for h in hits] == [["end", "path", "score", "start", "track_id"]] * 5
    assert {h["path"] for h in hits} == set(motif_lib.truth)
    text = out.read_text()
    assert text.startswith("#EXTM3U")
    for h in hits:  # the one playlist writer (playlists.py): VLC's start/stop options before the file
        assert f"#EXTVLCOPT:start-time={h['start']:.3f}\n#EXTVLCOPT:stop-time={h['end']:.3f}\n{h['path']}\n" in text
    back = read_playlist(out)  # and read back as the same stretches
    assert [e.path for e in back] == [track_path(h["path"], h["start"], h["end"]) for h in hits]
    source = list(motif_lib.truth)[0]
    r = subprocess.run([sys.executable, "-m", "desktop", "passages", source, "--start", "6.3", "--end", "14.3",
                        "--include-self", "-k", "3"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and "passages like 0:06-0:14 of" in r.stdout, r.stderr
    bad = subprocess.run([sys.executable, "-m", "desktop", "passages", source, "--start", "9", "--end", "5"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "--end must be after --start" in bad.stderr


def test_windows_cover_the_track_at_the_hop():
    assert window_groups(5, 2.0) == [(0, 2), (1, 3), (2, 4), (3, 5)]
    assert window_groups(5, 0.5) == [(0, 2), (1, 3), (2, 5)]  # a short tail joins the last window
    assert window_groups(1, 1.0) == [(0, 1)]
    blocks = list(fixed_blocks(np.zeros(n, np.float32) for n in (5000, 40000, 3000)))
    assert [len(b) for b in blocks] == [32000, 16000]
    from desktop.core.embedders import create

    x = np.random.default_rng(0).standard_normal(16000 * 9).astype(np.float32) * 0.1
    starts, ends, raws = embed_windows(create("spectral"), [x])
    assert list(starts) == [0, 2, 4, 6] and list(ends) == [4, 6, 8, 9] and raws.shape == (4, 260)


def test_whole_track_parts_are_the_blocks_merged_sixteen_at_a_time():
    """Spectral only: 69 s = 34 blocks of 2 s and a 1 s tail; 16 + 16 blocks, and the last 3 join the part before."""
    from desktop.core.embedders import create
    from desktop.core.embedders.spectral import FeatureSums, finished_vector

    x = np.random.default_rng(1).standard_normal(16000 * 69).astype(np.float32) * 0.1
    parts: list = []
    embed_windows(create("spectral"), [x], parts)
    assert len(parts) == 2
    first = FeatureSums()
    for block in list(fixed_blocks([x]))[:16]:
        one = FeatureSums()
        one.add(block)
        first.merge(one)
    np.testing.assert_array_equal(parts[0], finished_vector(first))
    short: list = []
    embed_windows(create("spectral"), [x[: 16000 * 11]], short)
    assert len(short) == 1  # a track shorter than a part is one part


@pytest.mark.filterwarnings("ignore:.*[Pp]ayload index.*:UserWarning")
@pytest.mark.filterwarnings("ignore:Local mode performs exact:UserWarning")
def test_a_library_on_a_qdrant_server_keeps_and_searches_its_windows_there(tmp_path, motif_lib):
    from tests.qdrant_http import QdrantHttpServer

    with QdrantHttpServer() as server:
        home = tmp_path / "library"
        replace(load_settings(spectral(home)), qdrant_url=server.url).save()
        with Library.open(home) as lib:
            list(scan_and_index(lib, [str(motif_lib.folder)]))
            summary = list(index_passages(lib))[-1]
            hits = find_passages(lib, passage_query(lib, str(motif_lib.clip)), k=8)
            windows = PassageRows(lib.catalog).counts(lib.active_key)["windows"]
        assert summary.tracks == 11 and not summary.failed
        passages = [n for n in server.created if "-passages-" in n]
        assert len(passages) == 1 and server.engine.count(passages[0]).count == windows
        assert not (home / "vectors").exists() or not any((home / "vectors").glob("passages-*"))
    assert_motif_tracks_first(hits, motif_lib.truth, list(motif_lib.truth))


def test_model_embedder_windows_are_indexed_and_searched(tmp_path, motif_lib, tiny_model_dir):
    """The passage pass for a transformers model: each 4 s window embedded alone, in the model's space."""
    home = tmp_path / "library"
    with Library.open(home, embedder="wav2vec2", model=str(tiny_model_dir), device="cpu") as lib:
        list(scan_and_index(lib, [str(motif_lib.folder)], workers=1))
        summary = list(index_passages(lib, in_process=True))[-1]
        key = lib.active_key
        rows = PassageRows(lib.catalog)
        counts = rows.counts(key)
        kept_parts = rows.parts(key, lib.catalog.track_ids())
        source = list(motif_lib.truth)[1]  # drums, motif at 14.0 s
        track = lib.catalog.by_path(source)
        hits = find_passages(lib, passage_query(lib, source, 14.0, 22.0), k=5)
        clip_hits = find_passages(lib, passage_query(lib, str(motif_lib.clip)), k=8)
    assert key.startswith("wav2vec2") and not summary.failed and summary.tracks == 11
    assert counts["windows"] == summary.windows and counts["tracks"] == 11
    assert kept_parts == {}  # whole-track parts are spectral's (late interaction re-scores spectral spaces only)
    starts, ends, raws = next((s, e, r) for t, s, e, r in rows_of(home, key) if t == track.id)
    assert raws.shape[1] == int(key.rsplit("-", 1)[1]) and len(raws) == round(track.duration / HOP_SECONDS) - 1
    assert np.allclose(np.diff(starts), HOP_SECONDS) and np.allclose(ends - starts, 2 * HOP_SECONDS)
    # even a tiny random model's windows find the motif: the other four tracks first, where it is
    assert_motif_tracks_first(hits, motif_lib.truth, [p for p in motif_lib.truth if p != source])
    assert_motif_tracks_first(clip_hits, motif_lib.truth, list(motif_lib.truth))


def rows_of(home, key):
    with Library.open(home) as lib:
        return list(PassageRows(lib.catalog).windows(key))


def test_the_passage_pass_starts_no_more_processes_than_cores(tmp_path):
    """`index --workers 30` on a small machine: the passage pass, too, runs at most one process per core."""
    import multiprocessing

    for i in range(min(os.cpu_count(), 4) + 2):  # more tracks than cores (up to a point)
        audio.write(tmp_path / "music" / f"t{i}.flac", audio.render("pad", 2.0, seed=i))
    home = spectral(tmp_path / "home")
    most = 0
    with Library.open(home) as lib:
        list(scan_and_index(lib, [str(tmp_path / "music")], workers=30))
        for _ in index_passages(lib, workers=30):
            most = max(most, len(multiprocessing.active_children()))
    assert 1 <= most <= os.cpu_count()


def test_the_pass_keeps_each_tracks_outline_for_the_hits_mini_waveform(tmp_path, lib_home, motif_lib):
    """A second of quiet, then loud: the outline (RMS level a second) says so; passage hits carry their track's."""
    sr = audio.SR
    t = np.arange(12 * sr) / sr
    x = np.sin(2 * np.pi * 440 * t) * np.where(t < 6, 0.05, 0.8)
    path = audio.write(tmp_path / "quiet_loud" / "ql.wav", x.astype(np.float32))
    with Library.open(lib_home) as lib:
        list(scan_and_index(lib, [str(path.parent)]))
        list(index_passages(lib, in_process=True))
        tid = lib.catalog.by_path(str(path)).id
        outline = PassageRows(lib.catalog).levels(lib.active_key, [tid])[tid]
        parts = PassageRows(lib.catalog).parts(lib.active_key, lib.catalog.track_ids())
        hits = find_passages(lib, passage_query(lib, str(motif_lib.clip)), k=5)
    assert len(parts) == 12 and all(p.shape[1] == 260 for p in parts.values())  # worker processes' and in-process
    assert len(outline) == 12
    assert outline[:6].max() < 0.05 and outline[6:].min() > 0.4
    assert all(h.levels is not None and abs(len(h.levels) - h.duration) <= 1 for h in hits)
    assert "levels" not in hits[0].to_dict()  # JSON stays what the CLI documents


def test_a_passage_table_from_before_outlines_and_parts_gets_the_columns(tmp_path):
    import sqlite3

    from desktop.core.catalog import Catalog

    db = tmp_path / "catalog.sqlite3"
    Catalog(db).close()
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE passage_windows (track_id INTEGER NOT NULL, embedder TEXT NOT NULL, size INTEGER "
                "NOT NULL, mtime REAL NOT NULL, n INTEGER NOT NULL DEFAULT 0, starts BLOB, ends BLOB, raw BLOB, "
                "error TEXT NOT NULL DEFAULT '', made_at REAL NOT NULL, PRIMARY KEY (track_id, embedder))")
    con.commit()
    con.close()
    cat = Catalog(db)
    rows = PassageRows(cat)
    assert rows.levels("k", [1]) == {} and rows.parts("k", [1]) == {}
    cat.close()
