"""Late interaction: tracks compared part by part (desktop.core.late_interaction), in `similar` and `eval`."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.core import late_interaction
from desktop.core.embedders.spectral import REP_DIM
from desktop.core.indexer import scan_and_index
from desktop.core.late_interaction import chamfer, chamfer_many, part_sets, rerank, rerank_rankings, track_parts
from desktop.core.library import Library
from desktop.core.passage_catalog import PassageRows
from desktop.core.passages import index_passages
from desktop.core.similarity import similar
from tests.audio import SR, render, write


def unit(*rows):
    x = np.asarray(rows, np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_chamfer_is_symmetric_and_is_the_cosine_for_single_parts():
    rng = np.random.default_rng(0)
    a, b = unit(*rng.normal(size=(3, 8))), unit(*rng.normal(size=(5, 8)))
    assert chamfer(a, b) == pytest.approx(chamfer(b, a))
    assert chamfer(a[:1], b[:1]) == pytest.approx(float(a[0] @ b[0]))
    assert chamfer(a, a) == pytest.approx(1.0)
    sets = [unit(*rng.normal(size=(k, 8))) for k in (1, 6, 24)]
    np.testing.assert_allclose(chamfer_many(a, sets), [chamfer(a, s) for s in sets], atol=1e-6)


def test_a_shared_section_counts_even_when_the_other_sections_differ():
    # the query is half a, half b; one candidate repeats a and adds an unrelated c; the other never plays a
    # or b but sits between them on average
    a, b, c, between = unit([1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0.4, 0.4, 0, 0.82])
    query, shares_a, blend = np.stack([a, a, b, b]), np.stack([a, a, c, c]), np.stack([between] * 4)
    assert float(query.mean(0) @ blend.mean(0)) > float(query.mean(0) @ shares_a.mean(0))
    assert chamfer(query, shares_a) > chamfer(query, blend)


def test_rerank_is_stable_and_keeps_unscored_candidates_last():
    q = unit([1, 0])
    sets = {1: unit([0, 1]), 2: unit([1, 0]), 3: unit([1, 0])}
    assert rerank(q, [1, 9, 2, 3], sets) == [2, 3, 0, 1]  # ties (2, 3) keep the store's order; 9 has no set
    rankings = rerank_rankings([[1, 2], [0, 2], [1, 0]], [unit([1, 0]), unit([0, 1]), unit([1, 0.1])], pool=1)
    assert rankings == [[1, 2], [0, 2], [1, 0]]  # a pool of one re-orders nothing
    assert rerank_rankings([[1, 2], [2, 0], [1, 0]], [unit([1, 0]), unit([0, 1]), unit([1, 0.1])]) == \
        [[2, 1], [2, 0], [0, 1]]


def test_only_spectral_spaces_are_reranked():
    assert late_interaction.applies("spectral-v2-260")
    assert not late_interaction.applies("wav2vec2-base-768") and not late_interaction.applies(None)


def section(family: str, seed: int) -> np.ndarray:
    return render(family, 30.0, seed)


@pytest.fixture(scope="module")
def two_part_library(tmp_path_factory):
    """60 s tracks the spectral embedder reads as four 15 s parts: a query of plucked notes then drums, tracks
    that play one of its sounds throughout or beside another one, and blends of its two sounds at once."""
    root = tmp_path_factory.mktemp("sections")
    tracks = {
        "query": np.concatenate([section("plucked", 1), section("drums", 2)]),
        "plucked_twice": np.concatenate([section("plucked", 3), section("plucked", 4)]),
        "drums_then_pad": np.concatenate([section("drums", 5), section("pad", 6)]),
        "pad_twice": np.concatenate([section("pad", 7), section("pad", 8)]),
        "pad_then_plucked": np.concatenate([section("pad", 9), section("plucked", 10)]),
        "drums_twice": np.concatenate([section("drums", 19), section("drums", 20)]),
    }
    for i in range(2):
        blend = 0.5 * np.concatenate([section("plucked", 11 + i), section("plucked", 13 + i)])
        tracks[f"blend{i}"] = blend + 0.5 * np.concatenate([section("drums", 15 + i), section("drums", 17 + i)])
    for name, x in tracks.items():
        write(root / "music" / f"{name}.wav", x.astype(np.float32), SR, channels=1)
    return root


def test_similar_finds_the_track_that_plays_one_of_the_query_sounds_throughout(home, two_part_library):
    with Library.open(home, embedder="spectral") as lib:
        assert list(scan_and_index(lib, [str(two_part_library / "music")], workers=1))[-1].indexed == 8
        ids = {t.path.rsplit("/", 1)[1][:-4]: t.id for t in lib.catalog.tracks()}
        name = {v: k for k, v in ids.items()}
        query = ids["query"]
        by_cosine = [name[h.id] for h in lib.store().search(lib.store().get_vectors([query])[query], 4,
                                                            exclude_ids=[query])]
        hits = {name[h.track_id] for h in similar(lib, query, k=2)}
        outside = two_part_library / "dropped.wav"  # the query's audio, dropped from outside the library
        write(outside, np.concatenate([section("plucked", 1), section("drums", 2)]), SR, channels=1)
        dropped = {name[h.track_id] for h in similar(lib, str(outside), k=2)}
    # by average alone, the drums throughout are not among its two nearest (they lack the plucked half) ...
    assert "drums_twice" in by_cosine and "drums_twice" not in by_cosine[:2]
    # ... by parts, the query's drum parts find their match there
    assert "drums_twice" in hits and not hits & {"blend0", "blend1"}
    assert dropped == hits  # a dropped file is compared by the parts it was analysed in


def test_a_track_stored_without_parts_counts_its_own_vector_as_its_part(home, two_part_library):
    with Library.open(home, embedder="spectral") as lib:
        list(scan_and_index(lib, [str(two_part_library / "music")], workers=1))
        key, track = lib.active_key, next(iter(lib.catalog.tracks()))
        raw = dict(lib.catalog.raw_vectors(key, [track.id]))[track.id]
        assert len(part_sets(lib.space(), [track.id])[track.id]) == 4
        lib.catalog.set_indexed(track.id, key, raw, None)
        only = part_sets(lib.space(), [track.id])[track.id]
        assert only.shape == (1, len(raw))
        np.testing.assert_allclose(only[0], lib.space().to_unit(raw), atol=1e-6)


def test_a_model_space_is_whitened_by_its_windows_and_keeps_plain_cosine(home, two_part_library, tiny_model_dir):
    """A tiny random wav2vec2 (no pretrained weights here): its per-window vectors reach the catalog and fit
    the within-track whitening, as the spectral excerpts do; its similar lists are not re-scored by parts."""
    with Library.open(home, embedder="wav2vec2", model=str(tiny_model_dir), device="cpu") as lib:
        assert list(scan_and_index(lib, [str(two_part_library / "music")], workers=1))[-1].indexed == 8
        key = lib.active_key
        parts = list(lib.catalog.part_vectors(key))
        assert len(parts) == 8 and all(len(p) > 1 for p in parts)
        assert lib.space().standardizer().whitening is not None
        assert not late_interaction.applies(key)
        query = lib.catalog.track_ids()[0]
        hits = similar(lib, query, k=3)
        by_cosine = lib.store().search(lib.store().get_vectors([query])[query], 3, exclude_ids=[query])
    assert {h.track_id for h in hits} == {h.id for h in by_cosine}


def test_the_passage_pass_adds_whole_track_parts_that_take_the_tracks_repetition(home, two_part_library):
    """The passage pass reads each track whole: its 2 s block sums, merged 16 at a time, become more parts for late
    interaction (60 s: 30 blocks -> 2 parts of 32 and 28 s); too short for the repetition dimensions,
    they take the mean of the track's excerpts there. A passage row made before parts were kept is planned again."""
    with Library.open(home, embedder="spectral") as lib:
        list(scan_and_index(lib, [str(two_part_library / "music")], workers=1))
        key, ids = lib.active_key, lib.catalog.track_ids()
        name = {t.id: t.path.rsplit("/", 1)[1][:-4] for t in lib.catalog.tracks()}
        before = track_parts(lib.catalog, key, ids)
        list(index_passages(lib, in_process=True))
        after = track_parts(lib.catalog, key, ids)
        sets = part_sets(lib.space(), ids)
        query = next(t for t in ids if name[t] == "query")
        hits = {name[h.track_id] for h in similar(lib, query, k=2)}
        rows = PassageRows(lib.catalog)
        assert rows.plan(key) == []
        lib.catalog._run("UPDATE passage_windows SET parts=NULL WHERE track_id=?", (query,))
        replanned, plain = rows.plan(key), rows.plan(key, with_parts=False)
    for tid in ids:
        assert len(before[tid]) == 4 and len(after[tid]) == 6 and len(sets[tid]) == 6
        np.testing.assert_array_equal(after[tid][:4], before[tid])
        np.testing.assert_allclose(after[tid][4:, -REP_DIM:], np.tile(before[tid][:, -REP_DIM:].mean(0), (2, 1)))
        assert np.abs(after[tid][4:, :-REP_DIM] - before[tid][:2, :-REP_DIM]).max() > 0.01  # measured, not copied
    assert "drums_twice" in hits and not hits & {"blend0", "blend1"}
    assert replanned == [query] and plain == []


def test_eval_with_passages_ranks_with_whole_track_parts(tmp_path, two_part_library):
    """`soundalike eval --passages`: the eval library gets its passage pass, so its rankings use the parts the
    window's would."""
    from desktop.core.evaluate import EvalReport, eval_home, run_eval

    music = two_part_library / "music"
    labels = tmp_path / "labels.csv"
    labels.write_text("path,label\n" + "".join(f"{music / f.name},{f.stem.split('_')[0]}\n"
                                                for f in sorted(music.iterdir())))
    events = list(run_eval(str(labels), base_home=tmp_path / "home", embedder="spectral", k=2, passages=True))
    report = events[-1]
    assert isinstance(report, EvalReport) and report.tracks == 8
    assert any(getattr(e, "stage", "") == "passages" for e in events)
    with Library.open(eval_home(tmp_path / "home", str(labels), "spectral")) as lib:
        kept = PassageRows(lib.catalog).parts(lib.active_key, lib.catalog.track_ids())
    assert len(kept) == 8
