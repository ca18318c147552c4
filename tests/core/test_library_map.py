"""The library map: families form separate islands, the map is cached and updated incrementally."""

from __future__ import annotations

import numpy as np

from desktop.core.catalog import Track
from desktop.core.config import load_settings
from desktop.core.indexer import scan_and_index
from desktop.core.library import Library
from desktop.core.library_map import cache_path, library_map, load
from tests.vector_library import KEY, make_library


def neighbour_agreement(xy: np.ndarray, family: np.ndarray, k: int = 5) -> float:
    """Share of each point's k nearest points on the map that are of its own family."""
    d = ((xy[:, None] - xy[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    near = np.argsort(d, axis=1)[:, :k]
    return float((family[near] == family[:, None]).mean())


def silhouette(xy: np.ndarray, family: np.ndarray) -> float:
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    scores = []
    for i in range(len(xy)):
        own = family == family[i]
        own[i] = False
        a = d[i, own].mean()
        b = min(d[i, family == f].mean() for f in set(family.tolist()) if f != family[i])
        scores.append((b - a) / max(a, b))
    return float(np.mean(scores))


def test_families_of_vectors_form_separate_islands(tmp_path):
    family = make_library(tmp_path, 400, fill_store=False)
    with Library.open(tmp_path) as lib:
        m = library_map(lib)
    assert m is not None and len(m) == 400 and m.ids.tolist() == list(range(1, 401))
    fam = family[m.ids - 1]
    agreement, sil = neighbour_agreement(m.xy, fam), silhouette(m.xy, fam)
    print(f"2-D neighbour family agreement {agreement:.3f}, silhouette {sil:.3f}")
    assert agreement >= 0.95 and sil >= 0.5
    # each track keeps its nearest tracks in the full space: mostly of its own family
    nb_family = family[m.neighbours - 1]
    assert (nb_family == fam[:, None]).mean() >= 0.95


def test_synthesised_music_families_lie_apart(tmp_path, family_dir):
    """Real decode and spectral vectors of the 3 x 4 family clips: each clip's 3 nearest on the map are kin."""
    home = tmp_path / "home"
    load_settings(home, embedder="spectral").save()
    with Library.open(home) as lib:
        list(scan_and_index(lib, [str(family_dir)]))
        m = library_map(lib)
        tracks = lib.catalog.many(m.ids.tolist())
    fam = np.array([tracks[int(t)].path.split("/")[-2] for t in m.ids])
    assert len(set(fam)) == 3 and neighbour_agreement(m.xy, fam, k=3) >= 0.9


def test_the_map_is_cached_and_reused_across_reopen(tmp_path):
    make_library(tmp_path, 120, fill_store=False)
    with Library.open(tmp_path) as lib:
        first = library_map(lib)
        path = cache_path(lib, KEY)
    assert path.is_file()
    stamp = path.stat().st_mtime_ns
    with Library.open(tmp_path) as lib:
        again = library_map(lib)
    assert path.stat().st_mtime_ns == stamp  # read, not written again
    assert np.array_equal(again.xy, first.xy) and np.array_equal(again.ids, first.ids)
    path.write_bytes(b"not a map")  # a damaged cache is computed again, not an error
    with Library.open(tmp_path) as lib:
        assert np.allclose(library_map(lib).xy, first.xy, atol=1e-4)


def test_a_new_track_is_placed_near_its_family_without_moving_the_rest(tmp_path):
    family = make_library(tmp_path, 200, fill_store=False)
    with Library.open(tmp_path) as lib:
        before = library_map(lib)
        raws = dict(lib.catalog.raw_vectors(KEY))
        kin = [t for t in raws if family[t - 1] == family[0]]
        rng = np.random.default_rng(5)
        centre = np.mean([raws[t] for t in kin], axis=0)
        new_ids = []
        for i in range(3):
            tid = lib.catalog.add_track(Track(id=0, path=f"/music/new{i}.flac", title=f"new {i}", duration=100.0))
            lib.catalog.set_indexed(tid, KEY, (centre + rng.standard_normal(len(centre))).astype(np.float32))
            new_ids.append(tid)
        lib.catalog.remove([5])
        after = library_map(lib)
    assert after.placed == 3 and 5 not in after.ids.tolist() and len(after) == 202
    at_before, at_after = before.index_of(), after.index_of()
    kept = [t for t in before.ids.tolist() if t != 5]
    assert np.array_equal(after.xy[[at_after[t] for t in kept]], before.xy[[at_before[t] for t in kept]])
    fam = np.array([family[t - 1] if t <= 200 else family[0] for t in after.ids.tolist()])
    for tid in new_ids:
        d = ((after.xy - after.xy[at_after[tid]]) ** 2).sum(1)
        d[at_after[tid]] = np.inf
        assert (fam[np.argsort(d)[:5]] == family[0]).mean() >= 0.8
        assert all(family[n - 1] == family[0] for n in after.neighbours_of(tid) if n <= 200)
    assert all(5 not in after.neighbours_of(t) for t in after.ids.tolist())
    with Library.open(tmp_path) as lib:
        assert load(cache_path(lib, KEY), KEY).placed == 3
