"""A codebook of frame types learned from the library: bag-of-frames and VLAD blocks (issue 21).

    .venv/bin/python bench/codebook.py CORPUS_DIR [--cache FRAMES.npz] [--jobs 2] [--rows SPECS]

The shipped vector summarises each frame descriptor by its moments (mean, |delta|, spreads): a track that
alternates two sounds and one that holds their average can read alike. A codebook sees the *distribution*
of frame types: k-means over the library's own frames (no labels: statistics of the user's music, the
"learn from the library" idea), then per part (the app's 15 s excerpts) either

  bow   the share of frames nearest each codeword, square-rooted (Hellinger: so the cosine of two parts
        compares distributions, not the loudest bins), K dims;
  vlad  the sum of each frame's residual to its nearest codeword, per codeword, power-normalised (signed
        square root) and L2-normalised per codeword (intra-normalisation), K x d dims.

Frames: 20 MFCCs + 22 descriptors (the embedder's contrast, flatness, scalars and level; silent frames are
left out), z-scored with the training tracks' frame statistics. Codebook sizes are the usual ones of the
bag-of-frames literature (K = 64 for bow; K = 16 for vlad, whose width grows as K x 42), fixed before any
scoring; k-means: 20 Lloyd iterations from k-means++ seeds on 40,000 frames drawn from the training tracks
(seed 0), both cost bounds.

The block joins the shipped vector through bench/feature_blocks.py's rules (`own`: a group of its own with
one joint whitening, `bd-eq`: whitened on its own and scaled to the shipped vector's between-track energy),
then the app's late-interaction re-rank. The codebook and every statistic are fitted on the training tracks
only, so split-half and LOLO measure tracks and styles the codebook never saw. Labels only score.
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
from feature_blocks import print_rows, scored  # noqa: E402
from finer_parts import _frames, corpus_results, excerpt_parts, three_ways_of  # noqa: E402

from desktop.core.embedders import spectral as S  # noqa: E402
from desktop.core.standardize import group_weights  # noqa: E402

ROWS = ("base", "bow64 own", "bow64 bd-eq", "vlad16 own", "vlad16 bd-eq")
FIT_FRAMES = 40_000
ITERATIONS = 20


def worker(path: str):
    """(shipped track vector, shipped part vectors, frames (float16, silent ones left out), part of each frame)."""
    vec, parts, groups = excerpt_parts(path)
    feats, owner = [], []
    for k, g in enumerate(groups):
        fr = [_frames(s) for s in g]
        logmel, desc = np.concatenate([f[0] for f in fr]), np.concatenate([f[1] for f in fr])
        keep = desc[:, -1] < 0.5  # not silent
        f = np.hstack([logmel @ S._DCT, desc[:, :-1]])[keep]
        feats.append(f.astype(np.float16))
        owner.append(np.full(len(f), k, np.int16))
    if not feats:
        feats, owner = [np.zeros((0, S.N_MFCC + 22), np.float16)], [np.zeros(0, np.int16)]
    return vec, parts, np.concatenate(feats), np.concatenate(owner)


def extract(corpus: str, cache: str, jobs: int) -> None:
    res, data = corpus_results(worker, corpus, jobs)
    np.savez(cache, **data, frames=np.concatenate([r[2] for r in res]), owner=np.concatenate([r[3] for r in res]),
             nframes=[len(r[2]) for r in res])


def kmeans(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Lloyd's k-means from k-means++ seeds (an empty cluster takes the point farthest from its centre)."""
    centres = [x[rng.integers(len(x))]]
    d2 = ((x - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        centres.append(x[rng.choice(len(x), p=d2 / d2.sum())])
        d2 = np.minimum(d2, ((x - centres[-1]) ** 2).sum(1))
    c = np.array(centres)
    for _ in range(ITERATIONS):
        near, dist = nearest(x, c)
        for j in range(k):
            members = x[near == j]
            c[j] = members.mean(0) if len(members) else x[np.argmax(dist)]
    return c


def nearest(x: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = (x**2).sum(1)[:, None] - 2 * x @ c.T + (c**2).sum(1)[None]
    near = np.argmin(d, 1)
    return near, d[np.arange(len(x)), near]


def encode(x: np.ndarray, c: np.ndarray, kind: str) -> np.ndarray:
    k = len(c)
    if not len(x):
        return np.zeros(k if kind == "bow" else c.size)
    near, _ = nearest(x, c)
    if kind == "bow":
        return np.sqrt(np.bincount(near, minlength=k) / len(x))
    v = np.zeros_like(c)
    np.add.at(v, near, x - c[near])
    v = np.sign(v) * np.sqrt(np.abs(v))
    v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return v.ravel()


class Lab:
    def __init__(self, cache: str):
        d = np.load(cache)
        self.d, self.labels = d, list(d["labels"])
        self.raw, self.cuts = d["raw"].astype(np.float64), np.cumsum(d["nparts"])[:-1]
        self.parts = np.split(d["parts"].astype(np.float64), self.cuts)
        self.frames = np.split(d["frames"].astype(np.float32), np.cumsum(d["nframes"])[:-1])
        self.owner = np.split(d["owner"], np.cumsum(d["nframes"])[:-1])

    def block(self, train, kind: str, k: int):
        """(track block vectors, per-track part block vectors) with a codebook fitted on `train`."""
        rng = np.random.default_rng(0)
        pool = np.concatenate([self.frames[i] for i in train])
        mean, std = pool.mean(0), pool.std(0) + 1e-6
        sample = pool[rng.choice(len(pool), min(FIT_FRAMES, len(pool)), replace=False)]
        c = kmeans((sample - mean) / std, k, rng)
        tracks, parts = [], []
        for t in range(len(self.raw)):
            x = (self.frames[t] - mean) / std
            tracks.append(encode(x, c, kind))
            parts.append(np.stack([encode(x[self.owner[t] == p], c, kind) for p in range(len(self.parts[t]))]))
        return np.stack(tracks), parts

    def three_ways(self, spec: str, seeds=range(10)) -> tuple[str, np.ndarray]:
        labs = np.array(self.labels)
        groups = [list(g) for g in S.SpectralEmbedder.groups]
        base = (self.raw, self.parts, group_weights(self.raw.shape[1], groups))

        def score(train, ranked):
            if spec == "base":
                pieces, how = [base], "base"
            else:
                name, how = spec.split()
                kind, k = name.rstrip("0123456789"), int(name.lstrip("bowvlad"))
                braw, bparts = self.block(train, kind, k)
                if how == "own":
                    raw = np.hstack([self.raw, braw])
                    parts = [np.hstack([a, b]) for a, b in zip(self.parts, bparts, strict=True)]
                    g = groups + [["codebook", self.raw.shape[1], raw.shape[1]]]
                    pieces = [(raw, parts, group_weights(raw.shape[1], g))]
                else:
                    pieces = [base, (braw, bparts, group_weights(braw.shape[1], ()))]
            return scored(pieces, how, train, ranked, labs)

        return three_ways_of(score, self.labels, seeds)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("--cache", default="codebook.npz", help="frames .npz (written on the first run)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rows", help="';'-separated row specs (default: the table in bench/README.md)")
    args = ap.parse_args(argv)
    if not os.path.exists(args.cache):
        extract(args.corpus, args.cache, args.jobs)
    print_rows(Lab(args.cache), args.rows.split(";") if args.rows else ROWS, width=16)
    return 0


if __name__ == "__main__":
    sys.exit(main())
