"""`soundalike check [--repair]`: do the catalog and the vector store agree?

The catalog is the source of truth. After a crash the two can differ by the tracks that were in
flight: a point whose catalog row was never committed (an orphan), or a committed vector the store
lost. Repair rewrites missing points from the raw vectors the catalog keeps (no decoding), deletes
orphans, and re-plans tracks marked indexed without a vector.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from desktop.core.library import Library
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
    repaired: bool = False

    @property
    def ok(self) -> bool:
        return not (self.missing_in_store or self.orphans_in_store or self.indexed_without_vector or self.missing_files)

    def lines(self) -> list[str]:
        out = [f"vector space: {self.key or 'none'}; {self.tracks} tracks in the catalog, "
               f"{self.points} points in the store"]
        for name, ids in (("indexed in the catalog but missing from the store", self.missing_in_store),
                          ("in the store but not in the catalog (orphans)", self.orphans_in_store),
                          ("marked indexed without a vector", self.indexed_without_vector),
                          ("files that no longer exist", self.missing_files)):
            if ids:
                shown = ", ".join(map(str, ids[:10])) + (" ..." if len(ids) > 10 else "")
                out.append(f"{len(ids)} {name}: {shown}")
        out.append(("repaired" if self.repaired else "problems found; run `soundalike check --repair`")
                   if not self.ok else "catalog and store agree")
        return out


def check(library: Library, repair: bool = False) -> CheckReport:
    catalog = library.catalog
    key = library.active_key or ""
    report = CheckReport(key=key, tracks=catalog.counts()["total"])
    report.missing_files = missing_tracks(catalog)
    if key:
        store = library.store()  # opening it finishes an interrupted re-standardisation
        with_vectors = catalog.indexed_ids(key)
        points = store.ids()
        report.points = len(points)
        report.missing_in_store = sorted(with_vectors - points)
        report.orphans_in_store = sorted(points - with_vectors)
        indexed = {t.id for t in catalog.tracks(status="indexed") if t.embedder == key}
        report.indexed_without_vector = sorted(indexed - with_vectors)
    if repair and not report.ok:
        _repair(library, report)
        report.repaired = True
    return report


def _repair(library: Library, report: CheckReport) -> None:
    catalog = library.catalog
    if report.key:
        store = library.store()
        if report.orphans_in_store:
            store.delete(report.orphans_in_store)
        if report.missing_in_store:
            raws = dict(catalog.raw_vectors(report.key, report.missing_in_store))
            tracks = catalog.many(raws)
            store.upsert([(tid, library.to_unit(raw), tracks[tid].payload()) for tid, raw in raws.items()])
        catalog.set_pending(report.indexed_without_vector)
    library.remove_tracks(report.missing_files)
