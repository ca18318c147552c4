"""Eval metrics on hand-made rankings with known answers."""

import numpy as np
import pytest

from desktop.core.evaluate import average_precision, evaluate_rankings, precision_at_k, rank_by_cosine


def test_precision_at_k():
    ranked = ["a", "b", "a", "a", "c"]
    assert precision_at_k(ranked, "a", 1) == 1.0
    assert precision_at_k(ranked, "a", 2) == 0.5
    assert precision_at_k(ranked, "a", 5) == 0.6
    assert precision_at_k(ranked, "a", 10) == 0.3  # missing ranks count as misses
    with pytest.raises(ValueError):
        precision_at_k(ranked, "a", 0)


def test_average_precision():
    # relevant at ranks 1, 3, 4: (1/1 + 2/3 + 3/4) / 3
    assert average_precision(["a", "b", "a", "a", "c"], "a") == pytest.approx((1 + 2 / 3 + 3 / 4) / 3)
    assert average_precision(["b", "c"], "a") == 0.0
    assert average_precision(["a", "a"], "a") == 1.0


def test_evaluate_rankings_per_label_and_confusions():
    labels = ["x", "x", "y", "y"]
    rankings = [[1, 2, 3], [2, 0, 3], [3, 0, 1], [0, 2, 1]]
    r = evaluate_rankings(labels, rankings, k=2)
    # P@1: 1, 0, 1, 0 -> 0.5 ; P@2: 0.5, 0.5, 0.5, 0.5
    assert r.p_at_1 == 0.5 and r.p_at_k == 0.5
    ap = [1.0, 0.5, 1.0, 0.5]
    assert r.map == pytest.approx(np.mean(ap))
    assert r.per_label["x"] == {"n": 2, "p_at_1": 0.5, "p_at_k": 0.5, "map": 0.75}
    top = r.confusions[0]
    assert top["share"] == 0.5 and {top["label"], top["confused_with"]} == {"x", "y"}


def test_rank_by_cosine_excludes_self():
    v = np.array([[1, 0], [0.9, 0.1], [0, 1]], np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert rank_by_cosine(v) == [[1, 2], [0, 2], [1, 0]]
