"""Parts that cover more of a track, for late interaction and the within-track whitening (issue 21).

    .venv/bin/python bench/part_coverage.py CORPUS_DIR [--cache COVER.npz] [--jobs 2]

Today a long track gives 6 parts (its 6 x 15 s excerpts: 90 s read). Finer cuts of the same excerpts did
not help (bench/finer_parts.py); this measures parts from *more of the track*, each track decoded whole once
and cut the way each plan would read it:
  x6     the shipped excerpts (the same samples as the app: excerpts equal the whole decode)
  x12    12 evenly spaced 15 s excerpts (twice the decode of x6)
  whole  every 15 s block of the track (what a whole decode gives: ~3x the decode of x6 on this corpus)
  b8     16 s parts merged from the passage pass's 2 s block sums (no decode beyond the passage pass, which
         reads whole tracks anyway); a 2 s block is too short for the repetition dimensions, so each part takes
         its track's mean over the x6 parts there
  b16    the same with 32 s parts (half as many to compare per candidate)
The track vector is always x6's (longer reads make it worse: the amount of audio read then varies with the
track's length, and several statistics drift with it). Rows: `stat` = parts for the within-track covariance,
`late` = part set of the Chamfer re-scoring. Protocol as bench/library_learning.py: labels only score.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from finer_parts import corpus_results, paired_text, three_ways_of  # noqa: E402

from desktop.core.embedders import spectral as S  # noqa: E402
from desktop.core.evaluate import evaluate_rankings, rank_by_cosine  # noqa: E402
from desktop.core.late_interaction import rerank_rankings, with_track_repetition  # noqa: E402
from desktop.core.passage_windows import block_sums, whole_track_parts  # noqa: E402
from desktop.core.standardize import Standardizer  # noqa: E402

SR, SEC = 16000, 15
PLANS = ("x12", "whole", "b8", "b16")
ROWS = ("stat=x6 late=x6", "stat=x6 late=x12", "stat=x12 late=x12", "stat=x6 late=whole", "stat=whole late=whole",
        "stat=x6 late=b8", "stat=x6 late=b8+x6", "stat=x6 late=b16+x6")


def _excerpts(x: np.ndarray, n: int) -> list[np.ndarray]:
    """The plan's n excerpts cut from the whole decode (as SpectralEmbedder.plan places them), or every 15 s block
    of a track too short for the plan."""
    d = len(x) / SR
    if d <= n * SEC * 1.5:
        return [x[i : i + SEC * SR] for i in range(0, len(x), SEC * SR)]
    return [x[int((d - SEC) * (i + 0.5) / n * SR) :][: SEC * SR] for i in range(n)]


def worker(path: str):
    from desktop.core.decode import open_audio

    S.MAX_PARTS = 1000  # every block of a long track is its own part here
    with open_audio(path) as src:
        x = np.concatenate(list(src.blocks(SEC)))
    emb = S.SpectralEmbedder()
    vec, parts = emb.embed_segment_parts(_excerpts(x, 6))
    more = {"x12": emb.embed_segment_parts(_excerpts(x, 12))[1],
            "whole": emb.embed_segment_parts([x[i : i + SEC * SR] for i in range(0, len(x), SEC * SR)])[1]}
    sums, _ = block_sums([x])  # the passage pass's own code
    for span in (8, 16):
        more[f"b{span}"] = with_track_repetition(np.stack(whole_track_parts(sums, span)), parts)
    return vec, parts, more


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("--cache", default="part_coverage.npz", help="features .npz (written on the first run)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rows", help="';'-separated row specs (default: ROWS)")
    args = ap.parse_args(argv)
    if not os.path.exists(args.cache):
        res, data = corpus_results(worker, args.corpus, args.jobs)
        for name in PLANS:
            data[f"{name}_p"] = np.concatenate([r[2][name] for r in res])
            data[f"{name}_n"] = [len(r[2][name]) for r in res]
        np.savez(args.cache, **data)
    d = np.load(args.cache)
    raw, labels = d["raw"].astype(np.float64), list(d["labels"])
    sets = {"x6": np.split(d["parts"].astype(np.float64), np.cumsum(d["nparts"])[:-1])}
    for name in PLANS:
        sets[name] = np.split(d[f"{name}_p"].astype(np.float64), np.cumsum(d[f"{name}_n"])[:-1])
    for name in ("b8", "b16"):
        sets[f"{name}+x6"] = [np.vstack(pair) for pair in zip(sets[name], sets["x6"], strict=True)]
    labs, reference = np.array(labels), None
    print(f"{len(raw)} tracks; parts per track: " + ", ".join(f"{k} {np.mean([len(p) for p in v]):.1f}"
                                                             for k, v in sets.items()))
    for spec in args.rows.split(";") if args.rows else ROWS:
        kv = dict(x.split("=") for x in spec.split())
        stat, late = sets[kv["stat"]], sets[kv["late"]]

        def score(train, ranked, stat=stat, late=late):
            st = Standardizer.fit(raw[train], S.SpectralEmbedder.groups, [stat[i] for i in train])
            ranking = rerank_rankings(rank_by_cosine(np.asarray(st.apply(raw[ranked]), np.float64)),
                                      [np.atleast_2d(st.apply(late[i])) for i in ranked])
            return evaluate_rankings(list(labs[ranked]), ranking, 10)

        line, figures = three_ways_of(score, labels)
        if reference is None:
            reference = figures
        else:  # paired against the first row: the same splits and labels
            line += paired_text(figures, reference, "first row")
        print(f"{spec:24s} {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
