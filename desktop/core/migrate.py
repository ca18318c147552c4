"""Move a library's vectors to a Qdrant server, or back to the embedded store, without decoding anything.

Why from the catalog and not from the old store: the catalog keeps every raw vector and the statistics
each vector space was standardised with, so the copy is rebuilt exactly as the library would write it,
even when the old store is unreachable, damaged or half-written. Every vector space the catalog holds is
copied (not only the active one), so switching embedders back later still finds its vectors.

The passage index (window vectors, `passages.py`) of every vector space that has one is copied too, from
the raw windows the catalog keeps, into the target's passage index (a `passages-<key>` collection on a
server); it is counted, resumed and verified the same way, a batch being whole tracks of about `batch`
windows. A target that already held windows (a store migrated away from earlier) is emptied first: its
windows may be older than the catalog's.

Crash safety: points are upserted in batches by track id (an upsert by id replaces, so a batch sent twice
leaves one point), and after each batch the last copied id is committed to the catalog's meta table. A
run killed at any point resumes after the last committed batch. The library's setting (`qdrant_url` in
config.json) changes only after every space was copied and verified: counts equal the catalog's, points
the catalog does not know are removed, and a sample of stored vectors equals the catalog's standardised
ones. The old store is left as it was; the user removes it when satisfied.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from desktop.core.config import update_config
from desktop.core.errors import SoundalikeError
from desktop.core.events import Progress
from desktop.core.indexer import crash_point
from desktop.core.library import Library, key_dim
from desktop.core.passage_catalog import rows_of
from desktop.core.passage_store import point_id
from desktop.core.passages import SETTLED, STAMP, stats_stamp
from desktop.core.store import open_library_passages, open_library_store

PASSAGES = "passages-"  # prefix of a passage index's entry in the state and the report
STATE = "migrate_state"  # JSON {"target": ..., "done": {key: last copied track id}, "verified": [keys]}
EMBEDDED = "embedded"


@dataclass
class MigrationReport:
    target: str  # a URL or "embedded"
    previous: str
    spaces: dict[str, int] = field(default_factory=dict)  # key (or "passages-" key) -> points copied and verified
    sampled: int = 0
    removed_stale: int = 0
    seconds: float = 0.0
    resumed: bool = False

    @property
    def vectors(self) -> int:
        """Track vectors copied (every vector space)."""
        return sum(n for k, n in self.spaces.items() if not k.startswith(PASSAGES))

    @property
    def windows(self) -> int:
        """Passage windows copied (every passage index)."""
        return sum(n for k, n in self.spaces.items() if k.startswith(PASSAGES))

    @property
    def track_spaces(self) -> int:
        return sum(1 for k in self.spaces if not k.startswith(PASSAGES))


def target_url(to: str) -> str:
    """'' for the embedded store, else the validated server URL."""
    if to == EMBEDDED:
        return ""
    if not to.startswith(("http://", "https://")):
        raise SoundalikeError(f"--to takes a Qdrant server URL (http:// or https://) or 'embedded', got {to!r}")
    return to.rstrip("/")


def migrate(library: Library, to: str, *, batch: int = 512, sample: int = 200,
            open_target=None, open_passage_target=None) -> Iterator[Progress | MigrationReport]:
    """Copy every vector space and passage index to `to` (a URL or "embedded"), verify, then switch the
    library to it.

    `open_target(key, dim)` / `open_passage_target(key, dim, windows)` open a target collection instead of
    the library's own (bench/server_store.py measures the copy into qdrant-client's in-process engine)."""
    url = target_url(to)
    current = library.settings.qdrant_url.rstrip("/")
    where = url or EMBEDDED
    if url == current:
        raise SoundalikeError(f"the library already keeps its vectors in {where}")
    catalog = library.catalog
    keys = catalog.vector_keys()
    state = json.loads(catalog.meta(STATE) or "{}")
    resumed = state.get("target") == where
    if not resumed:
        state = {"target": where, "done": {}, "verified": []}
    report = MigrationReport(target=where, previous=current or EMBEDDED, resumed=resumed)
    started = time.monotonic()
    library.close_store()  # nothing of the old store stays open meanwhile
    for key in keys:
        opener = open_target or (lambda k, d: open_library_store(library.settings, catalog, k, d, url=url))
        report.spaces[key] = yield from _copy_space(library, key, opener(key, key_dim(key)), state, batch, sample,
                                                    report)
    rows = rows_of(catalog)
    for key in keys:
        windows = rows.counts(key)["windows"]
        if windows:
            opener = open_passage_target or (lambda k, d, w: open_library_passages(library.settings, catalog, k, d, w,
                                                                                    url=url))
            report.spaces[PASSAGES + key] = yield from _copy_passages(
                library, key, rows, opener(key, key_dim(key), windows), state, batch, sample, report)
    update_config(library.settings.home, qdrant_url=url)
    catalog.set_meta(STATE, "")
    report.seconds = time.monotonic() - started
    yield report


def _copy_space(library, key, store, state, batch, sample, report) -> Iterator[Progress]:
    """Copy one vector space into `store` (resuming after the last committed batch), verify it, close it."""
    catalog = library.catalog
    ids = sorted(catalog.indexed_ids(key))
    standardizer = library.space(key).standardizer()
    try:
        last = int(state["done"].get(key, -1))
        todo = [i for i in ids if i > last]
        done = len(ids) - len(todo)
        for start in range(0, len(todo), batch):
            chunk = todo[start : start + batch]
            raws = dict(catalog.raw_vectors(key, chunk))
            tracks = catalog.many(chunk)
            units = standardizer.apply(np.stack([raws[i] for i in chunk]))
            store.upsert([(tid, units[j], tracks[tid].payload()) for j, tid in enumerate(chunk) if tid in tracks])
            crash_point("migrate-batch")
            state["done"][key] = chunk[-1]
            catalog.set_meta(STATE, json.dumps(state))
            done += len(chunk)
            yield Progress(f"copy {key}", done, len(ids))
        stale = store.ids() - set(ids)
        if stale:
            store.delete(stale)
            report.removed_stale += len(stale)
        store.flush()
        report.sampled += _verify(store, key, ids, standardizer, catalog, sample)
        return len(ids)  # the value of `yield from`
    finally:
        store.close()


def _copy_passages(library, key, rows, store, state, batch, sample, report) -> Iterator[Progress]:
    """Copy the passage index of `key` from the catalog's raw windows (resuming after the last committed
    track), verify it, close it. Returns the number of windows."""
    catalog, entry = library.catalog, PASSAGES + key
    standardizer = library.space(key).standardizer()
    try:
        counts = rows.counts(key)
        total, tracks = counts["windows"], counts["tracks"]
        last = int(state["done"].get(entry, -1))
        if last < 0 and store.count():
            store.remove_tracks(store.track_ids())  # windows from an earlier life of this store: rewrite all
        written = rows.written(key)  # the library is locked: the catalog holds still during the copy
        done = sum(1 for t in written if t <= last)
        pending: list = []
        held = 0  # windows in `pending`
        for tid, starts, ends, raws in rows.windows(key, after=last):
            pending.append((tid, starts, ends, standardizer.apply(raws)))
            held += len(raws)
            if held >= batch:
                done += yield from _send_windows(store, pending, state, entry, catalog, key, tracks, done)
                pending, held = [], 0
        if pending:
            done += yield from _send_windows(store, pending, state, entry, catalog, key, tracks, done)
        before = store.count()
        store.remove_tracks(store.track_ids() - written)
        report.removed_stale += before - store.count()
        store.flush()
        report.sampled += _verify_windows(store, key, rows, written, standardizer, total, sample)
        catalog.set_meta(STAMP + key, stats_stamp(library, key))  # written with today's statistics
        catalog.set_meta(SETTLED + key, "")  # the next pass looks at the new index (its search graph)
        return total
    finally:
        store.close()


def _send_windows(store, items, state, entry, catalog, key, tracks, done) -> Iterator[Progress]:
    """Write whole tracks' windows (ids replace: a batch sent twice leaves one copy), then commit the mark."""
    store.write_tracks(items, had_windows=False)  # the target holds none of these (emptied, or a resumed batch)
    crash_point("migrate-batch")
    state["done"][entry] = items[-1][0]
    catalog.set_meta(STATE, json.dumps(state))
    yield Progress(f"copy passages of {key}", done + len(items), tracks)
    return len(items)


