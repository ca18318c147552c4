"""The passage index's search graph: built in a child process on a copy, swapped in, safe against kill -9.

The motif library of test_passages (real files, the spectral embedder, real Qdrant Edge shards); the
graph is built whatever the index's size (`min_plain=0`), so these few hundred windows take the path a
million windows take.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

from desktop.core.library import Library
from desktop.core.passage_catalog import PassageRows
from desktop.core.passage_graph import build_graph, graph_dir, old_dir
from desktop.core.passage_search import find_passages, passage_query
from desktop.core.passage_windows import HOP_SECONDS
from tests.core.test_passages import assert_motif_tracks_first, lib_home, motif_lib, template  # noqa: F401


def build(store, cancel=None):
    """Run build_graph to the end; its last line."""
    return [ev for ev in build_graph(store, cancel, min_plain=0, poll=0.05) if isinstance(ev, str)][-1]


def motif_hits(lib, motif_lib):  # noqa: F811
    return find_passages(lib, passage_query(lib, str(motif_lib.clip)), k=8)


def assert_whole(lib):
    """The index holds exactly the catalog's windows, and nothing of a graph build is left beside it."""
    store = lib.passages()
    assert store.count() == PassageRows(lib.catalog).counts(lib.active_key)["windows"]
    assert not os.path.exists(graph_dir(store.path)) and not os.path.exists(old_dir(store.path))


@pytest.mark.parametrize("in_child", [False, True], ids=["in-process", "in-child"])
def test_the_graph_is_used_and_the_motif_answers_stay_the_same(lib_home, motif_lib, in_child):  # noqa: F811
    """in-child: the window's way, the passage index served by a child process (store/in_child.py)."""
    with Library.open(lib_home, store_in_child=in_child) as lib:
        before = [(h.track_id, h.start) for h in motif_hits(lib, motif_lib)]
        store = lib.passages()
        windows = store.count()
        assert store.plain_windows() == windows
        assert build(store) == f"search graph built over {windows} windows"
        assert store.plain_windows() == 0  # every window is in the graph now
        hits = motif_hits(lib, motif_lib)
        assert [(h.track_id, h.start) for h in hits[:5]] == before[:5]
        assert_motif_tracks_first(hits, motif_lib.truth, list(motif_lib.truth))
        assert_whole(lib)
        source = list(motif_lib.truth)[0]  # motif at 6.3 s and 27.1 s: the second one is found in the graph
        q = passage_query(lib, lib.catalog.by_path(source).id, 6.3, 14.3)
        own = [h for h in find_passages(lib, q, k=6, include_self=True) if h.path == source]
        assert len(own) == 1 and abs(own[0].start - 27.1) <= HOP_SECONDS, own
    with Library.open(lib_home, store_in_child=in_child) as lib:  # reopened by the app: the graph stays
        assert lib.passages().plain_windows() == 0
        assert_motif_tracks_first(motif_hits(lib, motif_lib), motif_lib.truth, list(motif_lib.truth))


def test_status_says_how_many_windows_the_search_graph_holds(lib_home, motif_lib, tmp_path):  # noqa: F811
    from desktop.cli_passages import status_lines
    from desktop.core.indexer import scan_and_index
    from desktop.core.passages import index_passages
    from tests import audio

    with Library.open(lib_home) as lib:
        assert "no search graph (queries scan every window" in status_lines(lib)[0]
        store = lib.passages()
        windows = store.count()
        build(store)
    audio.write(tmp_path / "more" / "new.flac", audio.render("pad", 20.0, seed=7))
    with Library.open(lib_home) as lib:  # the next pass (a new track): its windows stay outside the graph
        list(scan_and_index(lib, [str(tmp_path / "more")]))
        list(index_passages(lib))
        assert lib.passages().plain_windows() > 0
        assert status_lines(lib)[0].endswith(f"; search graph over {windows} windows")


@pytest.mark.parametrize("in_child", [False, True], ids=["in-process", "in-child"])
def test_queries_go_on_while_the_child_builds_and_a_write_makes_the_copy_stale(lib_home, motif_lib,  # noqa: F811
                                                                              in_child):
    with Library.open(lib_home, store_in_child=in_child) as lib:
        store = lib.passages()
        steps = build_graph(store, None, min_plain=0, poll=0.05)
        for ev in steps:
            if getattr(ev, "message", "") == "building the passage search graph":
                break  # the child process has started on the copy
        assert os.path.isdir(graph_dir(store.path))
        assert_motif_tracks_first(motif_hits(lib, motif_lib), motif_lib.truth, list(motif_lib.truth))
        gone = lib.catalog.by_path(list(motif_lib.truth)[4]).id
        store.remove_tracks([gone])  # a removed track, while the copy is being built
        last = [ev for ev in steps if isinstance(ev, str)][-1]
        assert last == "search graph not built: the index changed meanwhile (next pass)"
        assert gone not in store.track_ids() and store.plain_windows() == store.count()
        assert not os.path.exists(graph_dir(store.path))
        assert build(store).startswith("search graph built")  # the next try (after the next pass) succeeds
        assert gone not in store.track_ids()


def test_cancel_stops_the_child_and_throws_the_copy_away(lib_home, motif_lib):  # noqa: F811
    with Library.open(lib_home) as lib:
        store = lib.passages()
        cancel = threading.Event()
        events = []
        for ev in build_graph(store, cancel, min_plain=0, poll=0.05):
            events.append(ev)
            if getattr(ev, "message", "") == "building the passage search graph":
                cancel.set()  # a first-pass job was queued
        assert events[-1] == "search graph: stopped (built again after the next pass)"
        assert store.plain_windows() == store.count()
        assert_whole(lib)
        assert_motif_tracks_first(motif_hits(lib, motif_lib), motif_lib.truth, list(motif_lib.truth))


def test_nothing_is_built_below_the_threshold(lib_home):  # noqa: F811
    with Library.open(lib_home) as lib:
        store = lib.passages()
        assert [ev for ev in build_graph(store, min_plain=store.count() + 1)] == [""]
        assert not os.path.exists(graph_dir(store.path))


BUILD = """
import sys
from desktop.core.library import Library
from desktop.core.passage_graph import build_graph
with Library.open(sys.argv[1]) as lib:
    print([ev for ev in build_graph(lib.passages(), min_plain=0, poll=0.05) if isinstance(ev, str)][-1])
"""


@pytest.mark.parametrize("stage, graphed", [("graph-copied", False), ("graph-child-optimize", False),
                                            ("graph-built", False), ("graph-swap", True)])
def test_kill_9_at_any_step_leaves_a_working_index(lib_home, motif_lib, stage, graphed):  # noqa: F811
    env = {**os.environ, "SOUNDALIKE_CRASH_AT": stage}
    run = subprocess.run([sys.executable, "-c", BUILD, str(lib_home)], capture_output=True, text=True, env=env,
                         timeout=300, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    if stage == "graph-child-optimize":  # the child was killed: the app's process says so and goes on
        assert run.returncode == 0, run.stderr
        assert "search graph not built: the process building it ended with code -9" in run.stdout
    else:
        assert run.returncode == -signal.SIGKILL, run.stderr
    with Library.open(lib_home) as lib:
        assert_whole(lib)  # a swap cut in half is finished (or undone), leftovers deleted
        store = lib.passages()
        assert (store.plain_windows() == 0) == graphed
        assert_motif_tracks_first(motif_hits(lib, motif_lib), motif_lib.truth, list(motif_lib.truth))
        if not graphed:
            assert build(store).startswith("search graph built")
            assert store.plain_windows() == 0
