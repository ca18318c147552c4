"""Library standardisation: z-scores with equal group weights, and within-track whitening learned from
the parts of each track (its estimate, what it is for, and how the catalog and library keep it)."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.core.catalog import Catalog
from desktop.core.embedders.spectral import MAX_PARTS, FeatureSums, SpectralEmbedder, finished_vector
from desktop.core.indexer import scan_and_index
from desktop.core.library import Library
from desktop.core.standardize import MAX_GAIN, Standardizer, within_track_whitening
from tests import audio

SR = 16000


def test_z_scores_and_equal_group_weights():
    raw = np.array([[0.0, 10.0, 100.0], [2.0, 30.0, 300.0]], np.float32)
    st = Standardizer.fit(raw, groups=(("a", 0, 1), ("b", 1, 3)))
    assert st.whitening is None  # no parts, no whitening
    assert np.allclose(st.mean, [1, 20, 200]) and np.allclose(st.scale, [1, 10, 100])
    assert np.allclose(st.weights, [1, 1 / np.sqrt(2), 1 / np.sqrt(2)])
    # (1, 1/sqrt2, 1/sqrt2) normalised: both groups weigh the same
    assert np.allclose(st.apply(raw[1]), np.array([1, 0.5**0.5, 0.5**0.5]) / np.sqrt(2), atol=1e-6)


def test_shrinkage_matches_the_textbook_formula(rng):
    """Schafer-Strimmer shrinkage toward the diagonal, computed from streamed sums, equals the direct
    computation over all deviation rows; the result whitens the shrunk covariance."""
    dim, tracks = 6, 40
    parts = [rng.normal(size=(5, dim)) @ rng.normal(size=(dim, dim)) for _ in range(tracks)]
    scale, weights = np.full(dim, 2.0), np.ones(dim)
    got = within_track_whitening(parts, scale, weights)
    dev = np.concatenate([(p - p.mean(0)) / scale for p in parts])
    n = len(dev)
    cov = dev.T @ dev / n
    products = dev[:, :, None] * dev[:, None, :]  # n x dim x dim: every sample's contribution
    var = ((products - cov) ** 2).sum(0) / (n * (n - 1))
    off = ~np.eye(dim, dtype=bool)
    lam = min(1.0, var[off].sum() / (cov[off] ** 2).sum())
    assert 0 < lam < 1
    shrunk = (1 - lam) * cov + lam * np.diag(np.diag(cov))
    mu = np.trace(cov) / dim
    assert np.allclose(got, got.T, atol=1e-5)
    whitened = got.astype(np.float64) @ shrunk @ got.astype(np.float64)
    assert np.allclose(whitened, mu * np.eye(dim), rtol=1e-4, atol=1e-4 * mu)


def test_no_whitening_without_enough_parts(rng):
    dim = 4
    assert within_track_whitening([], np.ones(dim), np.ones(dim)) is None
    singles = [rng.normal(size=(1, dim)) for _ in range(50)]  # one part per track says nothing
    assert within_track_whitening(singles, np.ones(dim), np.ones(dim)) is None
    bad = [np.full((3, dim), np.nan), np.zeros((3, dim))]  # NaN tracks are skipped, identical parts add 0
    assert within_track_whitening(bad, np.ones(dim), np.ones(dim)) is None


def test_whitening_listens_to_what_stays_put_inside_a_track(rng):
    """Dimension 0 tells the families apart and barely moves inside a track; dimensions 1-3 wander a
    lot inside each track (a quiet intro, a loud chorus). Plain z-scores drown the family in that
    wandering; whitening by the within-track covariance finds it again."""
    families, per_family, parts_per_track, dim = 3, 8, 6, 10
    raws, parts, labels = [], [], []
    for f in range(families):
        for _ in range(per_family):
            centre = np.concatenate([[f * 1.0], rng.normal(0, 0.2, dim - 1)])
            p = centre + np.concatenate([rng.normal(0, 0.05, (parts_per_track, 1)),
                                         rng.normal(0, 3.0, (parts_per_track, dim - 1))], axis=1)
            parts.append(p)
            raws.append(p.mean(0) + np.concatenate([[0], rng.normal(0, 1.0, dim - 1)]))  # the mix
            labels.append(f)
    raws, labels = np.array(raws), np.array(labels)

    def nearest_same_family(st: Standardizer) -> float:
        u = st.apply(raws)
        sims = u @ u.T
        np.fill_diagonal(sims, -np.inf)
        return float((labels[np.argmax(sims, axis=1)] == labels).mean())

    plain, whitened = Standardizer.fit(raws), Standardizer.fit(raws, parts=parts)
    assert whitened.whitening is not None and plain.whitening is None
    assert nearest_same_family(whitened) >= 0.9 > 0.75 > nearest_same_family(plain)


def test_apply_stays_finite_and_unit_with_whitening(rng):
    raw = rng.normal(size=(30, 5))
    parts = [rng.normal(size=(4, 5)) for _ in range(30)]
    for p in parts:
        p[:, 0] = p[0, 0]  # a feature that never moves inside a track must not take over
    st = Standardizer.fit(raw, parts=parts)
    gains = np.linalg.eigvalsh(st.whitening.astype(np.float64))
    assert gains.max() <= MAX_GAIN * 1.001 and np.median(gains) < 1.5  # 1 = an average direction
    out = st.apply(np.vstack([raw, st.mean[None, :]]))  # the library mean itself included
    assert np.isfinite(out).all() and np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)


# -- the spectral embedder's parts -------------------------------------------------------------------
def test_spectral_parts_add_up_to_the_track(rng):
    emb = SpectralEmbedder()
    segs = [audio.render("plucked", s, seed=i, sr=SR) for i, s in enumerate((15.0, 15.0, 10.0, 5.0))]
    whole, parts = emb.embed_segment_parts(segs)
    one = FeatureSums()
    for s in segs:
        one.add(s)
    assert np.allclose(whole, finished_vector(one), rtol=1e-5, atol=1e-4)  # merged parts = one running sum
    assert parts.shape == (3, emb.dim)  # 15, 15, 10+5: the 5 s tail joins the part before it
    assert np.allclose(parts[0], emb.embed_segments(segs[:1]), atol=1e-5)
    single = emb.embed_segment_parts([segs[3]])[1]
    assert single.shape == (1, emb.dim)  # a short track is one part
    many = emb.embed_segment_parts(np.zeros((MAX_PARTS + 5, 8 * SR), np.float32))[1]
    assert many.shape == (MAX_PARTS, emb.dim)  # a long stream keeps a bounded number of parts


# -- catalog and library ------------------------------------------------------------------------------
def test_part_vectors_are_paged(tmp_path):
    cat = Catalog(tmp_path / "c.sqlite3")
    ids = [cat._run("INSERT INTO tracks(path) VALUES (?)", (f"/m/{i}.wav",)).lastrowid for i in range(7)]
    for i, tid in enumerate(ids):
        cat.set_indexed(tid, "k-v1-2", np.ones(2), None if i == 3 else np.full((i % 3 + 1, 2), i, np.float32))
    got = list(cat.part_vectors("k-v1-2", page=2))
    assert [p.shape[0] for p in got] == [1, 2, 3, 2, 3, 1] and got[-1][0, 0] == 6
    cat.close()


@pytest.fixture(scope="module")
def long_families(tmp_path_factory):
    """3 families x 3 clips of 32 s: each clip is read as two 15 s parts (plus a 2 s tail)."""
    root = tmp_path_factory.mktemp("long")
    for family in ("plucked", "pad", "drums"):
        for i in range(3):
            audio.write(root / family / f"{family}{i}.flac", audio.render(family, 32.0, seed=40 + i, sr=22050), 22050)
    return root


def test_library_learns_whitening_while_indexing_and_keeps_it(home, long_families):
    with Library.open(home, embedder="spectral") as lib:
        list(scan_and_index(lib, [str(long_families)]))
        key = lib.active_key
        st = lib.space().standardizer()
        assert key == SpectralEmbedder().key and st.whitening is not None and st.n == 9
        assert sum(p.shape[0] for p in lib.catalog.part_vectors(key)) == 18
        tid, raw = next(lib.catalog.raw_vectors(key))
        stored = lib.store().get_vectors([tid])[tid]
        unit = lib.space().to_unit(raw)
        plain = Standardizer(st.mean, st.scale, st.weights, st.n).apply(raw)
        assert not np.allclose(unit, plain, atol=1e-3)  # whitening changes what the store compares
        assert np.allclose(stored, unit, atol=1e-2)  # and the store holds the whitened vectors
        hits = lib.store().search(unit, 3)
        assert hits[0].id == tid
    with Library.open(home, embedder="spectral") as lib:  # reopened: the same statistics, from the catalog
        again = lib.space().standardizer()
        assert np.array_equal(again.whitening, st.whitening) and np.allclose(lib.space().to_unit(raw), unit)
