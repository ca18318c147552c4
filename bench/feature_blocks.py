"""New feature blocks for the spectral embedder, each measured through the app's own pipeline (issue 21).

    .venv/bin/python bench/feature_blocks.py CORPUS_DIR [--cache BLOCKS.npz] [--jobs 2] [--rows SPECS]

The shipped vector (timbre 112 + motion 148 dims) describes the spectral envelope, its texture, the
spectro-temporal modulation of 1 s patches and the repetition of the log-mel frames. Candidate blocks that
describe music in ways it may miss, each computed per 15 s part (the same reads and parts as the app) and
for the whole track (from the parts' summed statistics, as the embedder does):

  rhythm   onset strength (positive log-mel flux) autocorrelation at log-spaced lags 0.1-4 s, plus its
           octave-folded form (lags mapped to log2(lag) mod 1: the rhythm's ratios, not its absolute tempo),
           pulse clarity, onset-strength level and spread (log)
  tonal    key-invariant tonal content of a 4096-point chroma (100 Hz-4 kHz, 128 ms hop): |DFT| of the mean
           chroma profile and mean per-frame |DFT| (k = 1..6: the circles of semitones, whole tones, minor and
           major thirds, fifths, tritones, as the tonal centroid), the interval histogram (per-frame circular
           autocorrelation) and chord transitions (circular cross-correlation of frames 0.5 s apart), chroma flux
  fluct    fluctuation patterns: modulation spectrum of the dB envelope of 8 mel bands over 4 s windows,
           0.25-10 Hz in 8 log-spaced bins (finer at slow rates than the 1 s patches of `motion`)
  mfccvar  MFCC spread inside the part and mean |delta MFCC| (log): how much the envelope moves per coefficient
and a second round, timbre at other resolutions (bench/timbre_blocks.py): melenv, contrast8, texture4, mfcccov.

Every block enters the app's pipeline (z-score per dimension over the library, group weights, within-track
whitening fitted on the parts, L2, late-interaction re-rank of the 100 nearest). How it is weighed against
the shipped vector is decided without labels, four ways (see `Lab`): `own` (a group of its own, the rule the
embedder already uses), `in:GROUP` (its dimensions join that group), `bd` (whitened on its own, concatenated)
and `bd-eq` (as bd, scaled to the shipped vector's between-track energy per dimension). The rhythm block is
also measured in its natural slices (`onsetac`, `rhythmfold`, `onsetlevel`).

Protocol as bench/library_learning.py and bench/finer_parts.py (labels only score): full, split-half (10 splits,
paired difference from the shipped vector on the same splits) and LOLO (per-label up/down count).
The first run extracts (decoding is the cost: minutes) and writes --cache; later runs read it.
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
import timbre_blocks  # noqa: E402
from finer_parts import _frames, corpus_results, excerpt_parts, three_ways_of  # noqa: E402

from desktop.core import standardize  # noqa: E402
from desktop.core.embedders import spectral as S  # noqa: E402
from desktop.core.evaluate import evaluate_rankings, rank_by_cosine  # noqa: E402
from desktop.core.late_interaction import rerank_rankings  # noqa: E402
from desktop.core.standardize import Standardizer, group_weights  # noqa: E402

BLOCKS = ("rhythm", "tonal", "fluct", "mfccvar") + timbre_blocks.BLOCKS
ROWS = ("base",
        "rhythm own", "rhythm in:motion", "rhythm bd", "rhythm bd-eq",
        "onsetac bd-eq", "rhythmfold bd-eq", "onsetlevel bd-eq", "onsetlevel in:timbre",
        "tonal own", "tonal in:timbre", "tonal bd", "tonal bd-eq",
        "fluct own", "fluct in:motion", "fluct bd", "fluct bd-eq",
        "mfccvar own", "mfccvar in:timbre", "mfccvar bd", "mfccvar bd-eq",
        "tonal+mfccvar in:timbre", "tonal+mfccvar bd-eq", "rhythm+tonal+fluct+mfccvar own",
        "rhythm+tonal+fluct+mfccvar bd-eq",
        "melenv own", "melenv in:timbre", "melenv bd-eq", "contrast8 own", "contrast8 in:timbre", "contrast8 bd-eq",
        "texture4 own", "texture4 in:timbre", "texture4 bd-eq", "mfcccov own", "mfcccov in:timbre", "mfcccov bd-eq")

# -- rhythm ----------------------------------------------------------------------------------------------
ONSET_LAGS = tuple(int(v) for v in np.unique(np.round(np.geomspace(3, 125, 17))))  # 0.1-4 s
FOLD_BINS = 12
_FOLD_LAGS = np.arange(8, 126)  # 0.25-4 s: four octaves of beat period
_FOLD_INDEX = (np.floor((np.log2(_FOLD_LAGS) % 1) * FOLD_BINS)).astype(int)


def rhythm_sums(logmel: np.ndarray) -> dict:
    flux = np.maximum(np.diff(logmel, axis=0), 0).mean(1) if len(logmel) > 1 else np.zeros(1)
    out = {"r_sum": np.array([flux.sum(), (flux**2).sum(), len(flux)]), "r_ac": np.zeros(126), "r_n": 0}
    if len(flux) >= 2 * 126:
        c = flux - flux.mean()
        f = np.fft.rfft(c, 2 * len(c))
        ac = np.fft.irfft(f.real**2 + f.imag**2)[:126] / (len(c) - np.arange(126))
        if ac[0] > 1e-9:
            out["r_ac"], out["r_n"] = ac / ac[0], 1
    return out


def rhythm_vector(s: dict) -> np.ndarray:
    total, sq, n = s["r_sum"]
    mean = total / max(n, 1)
    std = np.sqrt(max(sq / max(n, 1) - mean**2, 0))
    level = np.log([mean + 1e-3, std + 1e-3])
    if not s["r_n"]:
        return np.concatenate([np.zeros(len(ONSET_LAGS) - 1 + FOLD_BINS + 1), level])
    ac = s["r_ac"] / s["r_n"]
    bins = [ac[a:b].max() for a, b in zip(ONSET_LAGS[:-1], ONSET_LAGS[1:])]
    fold = np.full(FOLD_BINS, -1.0)
    np.maximum.at(fold, _FOLD_INDEX, ac[_FOLD_LAGS])
    clarity = ac[8:48].max()  # beat periods 0.25-1.5 s
    return np.concatenate([bins, fold, [clarity], level])


# -- tonal -----------------------------------------------------------------------------------------------
CH_FFT, CH_HOP = 4096, 2048
_CH_F = np.fft.rfftfreq(CH_FFT, 1 / S.SR)
_CH_USE = np.where((_CH_F >= 100) & (_CH_F <= 4000))[0]
_pc = (12 * np.log2(_CH_F[_CH_USE] / 440.0)) % 12
_dist = np.abs(((_pc[:, None] - np.arange(12)[None] + 6) % 12) - 6)
_CH_MAP = np.maximum(0, 1 - _dist).astype(np.float64)  # triangular kernel, one semitone wide
_CH_WIN = np.hanning(CH_FFT + 1)[:-1]
CH_LAG = 4  # frames (0.5 s) between chords compared


def chroma(x: np.ndarray) -> np.ndarray:
    if len(x) < CH_FFT:
        return np.zeros((0, 12))
    w = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), CH_FFT)[::CH_HOP] * _CH_WIN
    spec = np.fft.rfft(w, axis=1)
    mag = np.sqrt(spec.real**2 + spec.imag**2)
    # tonal peaks only: the magnitude above its local mean (+-15 bins, about a semitone at 1 kHz), so
    # broadband noise and drums do not flatten the profile
    kernel = np.ones(31) / 31
    local = np.apply_along_axis(np.convolve, 1, mag, kernel, mode="same")
    c = np.maximum(mag - local, 0)[:, _CH_USE] @ _CH_MAP
    norm = np.linalg.norm(c, axis=1)
    keep = norm > 1e-3 * max(float(norm.max()), 1e-12)
    return c[keep] / norm[keep, None]


def _circ_dft(c: np.ndarray) -> np.ndarray:
    return np.abs(np.fft.rfft(c, axis=-1))[..., 1:7]


def tonal_sums(x: np.ndarray) -> dict:
    c = chroma(x)
    out = {"t_mean": c.sum(0) if len(c) else np.zeros(12), "t_n": len(c)}
    out["t_fdft"] = _circ_dft(c).sum(0) if len(c) else np.zeros(6)
    f = np.fft.rfft(c, axis=1)
    out["t_int"] = np.fft.irfft(f.real**2 + f.imag**2, 12, axis=1)[:, 1:7].sum(0) if len(c) else np.zeros(6)
    if len(c) > CH_LAG:
        cross = np.fft.irfft(np.conj(f[:-CH_LAG]) * f[CH_LAG:], 12, axis=1)
        norm = np.linalg.norm(c[:-CH_LAG], axis=1) * np.linalg.norm(c[CH_LAG:], axis=1)
        out["t_tr"] = (cross / np.maximum(norm, 1e-9)[:, None]).sum(0)
        n1 = np.linalg.norm(c, axis=1)
        cos = (c[1:] * c[:-1]).sum(1) / np.maximum(n1[1:] * n1[:-1], 1e-9)
        out["t_flux"] = np.array([(1 - cos).sum(), len(cos)])
        out["t_trn"] = len(cross)
    else:
        out["t_tr"], out["t_flux"], out["t_trn"] = np.zeros(12), np.zeros(2), 0
    return out


def tonal_vector(s: dict) -> np.ndarray:
    n = max(s["t_n"], 1)
    mean = s["t_mean"] / n
    return np.concatenate([np.log(_circ_dft(mean) + 1e-3), np.log(s["t_fdft"] / n + 1e-3), s["t_int"] / n,
                           s["t_tr"] / max(s["t_trn"], 1), [np.log(s["t_flux"][0] / max(s["t_flux"][1], 1) + 1e-3)]])


# -- fluctuation patterns --------------------------------------------------------------------------------
FP_WIN, FP_HOP, FP_BANDS = 128, 64, 8  # 4.1 s windows every 2 s; 8 bands of 8 mel bands
_FP_F = np.fft.rfftfreq(FP_WIN, 1 / S.FPS)
FP_EDGES = (1, 2, 3, 5, 8, 12, 18, 27, 42)  # FFT bins (0.244 Hz each): 0.24-10 Hz, log-spaced
_FP_I = np.arange(len(_FP_F))
_FP_POOL = np.stack([(_FP_I >= a) & (_FP_I < b) for a, b in zip(FP_EDGES[:-1], FP_EDGES[1:])], 1).astype(float)
_FP_POOL /= np.maximum(_FP_POOL.sum(0), 1)
_FP_HANN = np.hanning(FP_WIN)[:, None, None]


def fluct_sums(logmel: np.ndarray) -> dict:
    env = logmel.reshape(len(logmel), FP_BANDS, -1).mean(2)
    if len(env) < FP_WIN:
        return {"f_sum": np.zeros((len(_FP_F), FP_BANDS)), "f_n": 0}
    w = np.lib.stride_tricks.sliding_window_view(env, FP_WIN, axis=0)[::FP_HOP].transpose(2, 0, 1)
    w = (w - w.mean(0)) * _FP_HANN
    return {"f_sum": np.abs(np.fft.rfft(w, axis=0)).sum(1), "f_n": w.shape[1]}


def fluct_vector(s: dict) -> np.ndarray:
    return np.log((_FP_POOL.T @ (s["f_sum"] / max(s["f_n"], 1))).ravel() + 1e-3)


# -- MFCC spread -----------------------------------------------------------------------------------------
def mfccvar_sums(logmel: np.ndarray) -> dict:
    m = logmel @ S._DCT
    d = np.abs(np.diff(m, axis=0)).sum(0) if len(m) > 1 else np.zeros(S.N_MFCC)
    return {"m_s": m.sum(0), "m_q": (m**2).sum(0), "m_d": d, "m_n": len(m)}


def mfccvar_vector(s: dict) -> np.ndarray:
    n = max(s["m_n"], 1)
    std = np.sqrt(np.maximum(s["m_q"] / n - (s["m_s"] / n) ** 2, 0))
    return np.log(np.concatenate([std, s["m_d"] / max(n - 1, 1)]) + 1e-3)


VECTORS = {"rhythm": rhythm_vector, "tonal": tonal_vector, "fluct": fluct_vector, "mfccvar": mfccvar_vector}


def part_sums(segments: list[np.ndarray]) -> dict:
    frames = [_frames(s) for s in segments]
    logmel, desc = np.concatenate([f[0] for f in frames]), np.concatenate([f[1] for f in frames])
    x = np.concatenate([np.clip(np.nan_to_num(np.asarray(s, np.float32)), -1e3, 1e3) for s in segments])
    return {**rhythm_sums(logmel), **tonal_sums(x), **fluct_sums(logmel), **mfccvar_sums(logmel),
            **timbre_blocks.sums(logmel, desc)}


def merged(sums: list[dict]) -> dict:
    return {k: sum(s[k] for s in sums) for k in sums[0]}


def worker(path: str):
    """(shipped track vector, shipped part vectors, {block: (track block vector, part block vectors)})."""
    vec, parts, groups = excerpt_parts(path)
    sums = [part_sums(g) for g in groups] or [part_sums([np.zeros(S.N_FFT, np.float32)])]
    whole = merged(sums)
    blocks = {b: (VECTORS[b](whole), np.stack([VECTORS[b](s) for s in sums])) for b in BLOCKS if b in VECTORS}
    second = [timbre_blocks.vectors(s) for s in [whole] + sums]  # round 2 (bench/timbre_blocks.py)
    blocks.update({b: (second[0][b], np.stack([v[b] for v in second[1:]])) for b in timbre_blocks.BLOCKS})
    return vec, parts, blocks


def extract(corpus: str, cache: str, jobs: int) -> None:
    res, data = corpus_results(worker, corpus, jobs)
    for b in BLOCKS:
        data[f"{b}_raw"] = np.stack([r[2][b][0] for r in res])
        data[f"{b}_parts"] = np.concatenate([r[2][b][1] for r in res])
    np.savez(cache, **data)


# sub-blocks: natural slices of a block (measured on their own, a decomposition fixed before any scoring)
_R = len(ONSET_LAGS) - 1
SLICES = {"onsetac": ("rhythm", 0, _R), "rhythmfold": ("rhythm", _R, _R + FOLD_BINS + 1),
          "onsetlevel": ("rhythm", _R + FOLD_BINS + 1, _R + FOLD_BINS + 3)}


def _whitener(raw, parts, weights):
    """The app's statistics (z-score, weights, within-track whitening) as a linear map x -> (x - m) A."""
    st = Standardizer.fit(raw, (), parts)
    st.weights = np.asarray(weights, np.float32)
    st.whitening = standardize.within_track_whitening(parts, st.scale, st.weights)
    factor = (st.weights / st.scale).astype(np.float64)
    white = np.eye(len(factor)) if st.whitening is None else st.whitening.astype(np.float64)
    return st.mean.astype(np.float64), factor[:, None] * white


