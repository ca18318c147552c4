"""Move a library's vectors to a Qdrant server, or back to the embedded store, without decoding anything.

Why from the catalog and not from the old store: the catalog keeps every raw vector and the statistics
each vector space was standardised with, so the copy is rebuilt exactly as the library would write it,
even when the old store is unreachable, damaged or half-written. Every vector space the catalog holds is
copied (not only the active one), so switching embedders back later still finds its vectors.

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
from desktop.core.store import open_library_store

STATE = "migrate_state"  # JSON {"target": ..., "done": {key: last copied track id}, "verified": [keys]}
EMBEDDED = "embedded"


@dataclass
class MigrationReport:
    target: str  # a URL or "embedded"
    previous: str
    spaces: dict[str, int] = field(default_factory=dict)  # key -> points copied and verified
    sampled: int = 0
    removed_stale: int = 0
    seconds: float = 0.0
    resumed: bool = False

    @property
    def vectors(self) -> int:
        return sum(self.spaces.values())


def target_url(to: str) -> str:
    """'' for the embedded store, else the validated server URL."""
    if to == EMBEDDED:
        return ""
    if not to.startswith(("http://", "https://")):
        raise SoundalikeError(f"--to takes a Qdrant server URL (http:// or https://) or 'embedded', got {to!r}")
    return to.rstrip("/")


def migrate(library: Library, to: str, *, batch: int = 512, sample: int = 200,
            open_target=None) -> Iterator[Progress | MigrationReport]:
    """Copy every vector space to `to` (a URL or "embedded"), verify, then switch the library to it.

    `open_target(key, dim)` opens a target collection instead of the library's own (bench/server_store.py
    measures the copy into qdrant-client's in-process engine with it)."""
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
    update_config(library.settings.home, qdrant_url=url)
    catalog.set_meta(STATE, "")
    report.seconds = time.monotonic() - started
    yield report


def _copy_space(library, key, store, state, batch, sample, report) -> Iterator[Progress]:
    """Copy one vector space into `store` (resuming after the last committed batch), verify it, close it."""
    catalog = library.catalog
    ids = sorted(catalog.indexed_ids(key))
    standardizer = library.standardizer_for(key)
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
