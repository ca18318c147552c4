"""Learning from the user's own library, without labels: what generalises (issue: similarity on music
nobody tuned on). Prints one table per question; results are in bench/README.md.

    .venv/bin/python bench/library_learning.py CORPUS_DIR [--cache FEATURES.npz] [--splits 10]

CORPUS_DIR holds labels.csv (path,label). Features are the spectral embedder's raw track vectors and
per-part vectors (extracted like bench/quality.py, or read from --cache when it exists). Labels are used
only to *score*: every statistic and projection is fitted without them, and every figure is reported
three ways so nothing is chosen on the development corpus:
  full         fit on all tracks, rank all (leave-one-out)          -- the development score
  split-half   fit on a random half, rank the other half (x splits) -- no track ranked was seen
  LOLO         fit on 7 labels, score the queries of the 8th        -- a style never seen
Methods: `base` (the app today: z-score, group weights, within-track whitening), `discriminant` (tracks
as classes: the whitened between-track scatter's directions weighted by their signal-to-noise
snr/(1+snr)), `contrastive` (a linear map trained with InfoNCE, two parts of one track = positive pair,
initialised at the identity, 300 steps), `late` (the base vectors, each query's 100 nearest re-scored
by the symmetric Chamfer similarity of the two tracks' whitened part vectors, as the app does; see
desktop.core.late_interaction), and the small-library table: statistics from n tracks of one
half (with and without the prior fitted on the other half), ranking that whole half.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from quality import run_pool, spectral_worker  # noqa: E402

from desktop.core.embedders.spectral import SpectralEmbedder  # noqa: E402
from desktop.core.evaluate import evaluate_rankings, rank_by_cosine  # noqa: E402
from desktop.core.late_interaction import rerank_rankings  # noqa: E402
from desktop.core.priors import fit_prior  # noqa: E402
from desktop.core.standardize import Standardizer  # noqa: E402

GROUPS = SpectralEmbedder.groups


def features(corpus: str, cache: str | None) -> tuple[np.ndarray, list[np.ndarray], list[str]]:
    if cache and os.path.exists(cache):
        d = np.load(cache)
        return d["raw"].astype(np.float64), np.split(d["parts"], np.cumsum(d["nparts"])[:-1]), list(d["labels"])
    with open(os.path.join(corpus, "labels.csv"), newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r.get("path")]
    results, _ = run_pool(spectral_worker, [os.path.join(corpus, r["path"]) for r in rows], 2)
    ok = sorted(results)
    raw = np.stack([results[i][0][0] for i in ok]).astype(np.float64)
    parts = [np.asarray(results[i][0][5], np.float64) for i in ok]
    labels = [rows[i]["label"] for i in ok]
    if cache:
        np.savez(cache, raw=raw, parts=np.concatenate(parts), nparts=[len(p) for p in parts], labels=labels)
    return raw, parts, labels


def p_at_10(unit: np.ndarray, labels: list[str]) -> tuple[float, float, float]:
    r = evaluate_rankings(labels, rank_by_cosine(unit.astype(np.float64)), 10)
    return r.p_at_1, r.p_at_k, r.map


# -- methods: fit(raw, parts) -> apply(raw) ---------------------------------------------------------------
def base(raw, parts, prior=None):
    return Standardizer.fit(raw, GROUPS, parts, prior=prior).apply


def discriminant(raw, parts):
    st = Standardizer.fit(raw, GROUPS, parts)

    def white(x):
        return ((np.asarray(x, np.float64) - st.mean) / st.scale * st.weights) @ st.whitening

    z = white(raw)
    mu = z.mean(0)
    within = np.concatenate([white(p) - white(p).mean(0) for p in parts if len(p) > 1])
    noise = (within**2).sum() / within.size
    values, vectors = np.linalg.eigh(np.cov((z - mu).T))
    snr = np.maximum(values, 0) / noise
    projection = vectors * (snr / (1 + snr))
    return lambda x: _unit((white(x) - mu) @ projection)


def contrastive(raw, parts, steps=300, seed=0):
    import torch

    torch.set_num_threads(1)
    st = Standardizer.fit(raw, GROUPS, parts)

    def white(x):
        return ((np.asarray(x, np.float64) - st.mean) / st.scale * st.weights) @ st.whitening

    multi = [torch.tensor(white(p), dtype=torch.float32) for p in parts if len(p) > 1]
    dim = multi[0].shape[1]
    gen = torch.Generator().manual_seed(seed)
    w = torch.nn.Parameter(torch.eye(dim))
    opt = torch.optim.Adam([w], lr=1e-3)
    for _ in range(steps):
        pick = torch.randperm(len(multi), generator=gen)[:64].tolist()
        pairs = [multi[i][torch.randperm(len(multi[i]), generator=gen)[:2]] for i in pick]
        a = torch.nn.functional.normalize(torch.stack([p[0] for p in pairs]) @ w, dim=1)
        b = torch.nn.functional.normalize(torch.stack([p[1] for p in pairs]) @ w, dim=1)
        logits, target = a @ b.T / 0.1, torch.arange(len(a))
        loss = torch.nn.functional.cross_entropy(logits, target) + 1e-2 * ((w - torch.eye(dim)) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    m = w.detach().numpy().astype(np.float64)
    return lambda x: _unit(white(x) @ m)


def _unit(y):
    return y / np.linalg.norm(y, axis=1, keepdims=True)


# -- protocols -------------------------------------------------------------------------------------------
def rankings_of(apply, raw, parts, late: bool) -> list[list[int]]:
    """Leave-one-out rankings among these tracks; `late`: each query's first RERANK_POOL re-scored by the
    Chamfer similarity of the part vectors, with the app's own code (desktop.core.late_interaction)."""
    ranking = rank_by_cosine(np.asarray(apply(raw), np.float64))
    if late:
        ranking = rerank_rankings(ranking, [np.atleast_2d(apply(p)) for p in parts])
    return ranking