class Lab:
    """Rows: `base`; `BLOCK[+BLOCK...] HOW` with HOW one of
    own      the blocks appended to the vector, each a group of its own, one joint whitening (as the app);
    in:G     appended, the dimensions weighing like group G's (the group grows by the block's width);
    bd       block-diagonal: the shipped vector whitened as today, each block whitened on its own, concatenated;
    bd-eq    as bd, each block scaled so its mean between-track energy per dimension equals the shipped vector's
             (a label-free rule: a block whose tracks differ a lot from each other, but not in a way that
             tells styles apart, cannot take over the cosine)."""

    def __init__(self, cache: str):
        self.d = np.load(cache)
        self.labels = list(self.d["labels"])
        self.cuts = np.cumsum(self.d["nparts"])[:-1]

    def block(self, name: str, key: str) -> np.ndarray:
        if name in SLICES:
            src, a, b = SLICES[name]
            return self.d[f"{src}_{key}"][:, a:b].astype(np.float64)
        return self.d[f"{name}_{key}"].astype(np.float64)

    def pieces(self, spec: str) -> tuple[list[tuple[np.ndarray, list[np.ndarray], np.ndarray]], str]:
        """[(raw, per-track parts, weights)] to be whitened separately and concatenated, and the HOW."""
        d = self.d
        raw, parts = d["raw"].astype(np.float64), d["parts"].astype(np.float64)
        groups = [list(g) for g in S.SpectralEmbedder.groups]
        if spec == "base":
            return [(raw, np.split(parts, self.cuts), group_weights(raw.shape[1], groups))], "base"
        names, how = spec.split()
        blocks = [(self.block(b, "raw"), self.block(b, "parts")) for b in names.split("+")]
        if how.startswith("bd"):
            out = [(raw, np.split(parts, self.cuts), group_weights(raw.shape[1], groups))]
            for r, p in blocks:
                out.append((np.nan_to_num(r), np.split(np.nan_to_num(p), self.cuts), group_weights(r.shape[1], ())))
            return out, how
        dim = raw.shape[1]
        raw = np.nan_to_num(np.hstack([raw] + [r for r, _ in blocks]))
        parts = np.nan_to_num(np.hstack([parts] + [p for _, p in blocks]))
        if how == "own":  # each block a group of its own
            for r, _ in blocks:
                groups.append(["block", groups[-1][2], groups[-1][2] + r.shape[1]])
        weights = group_weights(raw.shape[1], groups)
        if how.startswith("in:"):  # the block joins a group: all its dims weigh 1/sqrt(size)
            g = next(g for g in groups if g[0] == how[3:])
            size = (g[2] - g[1]) + (raw.shape[1] - dim)
            weights[g[1]:g[2]] = weights[dim:] = 1 / np.sqrt(size)
        return [(raw, np.split(parts, self.cuts), weights)], how

    @staticmethod
    def model(pieces, how, train):
        """Fitted on the `train` tracks only: (track vectors of idx, part vectors of track i)."""
        maps = [_whitener(r[train], [p[i] for i in train], w) for r, p, w in pieces]
        gains = [1.0] * len(maps)
        if how == "bd-eq":
            energy = []
            for (r, _, _), (m, a) in zip(pieces, maps):
                z = (r[train] - m) @ a
                energy.append(float(((z - z.mean(0)) ** 2).sum(1).mean()) / z.shape[1])
            gains = [np.sqrt(energy[0] / max(e, 1e-12)) for e in energy]

        def project(rows):
            v = np.hstack([(x - m) @ a * g for x, (m, a), g in zip(rows, maps, gains)])
            return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

        return (lambda idx: project([r[idx] for r, _, _ in pieces]),
                lambda i: project([p[i] for _, p, _ in pieces]))

    def three_ways(self, spec: str, seeds=range(10)) -> tuple[str, np.ndarray]:
        pieces, how = self.pieces(spec)
        labs = np.array(self.labels)
        return three_ways_of(lambda train, ranked: scored(pieces, how, train, ranked, labs), self.labels, seeds)


