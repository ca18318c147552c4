"""`soundalike check [--repair] [--prune]`: do the catalog and the vector store agree?

The catalog is the source of truth. After a crash the two can differ by the tracks that were in
flight: a point whose catalog row was never committed (an orphan), or a committed vector the store
lost. Repair rewrites missing points from the raw vectors the catalog keeps (no decoding), deletes
orphans, re-plans tracks marked indexed without a vector, and marks files that are gone as missing
(never deleted: a drive may come back). Only `--prune` drops missing tracks and their vectors.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from desktop.core.errors import LibraryInUse, StoreUnavailable
from desktop.core.library import Library
from desktop.core.paths import shown
from desktop.core.scan import missing_tracks


@dataclass
class CheckReport:
    key: str = ""
    tracks: int = 0
    points: int = 0
    missing_in_store: list[int] = field(default_factory=list)
    orphans_in_store: list[int] = field(default_factory=list)
    indexed_without_vector: list[int] = field(default_factory=list)
    missing_files: list[int] = field(default_factory=list)
    pruned: list[int] = field(default_factory=list)
    damaged_vectors: list[int] = field(default_factory=list)  # non-finite, or not the catalog's vector
    store_error: str = ""  # the store cannot be opened or read
    moved_aside: str = ""  # where a rebuild put the damaged store
    repaired: bool = False

    @property
    def ok(self) -> bool:
        return not (self.missing_in_store or self.orphans_in_store or self.indexed_without_vector or self.missing_files
                    or self.damaged_vectors or self.store_error)

    def lines(self) -> list[str]:
        out = [f"vector space: {self.key or 'none'}; {self.tracks} tracks in the catalog, "
               f"{self.points} points in the store"]
        if self.store_error:
            out.append(f"the vector store is damaged: {self.store_error.split('; run `')[0]}")
        for name, ids in (("indexed in the catalog but missing from the store", self.missing_in_store),
                          ("in the store but not searchable (orphans or missing files)", self.orphans_in_store),
                          ("marked indexed without a vector", self.indexed_without_vector),
                          ("files that no longer exist (marked missing on repair, kept)", self.missing_files),
                          ("points whose vector is damaged (NaN, infinity or not the catalog's)", self.damaged_vectors),
                          ("missing tracks pruned with their vectors", self.pruned)):
            if ids:
                out.append(f"{len(ids)} {name}: {id_list(ids)}")
        if self.moved_aside:
            out.append(f"the vector store was rebuilt from the catalog (no decoding); the old one is in "
                       f"{self.moved_aside}")
        out.append(("repaired" if self.repaired else "problems found; run `soundalike check --repair`")
                   if not self.ok else "catalog and store agree")
        return out


def id_list(ids: list[int], most: int = 10) -> str:
    return ", ".join(map(str, ids[:most])) + (" ..." if len(ids) > most else "")


def check(library: Library, repair: bool = False, prune: bool = False) -> CheckReport:
    catalog = library.catalog
    key = library.active_key or ""
    counts = catalog.counts()
    report = CheckReport(key=key, tracks=counts["total"] + counts["missing"])
    report.missing_files = missing_tracks(catalog)
    if key:
        indexed = {t.id for t in catalog.tracks(status="indexed", missing=None) if t.embedder == key}
        report.indexed_without_vector = sorted(indexed - catalog.indexed_ids(key))
        searchable = catalog.searchable_ids(key)
        try:
            store = library.store(heal=False)  # opening it finishes an interrupted re-standardisation
            points = store.ids()
            report.damaged_vectors = damaged_points(library, sorted(searchable & points))
        except LibraryInUse:
            raise
        except StoreUnavailable as e:
            report.store_error = str(e)
        else:
            report.points = len(points)
            report.missing_in_store = sorted(searchable - points)
            report.orphans_in_store = sorted(points - searchable)
    if repair and not report.ok:
        _repair(library, report)
        report.repaired = True
    if repair and prune:
        report.pruned = prune_missing(library)
    return report


def _repair(library: Library, report: CheckReport) -> None:
    library.catalog.mark_missing(report.missing_files)
    if report.key:
        library.catalog.set_pending(report.indexed_without_vector)
        if report.store_error or report.damaged_vectors:
            report.moved_aside = rebuild_store(library)
        library.sync_store()


def damaged_points(library: Library, ids: list[int], batch: int = 1000) -> list[int]:
    """Points whose stored vector is not finite or not the catalog's (standardised) raw vector."""
    bad: list[int] = []
    key = library.active_key
    for i in range(0, len(ids), batch):
        chunk = ids[i : i + batch]
        stored = library.store(heal=False).get_vectors(chunk)
        for tid, raw in library.catalog.raw_vectors(key, chunk):
            got = stored.get(tid)
            if got is None:
                continue
            want = library.space().to_unit(raw)
            norm = float(np.linalg.norm(got)) * float(np.linalg.norm(want))
            if not np.isfinite(got).all() or not norm or float(np.dot(got, want)) / norm < 0.999:
                bad.append(tid)
    return bad


def rebuild_store(library: Library) -> str:
    """Move the damaged store folder aside (never deleted) and write a new one from the catalog."""
    folder = library.store_folder()
    library.close_store()
    if folder is None:  # a Qdrant server: rewrite every point in place
        library.restore_points(sorted(library.catalog.searchable_ids(library.active_key)))
        return ""
    aside = folder.with_name(f"{folder.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    if folder.exists():
        os.replace(folder, aside)
    library.store()  # a new, empty store, filled from the catalog's raw vectors on open
    return str(aside)


def prune_missing(library: Library) -> list[int]:
    """Forget every track marked missing, with its vectors: the one way vectors are ever dropped."""
    ids = library.catalog.missing_ids()
    library.remove_tracks(ids)
    return ids


def describe_missing(library: Library, most: int = 20) -> list[str]:
    """What `prune` will drop, one line per track."""
    tracks = library.catalog.tracks(missing=True)
    out = [f"[{t.id}] {t.artist} - {t.title}  ({shown(t.path)})" for t in tracks[:most]]
    if len(tracks) > most:
        out.append(f"... and {len(tracks) - most} more")
    return out
