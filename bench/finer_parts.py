"""Finer parts than the 15 s excerpts, for the within-track whitening and for late interaction (issue 21).

    .venv/bin/python bench/finer_parts.py CORPUS_DIR [--cache FINE.npz] [--jobs 2]

Today each track gives one part per excerpt (6 x 15 s) to the within-track covariance and to the
late-interaction MaxSim. This measures finer parts cut from the *same decoded audio and the same frames*
(no extra decode or FFT): each part split into 3 x 5 s (`f3`), 2 x 7.5 s (`f2`), 5 x 3 s (`f5`), or
overlapping windows, 5 s every 2.5 s (`o5`) and 7.5 s every 3.75 s (`o3h`). The window lengths are the
natural splits of a 15 s excerpt, fixed before any scoring; nothing is fitted to labels.

The repetition dimensions need ~14 s of frames (lags up to 7 s), so a sub-part cannot compute them: each
sub-part inherits its excerpt's repetition values. Its within-track covariance is then, block-wise, the
15 s parts' for the repetition dimensions and the sub-parts' for the others. Short parts wander more
inside a track than 15 s ones (note-scale texture that averages out over 15 s), which tilts the
whitening toward the repetition dimensions; `tm` (trace match) rescales the other dimensions' block so
its trace equals the 15 s parts' block: a scale computed from the data, not chosen. `toward`: the 15 s
parts' covariance shrunk toward the (trace-matched) sub-parts' one instead, with the Schafer-Strimmer weight.

Protocol as bench/library_learning.py (labels only score): full (fit on all, rank all), split-half
(fit on a random half, rank the other half, 10 splits, mean +- spread, and the paired difference from
`stat=15` with the same kind of ranking on the same splits: `late=none` rows against the plain
whitened track cosine, the others against the shipped `stat=15 late=15`) and LOLO (fit on 7 labels, score the 8th).
Rows: `stat` = parts for the covariance, `late` = part set of the late-interaction re-scoring (none: plain
track cosine). The first run extracts the features (spectral embedder, same reads as the app) and writes
--cache; later runs read it.
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
from quality import run_pool  # noqa: E402

from desktop.core import standardize  # noqa: E402
from desktop.core.embedders import spectral as S  # noqa: E402
from desktop.core.evaluate import evaluate_rankings, rank_by_cosine  # noqa: E402
from desktop.core.late_interaction import rerank_rankings  # noqa: E402
from desktop.core.standardize import Standardizer  # noqa: E402

GROUPS = S.SpectralEmbedder.groups
REP0 = S.TIMBRE_DIM + S.MOD_DIM  # first repetition dimension
SCHEMES = {"f3": (1 / 3, 1 / 3), "o5": (1 / 3, 1 / 6), "f2": (1 / 2, 1 / 2), "o3h": (1 / 2, 1 / 4),
           "f5": (1 / 5, 1 / 5)}  # (window, hop) as shares of a part
ROWS = ("stat=15 late=none", "stat=15 late=15",
        "stat=f3 late=none", "stat=o5 late=none", "stat=f2 late=none", "stat=o3h late=none", "stat=f5 late=none",
        "stat=f3+15 late=none", "stat=f3 tm late=none", "stat=o5 tm late=none", "stat=f2 tm late=none",
        "stat=15 late=f3", "stat=15 late=o5", "stat=15 late=f2", "stat=15 late=o3h", "stat=15 late=f3+15",
        "stat=f3 late=15", "stat=f2 late=15",
        "stat=f3 tm late=15", "stat=o5 tm late=15", "stat=f2 tm late=15", "stat=o3h tm late=15",
        "stat=f3 tm toward late=none", "stat=f3 tm toward late=15", "stat=f2 tm toward late=none",
        "stat=f2 tm toward late=15")


def _accumulate(logmel: np.ndarray, desc: np.ndarray):
    """A part's feature sums from frames already computed (the embedder's FeatureSums.add, minus the FFT)."""
    acc = S.FeatureSums()
    acc.mfcc += (logmel @ S._DCT).sum(0)
    acc.n += len(logmel)
    acc.spectral.add(desc)
    acc._modulation(logmel)
    acc._repetition(logmel.reshape(len(logmel), S.REP_BANDS, -1).mean(2))
    return acc


def _frames(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.clip(np.nan_to_num(np.asarray(x, np.float32)), -1e3, 1e3)
    if len(x) < S.N_FFT:
        x = np.pad(x, (0, S.N_FFT - len(x)))
    w = np.lib.stride_tricks.sliding_window_view(x, S.N_FFT)[:: S.HOP]
    chunks = [S._frame_features(w[i : i + S.FRAME_CHUNK]) for i in range(0, len(w), S.FRAME_CHUNK)]
    return np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])


def excerpt_parts(path: str) -> tuple[np.ndarray, np.ndarray, list[list[np.ndarray]]]:
    """(shipped track vector, shipped part vectors, the excerpts grouped into parts as embed_segment_parts
    groups them): the reads the app makes, for the bench scripts that compute more from the same parts."""
    from desktop.core.decode import open_audio
    from desktop.core.embedders import create

    emb = create("spectral")
    with open_audio(path) as src:
        plan = emb.plan(src)
        segs = [src.read(start, sec) for start, sec in plan] if plan else []
        if not plan or sum(map(len, segs)) < 0.5 * sum(sec for _, sec in plan) * S.SR:
            segs = list(src.blocks(emb.excerpt_seconds))
    vec, parts = emb.embed_segment_parts(segs)
    groups: list[list[np.ndarray]] = []  # segments grouped into parts as embed_segment_parts does
    for seg in segs:
        if len(seg) and (not groups or (len(seg) >= 0.5 * emb.excerpt_seconds * S.SR and len(groups) < S.MAX_PARTS)):
            groups.append([])
        if len(seg):
            groups[-1].append(seg)
    return vec, parts, groups


def worker(path: str):
    """(track vector, 15 s part vectors, {scheme: (sub-part vectors, index of each one's part)})."""
    vec, parts, groups = excerpt_parts(path)
    frames = []
    for g in groups:
        fr = [_frames(s) for s in g]
        frames.append((np.concatenate([f[0] for f in fr]), np.concatenate([f[1] for f in fr])))
    out = {}
    for name, (win, hop) in SCHEMES.items():
        vectors, parent = [], []
        for k, (logmel, desc) in enumerate(frames):
            n = len(logmel)
            length, step = max(1, round(win * n)), max(1, round(hop * n))
            for start in range(0, n, step):
                if start + length > n + 1:
                    break
                part = _accumulate(logmel[start : start + length], desc[start : start + length])
                vectors.append(S.finished_vector(part))
                parent.append(k)
        out[name] = (np.stack(vectors), np.array(parent))
    return vec, parts, out


def corpus_results(worker, corpus: str, jobs: int) -> tuple[list, dict]:
    """`worker(path)` over the files of CORPUS/labels.csv: the results of those that worked, in the corpus's
    order, and the cache's common arrays (the shipped track vectors, part vectors, parts per track, labels),
    whatever else the worker returns after its first two values. Prints how many failed."""
    with open(os.path.join(corpus, "labels.csv"), newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r.get("path")]
    results, failures = run_pool(worker, [os.path.join(corpus, r["path"]) for r in rows], jobs)
    ok = sorted(results)
    res = [results[i][0] for i in ok]  # run_pool wraps each result as (value, cpu seconds)
    print(f"{len(ok)} tracks extracted, {len(failures)} failed {list(failures.values())[:3]}")
    return res, {"raw": np.stack([r[0] for r in res]), "parts": np.concatenate([r[1] for r in res]),
                 "nparts": [len(r[1]) for r in res], "labels": [rows[i]["label"] for i in ok]}


def extract(corpus: str, cache: str, jobs: int) -> None:
    res, data = corpus_results(worker, corpus, jobs)
    for name in SCHEMES:
        data[f"{name}_v"] = np.concatenate([r[2][name][0] for r in res])
        data[f"{name}_p"] = np.concatenate([r[2][name][1] for r in res])
        data[f"{name}_n"] = [len(r[2][name][0]) for r in res]
    np.savez(cache, **data)


class Lab:
    def __init__(self, cache: str):
        d = np.load(cache)
        self.raw, self.labels = d["raw"].astype(np.float64), list(d["labels"])
        self.p15 = [p.astype(np.float64) for p in np.split(d["parts"], np.cumsum(d["nparts"])[:-1])]
        self.d = d

    def parts(self, name: str) -> list[np.ndarray]:
        """Per-track part sets: `15`, a scheme (its repetition dims inherited from its 15 s part), or X+15."""
        if name == "15":
            return self.p15
        if name.endswith("+15"):
            return [np.vstack([a, b]) for a, b in zip(self.parts(name[:-3]), self.p15, strict=True)]
        d, cuts = self.d, np.cumsum(self.d[f"{name}_n"])[:-1]
        out = []
        for t, (v, p) in enumerate(zip(np.split(d[f"{name}_v"], cuts), np.split(d[f"{name}_p"], cuts), strict=True)):
            v = v.astype(np.float64)
            v[:, REP0:] = self.p15[t][p, REP0:]
            out.append(v)
        return out

    def fit(self, idx, stat: list[np.ndarray] | None, trace_match: bool, toward: bool = False) -> Standardizer:
        st = Standardizer.fit(self.raw[idx], GROUPS, [self.p15[i] for i in idx])
        if stat is not None:
            cov = standardize.within_track_covariance([stat[i] for i in idx], st.scale, st.weights)
            if trace_match:
                ref = standardize.within_track_covariance([self.p15[i] for i in idx], st.scale, st.weights)
                s = np.ones(len(cov))
                s[:REP0] = np.sqrt(np.trace(ref[:REP0, :REP0]) / np.trace(cov[:REP0, :REP0]))
                cov = cov * np.outer(s, s)
            if toward:  # the 15 s covariance shrunk toward the sub-parts' (Schafer-Strimmer weight)
                cov = standardize.within_track_covariance([self.p15[i] for i in idx], st.scale, st.weights,
                                                          target=cov)
            st.whitening = standardize._inverse_sqrt(cov)
        return st

    def rank(self, st: Standardizer, idx, late: list[np.ndarray] | None) -> list[list[int]]:
        ranking = rank_by_cosine(np.asarray(st.apply(self.raw[idx]), np.float64))
        if late is not None:
            ranking = rerank_rankings(ranking, [np.atleast_2d(st.apply(late[i])) for i in idx])
        return ranking

    def three_ways(self, spec: str) -> tuple[str, np.ndarray]:
        kv = dict(x.split("=") if "=" in x else (x, "") for x in spec.split())
        stat = None if kv["stat"] == "15" else self.parts(kv["stat"])
        late = None if kv["late"] == "none" else self.parts(kv["late"])
        labs = np.array(self.labels)

        def score(train, ranked):
            st = self.fit(train, stat, "tm" in kv, "toward" in kv)
            return evaluate_rankings(list(labs[ranked]), self.rank(st, ranked, late), 10)

        return three_ways_of(score, self.labels)


def three_ways_of(score, labels: list[str], seeds=range(10)) -> tuple[str, np.ndarray]:
    """The three protocols from `score(train, ranked)` (the evaluation of the `ranked` tracks by what was fitted
    on the `train` tracks): full, split-half (one random half fits, the other is ranked; one split per seed)
    and leave-one-label-out. The line to print, and the split-half and per-label P@10 figures (for paired
    comparisons between methods: the same draws and labels)."""
    labs, n = np.array(labels), len(labels)
    full = score(np.arange(n), np.arange(n))
    halves = []
    for s in seeds:
        perm = np.random.default_rng(s).permutation(n)
        halves.append(score(perm[: n // 2], perm[n // 2:]).p_at_k)
    lolo = [score(np.where(labs != lab)[0], np.arange(n)).per_label[lab]["p_at_k"] for lab in sorted(set(labels))]
    line = (f"P@1 {full.p_at_1:.3f}  P@10 {full.p_at_k:.3f}  mAP {full.map:.3f} | split-half P@10 "
            f"{np.mean(halves):.3f} +- {np.std(halves):.3f} | LOLO P@10 {np.mean(lolo):.3f}")
    return line, np.array(halves + lolo)


def paired_text(figures: np.ndarray, base: np.ndarray, name: str) -> str:
    """`figures` against `base` (both from three_ways_of, same splits and labels): the paired split-half difference
    and how many held-out labels went up and down."""
    d_half, d_lolo = figures[:10] - base[:10], figures[10:] - base[10:]
    return (f" | vs {name}: split-half {d_half.mean():+.3f} +- {d_half.std():.3f} (paired),"
            f" LOLO up/down {int((d_lolo > 0).sum())}/{int((d_lolo < 0).sum())}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("--cache", default="finer_parts.npz", help="features .npz (written on the first run)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rows", help="';'-separated row specs (default: the table in bench/README.md)")
    args = ap.parse_args(argv)
    if not os.path.exists(args.cache):
        extract(args.corpus, args.cache, args.jobs)
    lab = Lab(args.cache)
    reference: dict[str, np.ndarray] = {}  # late part set -> figures of `stat=15` with it
    for spec in (args.rows.split(";") if args.rows else ROWS):
        line, figures = lab.three_ways(spec)
        late = spec.split("late=")[1]
        ref = "stat=15 late=none" if late == "none" else "stat=15 late=15"
        if spec == ref:
            reference[late] = figures
        elif ref.split("late=")[1] in reference:
            line += paired_text(figures, reference[ref.split("late=")[1]], ref)
        print(f"{spec:24s} {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