def scored(pieces, how, train, ranked, labs):
    """The app's ranking of the `ranked` tracks (statistics fitted on the `train` tracks, then late
    interaction), evaluated against their labels."""
    tracks, part = Lab.model(pieces, how, train)
    ranking = rerank_rankings(rank_by_cosine(tracks(ranked)), [part(i) for i in ranked])
    return evaluate_rankings(list(labs[ranked]), ranking, 10)


def print_rows(lab, specs, seeds=range(10), width: int = 32) -> None:
    """Each row's three-way line; after the `base` row, also its paired difference from base (the same
    split-half draws and labels)."""
    base = None
    for spec in specs:
        line, figures = lab.three_ways(spec, seeds)
        if spec == "base":
            base = figures
        elif base is not None:
            k = len(seeds)
            d_half, d_lolo = figures[:k] - base[:k], figures[k:] - base[k:]
            line += (f" | vs base: split-half {d_half.mean():+.3f} +- {d_half.std():.3f} (paired),"
                     f" up/down {int((d_half > 0).sum())}/{int((d_half < 0).sum())} splits,"
                     f" LOLO up/down {int((d_lolo > 0).sum())}/{int((d_lolo < 0).sum())}")
        print(f"{spec:{width}s} {line}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("--cache", default="feature_blocks.npz", help="features .npz (written on the first run)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rows", help="';'-separated row specs (default: the table in bench/README.md)")
    ap.add_argument("--split-seeds", default="0-9", help="split-half draws, A-B (default 0-9: the table's)")
    args = ap.parse_args(argv)
    if not os.path.exists(args.cache):
        extract(args.corpus, args.cache, args.jobs)
    lab = Lab(args.cache)
    first, last = (int(v) for v in args.split_seeds.split("-"))
    print_rows(lab, args.rows.split(";") if args.rows else ROWS, range(first, last + 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
