"""Regenerate the spectral embedder's shipped prior (desktop/data/priors/<key>.npz) from a music folder.

    .venv/bin/python bench/make_prior.py CORPUS_DIR [--jobs 2] [--out desktop/data/priors]

CORPUS_DIR holds labels.csv (path,label) as built by shared/corpus/get_dev_corpus.sh; only the paths are
read, never the labels: a prior is statistics of music (means, variances, within-track covariance).
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
from desktop.core.priors import fit_prior, save_prior  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    with open(os.path.join(args.corpus, "labels.csv"), newline="", encoding="utf-8") as f:
        paths = [os.path.join(args.corpus, r["path"]) for r in csv.DictReader(f) if r.get("path")]
    results, failures = run_pool(spectral_worker, paths, args.jobs)
    done = [results[i][0] for i in sorted(results)]
    raw = np.stack([r[0] for r in done])
    parts = [np.asarray(r[5]) for r in done]
    prior = fit_prior(SpectralEmbedder().key, raw, parts, SpectralEmbedder.groups)
    path = save_prior(prior, args.out)
    print(f"{path}: {prior.tracks} tracks, {prior.parts} parts, {len(failures)} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