def _verify_windows(store, key, rows, written, standardizer, total, sample) -> int:
    """Counts equal, and a random window of each of a sample of tracks equals the catalog's standardised one."""
    have = store.count()
    if have != total:
        raise SoundalikeError(f"verification failed for the passage index of {key}: the target holds {have} "
                              f"windows, the catalog {total}; the library still uses its old store (run the "
                              "command again)")
    rng = np.random.default_rng(int.from_bytes(os.urandom(4), "little"))
    ids = sorted(written)
    picked = [int(i) for i in rng.choice(ids, size=min(sample, len(ids)), replace=False)] if ids else []
    wanted = {}  # point id -> (track, window, the catalog's standardised window)
    for tid, _, _, raws in rows.windows(key, ids=picked):
        i = int(rng.integers(len(raws)))
        wanted[point_id(tid, i)] = (tid, i, standardizer.apply(raws[i]))
    stored = store.get_vectors(wanted)  # one request for the whole sample
    for pid, (tid, i, want) in wanted.items():
        got = stored.get(pid)
        if got is None or not np.allclose(got, want, atol=1e-4):
            raise SoundalikeError(f"verification failed for the passage index of {key}: window {i} of track {tid} "
                                  "differs from the catalog's; the library still uses its old store (run the "
                                  "command again)")
    return len(wanted)


def _verify(store, key, ids, standardizer, catalog, sample) -> int:
    """Counts equal, and a random sample of stored vectors equals the catalog's standardised ones."""
    have = store.count()
    if have != len(ids):
        raise SoundalikeError(f"verification failed for {key}: the target holds {have} points, the catalog "
                              f"{len(ids)}; the library still uses its old store (run the command again)")
    rng = np.random.default_rng(int.from_bytes(os.urandom(4), "little"))
    picked = [int(i) for i in rng.choice(ids, size=min(sample, len(ids)), replace=False)] if ids else []
    stored = store.get_vectors(picked)
    raws = dict(catalog.raw_vectors(key, picked))
    for tid in picked:
        want = standardizer.apply(raws[tid])
        got = stored.get(tid)
        if got is None or not np.allclose(got, want, atol=1e-4):
            raise SoundalikeError(f"verification failed for {key}: track {tid}'s stored vector differs from the "
                                  "catalog's; the library still uses its old store (run the command again)")
    return len(picked)
