"""Similar-track quality of the spectral embedder against two baselines, on a labelled corpus.

    .venv/bin/python bench/quality.py CORPUS_DIR [--jobs 2] [--methods spectral,mfcc,bliss]
                                      [--limit N] [--json OUT]

CORPUS_DIR holds labels.csv (path,label; paths relative to it). Each method analyses every file in a
pool of --jobs worker processes (decode included, wall clock measured), then every track queries all
the others (leave-one-out, itself excluded) by cosine similarity after the *library standardisation*
the app uses (`desktop.core.standardize.Standardizer`: z-score per dimension over the corpus, equal
weight per feature group, for spectral the within-track whitening learned from its excerpts, L2).
Reported: P@1, P@10, mAP, files/s, x realtime, failures, per-label P@10.

Methods:
  spectral  our embedder (`desktop.core.embedders.spectral`), reading its excerpts through open_audio.
  mfcc      the plain baseline: 20 MFCCs of the whole track (16 kHz mono, librosa's defaults: 2048-point
            frames, hop 512, 128 Slaney mel bands, power in dB clipped 80 dB below the track's peak),
            mean + std over the track -> 40 dims, standardised, cosine.
  bliss     bliss-audio (Python binding of bliss-rs, `pip install bliss-audio`): its 23-dim analysis,
            standardised, cosine. It decodes the file itself (ffmpeg) and crashes on a few files, so
            each file is analysed in its own forked process (--jobs at a time) and a crash only
            counts as that file's failure.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per worker: BLAS threads would oversubscribe
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402


# -- metrics: the app's own (desktop/core/evaluate.py), so the bench scores exactly like `soundalike eval`
def leave_one_out(unit: np.ndarray, labels: list[str], k: int = 10) -> dict:
    """Every track queries all others by cosine; mean P@1, P@k, mAP and per-label P@k."""
    from desktop.core.evaluate import evaluate_rankings, rank_by_cosine

    r = evaluate_rankings(labels, rank_by_cosine(unit.astype(np.float64)), k)
    return {"p1": r.p_at_1, "pk": r.p_at_k, "map": r.map,
            "per_label": {lab: m["p_at_k"] for lab, m in r.per_label.items()}}


def standardize(raw: np.ndarray, groups=(), parts=()) -> np.ndarray:
    from desktop.core.standardize import Standardizer

    return Standardizer.fit(raw, groups, parts).apply(raw)


# -- workers -----------------------------------------------------------------------------------------
_EMB = None


def spectral_worker(path: str):
    """(raw vector, track seconds, CPU s decoding, CPU s in the features, seconds analysed, part vectors).

    Same reads and same vector as `embed(open_audio(path))`, with decode and features timed apart."""
    global _EMB
    from desktop.core.decode import open_audio
    from desktop.core.embedders import create

    if _EMB is None:
        _EMB = create("spectral")
    t0 = time.process_time()
    with open_audio(path) as src:
        plan, duration = _EMB.plan(src), src.duration
        segments = [src.read(start, sec) for start, sec in plan] if plan else []
        if not plan or sum(map(len, segments)) < 0.5 * sum(sec for _, sec in plan) * 16000:
            segments = list(src.blocks(_EMB.excerpt_seconds))  # a short track: all of it
    t1 = time.process_time()
    vec, parts = _EMB.embed_segment_parts(segments)
    t2 = time.process_time()
    return vec, duration, t1 - t0, t2 - t1, sum(len(s) for s in segments) / 16000, parts


def _mel_slaney(n_mels: int, n_fft: int, sr: int) -> np.ndarray:
    def mel(f):
        return np.where(f >= 1000, 15 + np.log(np.maximum(f, 1e-9) / 1000) / (np.log(6.4) / 27), f * 3 / 200)

    def hz(m):
        return np.where(m >= 15, 1000 * np.exp((np.log(6.4) / 27) * (m - 15)), m * 200 / 3)

    pts = hz(np.linspace(mel(0.0), mel(sr / 2), n_mels + 2))
    f = np.fft.rfftfreq(n_fft, 1 / sr)
    lo, c, hi = pts[:-2, None], pts[1:-1, None], pts[2:, None]
    return (np.maximum(0, np.minimum((f - lo) / (c - lo), (hi - f) / (hi - c))) * (2 / (hi - lo))).T


def mfcc_worker(path: str, n_fft: int = 2048, hop: int = 512, n_mels: int = 128, n_mfcc: int = 20):
    """Mean and std of 20 MFCCs over the whole track (librosa's defaults, reimplemented in numpy)."""
    from desktop.core.decode import open_audio

    fb, win = _mel_slaney(n_mels, n_fft, 16000), np.hanning(n_fft + 1)[:-1]
    k, n = np.arange(n_mfcc)[:, None], np.arange(n_mels)[None]
    dct = np.cos(np.pi * k * (2 * n + 1) / (2 * n_mels)) * np.sqrt(2 / n_mels)
    dct[0] /= np.sqrt(2)
    mels, tail = [], np.zeros(0, np.float32)
    with open_audio(path) as src:
        duration = src.duration
        for block in src.blocks(30.0):
            x = np.concatenate([tail, block])
            if len(x) >= n_fft:
                frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * win
                mels.append((np.abs(np.fft.rfft(frames, axis=1)) ** 2 @ fb).astype(np.float32))
                tail = x[len(frames) * hop:]
            else:
                tail = x
    mel = np.concatenate(mels) if mels else np.zeros((1, n_mels), np.float32)
    db = 10 * np.log10(np.maximum(mel, 1e-10))
    db = np.maximum(db, db.max() - 80.0)  # librosa power_to_db(top_db=80)
    mfcc = db @ dct.T
    return np.concatenate([mfcc.mean(0), mfcc.std(0)]).astype(np.float32), duration


def bliss_worker(path: str):
    import bliss_audio

    song = bliss_audio.Song(path)
    return np.asarray(song.analysis, np.float32), float(song.duration)


# -- running a method --------------------------------------------------------------------------------
def _timed(worker, path):
    """(worker's result, CPU seconds of this process meanwhile: all its threads, decode included)."""
    t = time.process_time()
    out = worker(path)
    return out, time.process_time() - t


def _child(worker, path, conn) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # bliss-rs prints panics and backtraces; the reason comes back through the pipe
    try:
        conn.send(("ok", _timed(worker, path)))
    except BaseException as e:  # bliss panics are BaseExceptions; a segfault just ends the process
        conn.send(("error", f"{type(e).__name__}: {e}"[:200]))
    conn.close()


def run_isolated(worker, paths: list[str], jobs: int) -> tuple[dict, dict]:
    """One forked process per file, `jobs` at a time: a crash fails only the file that caused it."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    ctx = mp.get_context("fork")
    results, failures, todo, running = {}, {}, list(range(len(paths))), {}
    while todo or running:
        while todo and len(running) < jobs:
            i = todo.pop(0)
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(worker, paths[i], send), daemon=True)
            proc.start()
            send.close()
            running[recv] = (proc, i)
        for recv in wait(list(running)):
            proc, i = running.pop(recv)
            try:
                status, value = recv.recv()
            except EOFError:
                status, value = "error", "worker crashed"
            proc.join()
            if status == "ok":
                results[i] = value
            else:
                failures[i] = value if proc.exitcode == 0 else f"{value} (exit code {proc.exitcode})"
    return results, failures


def run_pool(worker, paths: list[str], jobs: int) -> tuple[dict, dict]:
    """Long-lived worker processes (like the app's indexer); falls back to isolation if one crashes."""
    results, failures = {}, {}
    try:
        with ProcessPoolExecutor(jobs) as pool:
            futures = {pool.submit(_timed, worker, p): i for i, p in enumerate(paths)}
            for fut, i in futures.items():
                try:
                    results[i] = fut.result()
                except BrokenProcessPool:
                    raise
                except Exception as e:
                    failures[i] = f"{type(e).__name__}: {e}"[:200]
    except BrokenProcessPool:
        rest = [i for i in range(len(paths)) if i not in results and i not in failures]
        more, bad = run_isolated(worker, [paths[i] for i in rest], jobs)
        results.update({rest[k]: v for k, v in more.items()})
        failures.update({rest[k]: v for k, v in bad.items()})
    return results, failures


def run_method(name: str, paths: list[str], jobs: int) -> dict:
    worker = {"spectral": spectral_worker, "mfcc": mfcc_worker, "bliss": bliss_worker}[name]
    started = time.monotonic()
    results, failures = (run_isolated if name == "bliss" else run_pool)(worker, paths, jobs)
    return {"results": results, "failures": failures, "wall": time.monotonic() - started}


def evaluate_method(name: str, run: dict, paths: list[str], labels: list[str]) -> dict:
    ok = sorted(run["results"])
    cpu = sum(run["results"][i][1] for i in ok)
    res = {i: run["results"][i][0] for i in ok}
    raw = np.stack([res[i][0] for i in ok])
    groups, parts = (), ()
    if name == "spectral":
        from desktop.core.embedders.spectral import SpectralEmbedder

        groups, parts = SpectralEmbedder.groups, [res[i][5] for i in ok]
    unit = standardize(raw, groups, parts)
    report = leave_one_out(unit, [labels[i] for i in ok])
    audio = sum(res[i][1] for i in ok)
    report.update(name=name, files=len(paths), failed=len(run["failures"]), wall_s=run["wall"],
                  files_per_s=len(paths) / run["wall"], x_realtime=audio / run["wall"], dim=raw.shape[1],
                  cpu_s=cpu, cpu_files_per_s=len(ok) / max(cpu, 1e-9), cpu_x_realtime=audio / max(cpu, 1e-9),
                  failures={paths[i]: why for i, why in run["failures"].items()})
    if name == "spectral":
        r = [res[i] for i in ok]
        decode, feats, analysed = (sum(x[k] for x in r) for k in (2, 3, 4))
        report.update(decode_cpu_s=decode, feature_cpu_s=feats, analysed_s=analysed,
                      feature_x_realtime=analysed / max(feats, 1e-9), raw=raw.tolist(),
                      paths=[paths[i] for i in ok])
    return report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", help="folder with labels.csv")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--methods", default="spectral,mfcc,bliss")
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (a smoke test)")
    ap.add_argument("--json", help="write the full report here")
    args = ap.parse_args(argv)

    with open(os.path.join(args.corpus, "labels.csv"), newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r.get("path")]
    if args.limit:
        rows = rows[: args.limit]
    paths = [os.path.join(args.corpus, r["path"]) for r in rows]
    labels = [r["label"] for r in rows]
    pairs = sum(labels.count(x) * (labels.count(x) - 1) for x in set(labels)) / (len(labels) * max(1, len(labels) - 1))
    print(f"{len(paths)} files, {len(set(labels))} labels, {args.jobs} worker processes; chance P@10 ~{pairs:.3f}")

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall-clock speed is only "
          "meaningful on an idle machine; CPU speed (per core, decode included) does not depend on the load")
    reports = []
    for name in args.methods.split(","):
        if name == "bliss":
            import importlib.util

            if importlib.util.find_spec("bliss_audio") is None:  # not imported here: only in the children
                print("bliss: skipped (pip install bliss-audio)")
                continue
        run = run_method(name, paths, args.jobs)
        if not run["results"]:  # e.g. a bliss wheel built for other CPUs dies on SIGILL in every child
            why = next(iter(run["failures"].values()), "no files")
            print(f"{name}: every file failed ({why}); not scored")
            continue
        rep = evaluate_method(name, run, paths, labels)
        reports.append(rep)
        extra = ""
        if name == "spectral":
            per_track = rep["analysed_s"] / len(run["results"])
            extra = (f"features {rep['feature_x_realtime']:.0f}x realtime/core on {per_track:.0f} s per track; "
                     f"decode {rep['decode_cpu_s']:.0f} s CPU, features {rep['feature_cpu_s']:.0f} s CPU")
        print(f"{name:9s} dim {rep['dim']:3d}  P@1 {rep['p1']:.3f}  P@10 {rep['pk']:.3f}  mAP {rep['map']:.3f}  "
              f"wall {rep['files_per_s']:.2f} files/s ({rep['x_realtime']:.0f}x realtime)  "
              f"CPU {rep['cpu_files_per_s']:.2f} files/s/core ({rep['cpu_x_realtime']:.0f}x)  "
              f"failed {rep['failed']}", flush=True)
        if extra:
            print("          " + extra)
        for path, why in rep["failures"].items():
            print(f"    failed: {os.path.relpath(path, args.corpus)}: {why}")

    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if reports:
        labs = sorted(set(labels))
        print("\nP@10 per label" + "".join(f"  {lab[:11]:>11s}" for lab in labs))
        for rep in reports:
            print(f"{rep['name']:14s}" + "".join(f"  {rep['per_label'].get(lab, np.nan):11.3f}" for lab in labs))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"corpus": args.corpus, "jobs": args.jobs, "reports": reports}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
