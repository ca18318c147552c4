"""The shipped prior for small libraries: its file, the shrinkage toward it, and a library that uses it."""

from __future__ import annotations

import numpy as np

from desktop.core.embedders.spectral import SpectralEmbedder
from desktop.core.indexer import scan_and_index
from desktop.core.library import Library
from desktop.core.priors import Prior, fit_prior, load_prior, save_prior
from desktop.core.standardize import Standardizer, shrink_moments, within_track_covariance
from tests import audio


def _prior(rng, dim=5, tracks=200) -> tuple[Prior, np.ndarray, list[np.ndarray]]:
    mix = rng.normal(size=(dim, dim))
    centres = rng.normal(size=(tracks, dim)) * [1, 10, 100, 0.1, 3][:dim] + 50
    parts = [c + rng.normal(size=(4, dim)) @ mix for c in centres]
    raw = np.stack([p.mean(0) for p in parts])
    return fit_prior("test-1-5", raw, parts), raw, parts


def test_the_spectral_prior_ships_and_fits_its_space():
    prior = load_prior(SpectralEmbedder().key)
    dim = SpectralEmbedder().dim
    assert prior is not None and prior.tracks >= 100 and prior.parts > prior.tracks
    assert prior.mean.shape == prior.var.shape == (dim,) and prior.within.shape == (dim, dim)
    top = np.abs(prior.within).max()
    assert np.isfinite(prior.within).all() and np.allclose(prior.within, prior.within.T, atol=1e-6 * top)
    assert np.linalg.eigvalsh(prior.within).min() > -1e-6 * top
    assert load_prior("no-such-space-3") is None


def test_save_and_load_round_trip(tmp_path, rng):
    prior, _, _ = _prior(rng)
    path = save_prior(prior, tmp_path)
    with np.load(path) as f:
        assert np.allclose(f["within"], prior.within, rtol=1e-5) and int(f["tracks"]) == 200


def test_no_data_means_the_prior_and_much_data_means_the_library(rng):
    prior, raw, parts = _prior(rng)
    mean, var = shrink_moments(raw[:1], prior)  # one track says nothing about spread
    assert np.allclose(mean, prior.mean) and np.allclose(var, prior.var)
    other = raw * 2 + 7  # a library whose music is nothing like the reference, and plenty of it
    big = np.concatenate([other] * 20) + rng.normal(size=(len(other) * 20, raw.shape[1])) * 0.01 * other.std(0)
    mean, var = shrink_moments(big, prior)
    assert np.allclose(mean, big.mean(0), rtol=0.02) and np.allclose(var, big.var(0), rtol=0.1)


def test_few_tracks_lean_on_the_prior(rng):
    prior, raw, _ = _prior(rng)
    mean, var = shrink_moments(raw[:3], prior)
    own = raw[:3].var(0)
    # the estimate sits between the 3 tracks' own variance and the prior's, nearer the prior's
    assert np.all(np.abs(np.log(var / prior.var)) <= np.abs(np.log(own / prior.var)) + 1e-9)


def test_within_covariance_shrinks_toward_the_target(rng):
    """Few parts: pulled toward the prior's covariance; many: the library's own estimate."""
    dim = 4
    target = np.eye(dim) * 1.5 + 0.2
    assert np.allclose(within_track_covariance([], np.ones(dim), np.ones(dim), target=target), target)

    def pull(tracks: int, k: int) -> float:  # 0: the library's own covariance, 1: the target
        parts = [rng.normal(size=(k, dim)) for _ in range(tracks)]
        got = within_track_covariance(parts, np.ones(dim), np.ones(dim), target=target)
        dev = np.concatenate([p - p.mean(0) for p in parts])
        own = dev.T @ dev / len(dev)
        return float(np.sum((got - own) * (target - own)) / np.sum((target - own) ** 2))

    few, many = pull(3, 3), pull(3000, 8)
    assert 0.1 < few <= 1.0 and 0.0 <= many < 0.05 and few > 4 * many


def test_an_empty_or_tiny_library_standardises_with_the_prior(tmp_path):
    """No statistics of its own yet: the library's standardiser is the prior's, not the identity."""
    folder = tmp_path / "music"
    folder.mkdir()
    audio.write(folder / "one.wav", audio.render("pad", 20.0, seed=1))
    with Library.open(tmp_path / "lib", embedder="spectral") as lib:
        list(scan_and_index(lib, [folder], workers=1))
        prior = load_prior(lib.active_key)
        st = lib.space().standardizer()
        assert np.allclose(st.mean, prior.mean, rtol=1e-5) and st.whitening is not None  # not the identity
        plain = Standardizer.fit(np.zeros((0, len(prior.mean))), SpectralEmbedder.groups, prior=prior)
        assert np.allclose(plain.whitening, st.whitening, atol=1e-5)
