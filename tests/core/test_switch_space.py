"""Re-indexing with a new model: the old vector space keeps answering similar queries until the new
space holds every track, then the new one becomes active (no moment without similar tracks)."""

from __future__ import annotations

import threading

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
