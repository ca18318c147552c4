"""Re-indexing with a new model: the old vector space keeps answering similar queries until the new
space holds every track, then the new one becomes active (no moment without similar tracks)."""

from __future__ import annotations

import os
import shutil
import threading

import numpy as np

from desktop.core.events import TrackDone
from desktop.core.indexer import index, scan_and_index
from desktop.core.library import Library
from desktop.core.similarity import similar


def test_old_space_answers_until_the_new_one_is_complete(home, family_dir, tiny_model_dir):
    with Library.open(home, embedder="spectral") as lib:
        list(scan_and_index(lib, [family_dir]))
        old = lib.active_key
        first = sorted(lib.catalog.searchable_ids(old))[0]
        before = [h.track_id for h in similar(lib, first, 5)]
    assert old.startswith("spectral") and len(before) == 5

    neural = dict(strict=True, embedder="wav2vec2", model=str(tiny_model_dir), device="cpu")
    with Library.open(home, **neural) as lib:
        cancel, done = threading.Event(), 0
        for ev in index(lib, cancel=cancel):
            if isinstance(ev, TrackDone):
                done += 1
                assert lib.active_key == old  # mid-run: the old space is the one searched
                assert [h.track_id for h in similar(lib, first, 5)] == before
                if done == 4:
                    cancel.set()
        new_key = lib.embedder.key
        assert lib.active_key == old and 4 <= len(lib.catalog.searchable_ids(new_key)) < 12  # cancelled
        assert [h.track_id for h in similar(lib, first, 5)] == before

    with Library.open(home, **neural) as lib:  # the next run resumes the new space and completes it
        left = 12 - len(lib.catalog.searchable_ids(new_key))
        summary = list(index(lib))[-1]
        assert summary.indexed == left and not summary.cancelled
        assert lib.active_key == new_key and len(lib.catalog.searchable_ids(new_key)) == 12
        hits = similar(lib, first, 5)
        assert len(hits) == 5 and first not in [h.track_id for h in hits]


def damage_in_place(path: str) -> None:
    """Bit rot: the file's bytes become noise, its size and time stay (a scan sees no change)."""
    st = os.stat(path)
    with open(path, "r+b") as f:
        f.write(np.random.default_rng(5).integers(0, 256, st.st_size, dtype=np.uint8).tobytes())
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_track_the_new_model_fails_on_answers_from_the_old_space_until_the_switch(home, family_dir, tmp_path,
                                                                                   tiny_model_dir):
    music = shutil.copytree(family_dir, tmp_path / "music")  # one of these files is damaged below
    with Library.open(home, embedder="spectral") as lib:
        list(scan_and_index(lib, [music]))
        old = lib.active_key
        bad = lib.catalog.get(min(lib.catalog.searchable_ids(old)))  # planned first: it fails before a cancel
        before = [h.track_id for h in similar(lib, bad.id, 5)]
    damage_in_place(bad.path)

    neural = dict(strict=True, embedder="wav2vec2", model=str(tiny_model_dir), device="cpu")
    with Library.open(home, **neural) as lib:
        cancel, seen = threading.Event(), []
        for ev in index(lib, cancel=cancel):
            if isinstance(ev, TrackDone):
                seen.append(ev)
                if len(seen) == 3:
                    cancel.set()
        failed = seen[0]
        assert failed.track_id == bad.id and not failed.ok and failed.kept
        assert "new model" in failed.error and "previous analysis" in failed.error
        track = lib.catalog.get(bad.id)  # not thrown away: still indexed, its failure noted on it
        assert track.status == "indexed" and track.embedder == old and "new model" in track.error
        assert lib.catalog.counts()["indexed"] == 12 and lib.active_key == old
        assert [h.track_id for h in similar(lib, bad.id, 5)] == before  # its old vector still answers
        new_key = lib.embedder.key

    with Library.open(home, **neural) as lib:  # resumed: the recorded failure is not retried
        events = list(index(lib))
        summary = events[-1]
        assert summary.switched and lib.active_key == new_key and not summary.failed
        assert summary.indexed == 12 - 3 and bad.id not in {ev.track_id for ev in events if isinstance(ev, TrackDone)}
        track = lib.catalog.get(bad.id)  # the new space took over: now it is failed, with the reason
        assert track.status == "failed" and track.embedder == new_key
        assert track.error and "new model" not in track.error
        assert bad.id not in lib.catalog.searchable_ids(new_key)
        counts = lib.catalog.counts()
        assert counts["indexed"] == 11 and counts["failed"] == 1
        assert bad.id not in [h.track_id for h in similar(lib, lib.catalog.track_ids()[-1], 11)]
        assert lib.catalog.plan(new_key, retry_failed=True) == [bad.id]  # --retry-failed tries it again
