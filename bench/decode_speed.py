"""CPU seconds per file of the spectral embedder's fast pass, decode and features apart, on a corpus sample.

    .venv/bin/python bench/decode_speed.py CORPUS_DIR [--every 4] [--src TREE] [--save OUT.npz]

Reads the files of CORPUS_DIR/labels.csv (every Nth), as the embedder reads them (its excerpts, or a short
track whole), in this one process with one BLAS thread, and prints CPU s/file for decoding and for the
features. CPU time rather than wall time, so a shared machine's load matters less (it still does: measure
two trees in alternation). --src runs another checkout's `desktop` package (e.g. `git archive OLD desktop`
unpacked in a folder) for a before/after; --save keeps the vectors to compare the two (`--compare A B`
prints the largest difference in standard deviations of each dimension).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def measure(corpus: str, every: int, save: str | None) -> None:
    import numpy as np

    from desktop.core.decode import open_audio
    from desktop.core.embedders import create

    with open(os.path.join(corpus, "labels.csv"), newline="", encoding="utf-8") as f:
        paths = [os.path.join(corpus, r["path"]) for r in csv.DictReader(f) if r.get("path")][::every]
    emb = create("spectral")
    vectors, parts, decode, features = [], [], 0.0, 0.0
    for path in paths:
        t0 = time.process_time()
        with open_audio(path) as src:
            plan = emb.plan(src)
            segments = [src.read(at, sec) for at, sec in plan] if plan else list(src.blocks(emb.excerpt_seconds))
        t1 = time.process_time()
        vec, part = emb.embed_segment_parts(segments)
        features += time.process_time() - t1
        decode += t1 - t0
        vectors.append(vec)
        parts.append(part)
    n = len(paths)
    print(f"{emb.key}: {n} files, decode {decode / n:.3f} CPU s/file, features {features / n:.3f}, "
          f"total {(decode + features) / n:.3f} ({n / (decode + features):.2f} files/s/core); "
          f"load average {os.getloadavg()[0]:.1f}")
    if save:
        np.savez(save, raw=np.stack(vectors), parts=np.concatenate(parts))


def compare(a: str, b: str) -> None:
    import numpy as np

    x, y = np.load(a), np.load(b)
    for name in ("raw", "parts"):
        if x[name].shape != y[name].shape:
            print(f"{name}: shapes differ {x[name].shape} vs {y[name].shape}")
            continue
        z = np.abs(x[name] - y[name]) / (x[name].std(0) + 1e-9)
        print(f"{name}: largest difference {z.max():.4f} sd, mean {z.mean():.2e} sd, "
              f"{int((z.max(1) > 0.01).sum())} of {len(z)} vectors differ by more than 0.01 sd")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", nargs="?")
    ap.add_argument("--every", type=int, default=4)
    ap.add_argument("--src", default=str(Path(__file__).resolve().parents[1]))
    ap.add_argument("--save")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"))
    args = ap.parse_args(argv)
    if args.compare:
        compare(*args.compare)
        return 0
    sys.path.insert(0, os.path.abspath(args.src))
    measure(args.corpus, args.every, args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