def three_ways(fit, raw, parts, labels, splits: int, late: bool = False, baseline: list | None = None) -> str:
    """The three protocols; `baseline`: the per-split and per-label figures of the base method, to print
    this method's paired difference from it (the splits are the same draws)."""
    labs, n = np.array(labels), len(raw)
    r = evaluate_rankings(labels, rankings_of(fit(raw, parts), raw, parts, late), 10)
    halves = []
    for s in range(splits):
        perm = np.random.default_rng(s).permutation(n)
        a, b = perm[: n // 2], perm[n // 2:]
        apply = fit(raw[a], [parts[i] for i in a])
        halves.append(evaluate_rankings(list(labs[b]), rankings_of(apply, raw[b], [parts[i] for i in b], late),
                                        10).p_at_k)
    lolo = []
    for lab in sorted(set(labels)):
        train = np.where(labs != lab)[0]
        ranking = rankings_of(fit(raw[train], [parts[i] for i in train]), raw, parts, late)
        lolo.append(evaluate_rankings(labels, ranking, 10).per_label[lab]["p_at_k"])
    line = (f"P@1 {r.p_at_1:.3f}  P@10 {r.p_at_k:.3f}  mAP {r.map:.3f} | split-half P@10 {np.mean(halves):.3f}"
            f" +- {np.std(halves):.3f} | LOLO P@10 {np.mean(lolo):.3f}")
    if baseline is not None:
        if baseline:
            d_half, d_lolo = np.subtract(halves, baseline[0]), np.subtract(lolo, baseline[1])
            line += (f" | vs base: split-half {d_half.mean():+.3f} +- {d_half.std():.3f} (paired),"
                     f" LOLO up for {int((d_lolo > 0).sum())}/{len(d_lolo)} labels")
        else:
            baseline[:] = [halves, lolo]
    return line


def small_libraries(raw, parts, labels, sizes=(1, 2, 5, 10, 20, 40, 80), draws=10) -> None:
    labs, n = np.array(labels), len(raw)
    key = SpectralEmbedder().key
    print("\nstatistics from n tracks of one half (prior: fitted on the other half), ranking that whole half")
    print(f"{'n':>4s}  {'own statistics':>16s}  {'with the prior':>16s}")
    for size in sizes:
        own, with_prior = [], []
        for s in range(draws):
            rng = np.random.default_rng(100 + s)
            perm = rng.permutation(n)
            a, b = perm[: n // 2], perm[n // 2:]
            prior = fit_prior(key, raw[a], [parts[i] for i in a], GROUPS)
            sub = rng.choice(b, size, replace=False)
            sub_parts = [parts[i] for i in sub]
            own.append(p_at_10(base(raw[sub], sub_parts)(raw[b]), list(labs[b]))[1])
            with_prior.append(p_at_10(base(raw[sub], sub_parts, prior)(raw[b]), list(labs[b]))[1])
        se = lambda v: np.std(v) / np.sqrt(len(v))  # noqa: E731
        print(f"{size:4d}  {np.mean(own):9.3f} +- {se(own):.3f}  {np.mean(with_prior):9.3f} +- {se(with_prior):.3f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("--cache", help="features .npz (written on the first run, read afterwards)")
    ap.add_argument("--splits", type=int, default=10)
    ap.add_argument("--methods", default="base,late,discriminant,contrastive,small")
    args = ap.parse_args(argv)
    raw, parts, labels = features(args.corpus, args.cache)
    print(f"{len(raw)} tracks, {sum(map(len, parts))} parts, {len(set(labels))} labels")
    methods = {"base": base, "discriminant": discriminant, "contrastive": contrastive, "late": base}
    baseline: list = []  # filled by the first method, compared against by the others
    for name in args.methods.split(","):
        if name in methods:
            line = three_ways(methods[name], raw, parts, labels, args.splits, late=name == "late", baseline=baseline)
            print(f"{name:13s} {line}", flush=True)
    if "small" in args.methods.split(","):
        small_libraries(raw, parts, labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
