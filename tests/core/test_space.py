"""VectorSpace: one embedder key's store and standardisation, built from a catalog and a store factory."""

from __future__ import annotations

import numpy as np

from desktop.core.catalog import Catalog
from desktop.core.space import REFIT_PENDING, VectorSpace
from desktop.core.store import open_store
from desktop.core.track import Track


def two_spaces(tmp_path, rng):
    cat = Catalog(tmp_path / "catalog.sqlite3")
    ids = [cat.add_track(Track(id=0, path=f"/m/{i}.flac", title=f"T{i}")) for i in range(30)]
    for tid in ids:
        cat.set_indexed(tid, "a-v1-4", rng.standard_normal(4) * 10 + 5)
        cat.set_indexed(tid, "b-v1-6", rng.standard_normal(6))
    factory = lambda key, dim: open_store(str(tmp_path / "vectors"), key, dim)  # noqa: E731
    groups = (("x", 0, 3), ("y", 3, 6))
    return cat, ids, VectorSpace("a-v1-4", cat, factory), VectorSpace("b-v1-6", cat, factory, groups)


def test_two_spaces_at_once_refit_and_search(tmp_path, rng):
    cat, ids, a, b = two_spaces(tmp_path, rng)
    for space in (a, b):
        assert space.standardizer().n == 0  # identity before the first fit
        list(space.refit())
        assert space.store().count() == len(ids) and space.standardizer().n == len(ids)
        unit = space.to_unit(next(iter(cat.raw_vectors(space.key)))[1])
        assert abs(float(np.linalg.norm(unit)) - 1.0) < 1e-5
    assert a.store().dim == 4 and b.store().dim == 6 and b.standardizer().weights is not None
    hits = a.store().search(a.to_unit(np.full(4, 5.0)), 3)
    assert len(hits) == 3 and hits[0].payload["title"].startswith("T")
    a.close()
    b.close()
    cat.close()


def test_an_interrupted_rewrite_is_finished_when_the_store_opens(tmp_path, rng):
    cat, ids, a, _ = two_spaces(tmp_path, rng)
    list(a.refit())
    a.store().delete(ids[:5])  # as if the rewrite had stopped before these points
    cat.set_meta(REFIT_PENDING + a.key, "1")
    a.close()
    again = VectorSpace(a.key, cat, lambda key, dim: open_store(str(tmp_path / "vectors"), key, dim))
    assert again.store().count() == len(ids) and not cat.meta(REFIT_PENDING + a.key)
    again.close()
    cat.close()
