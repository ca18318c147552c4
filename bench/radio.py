"""Radio: latency at library scale, and what a station plays on a labelled corpus.

    .venv/bin/python bench/radio.py latency [--sizes 10000 100000] [--dim 256] [--duplicates] [--keep DIR] [--repeat N]
    .venv/bin/python bench/radio.py corpus CORPUS_DIR [--seeds 40] [--json OUT]

latency: a library of N tracks (catalog rows pointing at empty files, random unit vectors in a real
Edge store; random vectors are the worst case for an exact scan and fine for latency), then for 20
seeds the time of `Station(...).take(1)` (first track: seed lookup + first refill) and of 5 refills
of 10 tracks each (p50/p90, and the refill's CPU time, which another load on a shared machine distorts
less than its wall time). --keep DIR builds each library once in DIR/<N> and reuses it: run two versions
of the code (a `git worktree` of the older one) on the same libraries, one after the other, to compare
them in the same time window. --repeat N measures N times (on libraries built once) and ends with the
median of each figure over the runs: one run's p50 moves by a quarter between identical runs here. With
--duplicates also `find_duplicates` over the 10k library (random vectors give it no candidates to confirm,
so this is the vector-store part of its cost).

corpus: indexes CORPUS_DIR (labels.csv: path,label; label = soundtrack) with the spectral embedder into
a temporary library and, for seeds spread over the labels, reports the share of a station's first 25
tracks from the seed's soundtrack with the default artist cap (2 per 10) and without it (25), and the
same after the listener skipped (within 30 s) the first two tracks of that soundtrack it played.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from desktop.core.catalog import Track  # noqa: E402
from desktop.core.config import load_settings  # noqa: E402
from desktop.core.library import ACTIVE_KEY, Library  # noqa: E402
from desktop.core.radio import RadioRules, Station  # noqa: E402


def build_random_library(home: Path, n: int, dim: int, rng) -> Library:
    files = home / "files"
    files.mkdir(parents=True)
    replace(load_settings(home), embedder="spectral").save()
    lib = Library.open(home)
    key = f"spectral-bench-{dim}"
    lib.catalog.set_meta(ACTIVE_KEY, key)
    with lib.catalog.transaction():
        for i in range(n):
            p = files / f"{i}.flac"
            p.touch()
            lib.catalog.add_track(Track(0, str(p), title=f"t{i}", artist=f"artist {i % (n // 8)}",
                                        album=f"album {i % (n // 4)}", duration=180 + i % 120, status="indexed"))
    ids = lib.catalog.track_ids()
    tracks = lib.catalog.many(ids)
    store = lib.store()
    batch = 2000
    for s in range(0, n, batch):
        v = rng.standard_normal((min(batch, n - s), dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        store.upsert([(tid, v[j], tracks[tid].payload()) for j, tid in enumerate(ids[s : s + batch])])
    return lib


def pct(xs, q):
    return float(np.percentile(xs, q)) * 1000


def latency(args) -> dict:
    rng = np.random.default_rng(7)
    out = {}
    for n in args.sizes:
        tmp = Path(tempfile.mkdtemp(prefix="sa-radio-"))
        home = Path(args.keep) / str(n) if args.keep else tmp / "home"
        try:
            t0 = time.monotonic()
            if (home / "files").is_dir():
                lib = Library.open(home, store_in_child=args.in_child)
                rng.standard_normal((n, args.dim))  # the same seeds as when it was built
            else:
                lib = build_random_library(home, n, args.dim, rng)
                if args.in_child:
                    lib.close()
                    lib = Library.open(home, store_in_child=True)
            lib.space().store().count()  # opened before the clock runs (a child's start is not a station's)
            build_s = time.monotonic() - t0
            ids = lib.catalog.track_ids()
            first, refill, refill_cpu = [], [], []
            for seed in rng.choice(ids, 20, replace=False):
                t = time.perf_counter()
                st = Station(lib, [int(seed)])
                st.take(1)
                first.append(time.perf_counter() - t)
                st.take(st.rules.refill - 1)  # the rest of the first batch
                for _ in range(5):
                    t, c = time.perf_counter(), time.process_time()
                    st.take(st.rules.refill)
                    refill.append(time.perf_counter() - t)
                    refill_cpu.append(time.process_time() - c)
            row = {"tracks": n, "dim": args.dim, "build_s": round(build_s, 1),
                   "first_track_ms_p50": round(pct(first, 50), 1), "first_track_ms_p90": round(pct(first, 90), 1),
                   "refill_ms_p50": round(pct(refill, 50), 1), "refill_ms_p90": round(pct(refill, 90), 1),
                   "refill_cpu_ms_p50": round(pct(refill_cpu, 50), 1), "load_average": round(os.getloadavg()[0], 1)}
            if args.duplicates and n <= 10000:
                from desktop.core.duplicates import find_duplicates

                t = time.monotonic()
                groups = find_duplicates(lib)
                row["duplicates_s"] = round(time.monotonic() - t, 1)
                row["duplicate_groups"] = len(groups)
            out[str(n)] = row
            print(json.dumps(row), flush=True)
            lib.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def repeated(args) -> dict:
    """`latency` args.repeat times (libraries built once, in --keep or a temporary folder), then the medians."""
    if args.repeat <= 1:
        return latency(args)
    tmp = None if args.keep else tempfile.mkdtemp(prefix="sa-radio-keep-")
    args.keep = args.keep or tmp
    try:
        runs = [latency(args) for _ in range(args.repeat)]
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    out = {}
    for n in runs[0]:
        rows = [r[n] for r in runs]
        out[n] = {"tracks": int(n), "runs": len(rows), **{k: round(statistics.median(r[k] for r in rows), 1)
                                                         for k in rows[0] if k.endswith(("_ms_p50", "_ms_p90"))}}
        print(json.dumps({"median_of_runs": out[n]}), flush=True)
    return out


def corpus(args) -> dict:
    from desktop.core.indexer import scan_and_index

    root = Path(args.corpus).resolve()
    labels = {}
    with open(root / "labels.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            labels[os.path.normpath(root / row["path"])] = row["label"]
    tmp = Path(tempfile.mkdtemp(prefix="sa-radio-corpus-"))
    try:
        home = tmp / "home"
        replace(load_settings(home), embedder="spectral").save()
        with Library.open(home) as lib:
            t = time.monotonic()
            for _ in scan_and_index(lib, sorted(labels)):
                pass
            index_s = time.monotonic() - t
            tracks = lib.catalog.many(lib.catalog.track_ids(status="indexed"))
            label_of = {tid: labels.get(os.path.normpath(t.path)) for tid, t in tracks.items()}
            by_label: dict[str, list[int]] = {}
            for tid, lab in sorted(label_of.items()):
                by_label.setdefault(lab, []).append(tid)
            seeds = []
            per = max(1, args.seeds // max(1, len(by_label)))
            for _, ids in sorted(by_label.items()):
                seeds += ids[:: max(1, len(ids) // per)][:per]

            def share(picks, lab):
                return sum(label_of.get(p.track_id) == lab for p in picks) / len(picks)

            res = {"capped": [], "uncapped": [], "after_two_skips": []}
            for seed in seeds:
                lab = label_of[seed]
                res["capped"].append(share(Station(lib, [seed]).take(25), lab))
                uncapped = RadioRules(per_artist=25, per_album=25)
                res["uncapped"].append(share(Station(lib, [seed], uncapped).take(25), lab))
                st = Station(lib, [seed])
                skipped = 0
                while skipped < 2:
                    p = st.take(1)[0]
                    if label_of.get(p.track_id) == lab:
                        st.skipped(p.track_id, 10.0)
                        skipped += 1
                    if len(st.history) > 60:
                        break
                res["after_two_skips"].append(share(st.take(25), lab))
        report = {"tracks": len(tracks), "labels": len(by_label), "seeds": len(seeds), "index_s": round(index_s, 1),
                  **{k: round(statistics.mean(v), 3) for k, v in res.items()}}
        print(json.dumps(report, indent=2))
        return report
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    lp = sub.add_parser("latency")
    lp.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    lp.add_argument("--dim", type=int, default=256)
    lp.add_argument("--duplicates", action="store_true")
    lp.add_argument("--in-child", action="store_true", help="the window's way: the track store served by a child "
                    "process (desktop/core/store/in_child.py)")
    lp.add_argument("--keep", metavar="DIR", help="build each library once in DIR/<N> and reuse it")
    lp.add_argument("--repeat", type=int, default=1, metavar="N", help="measure N times; print the medians")
    cp = sub.add_parser("corpus")
    cp.add_argument("corpus")
    cp.add_argument("--seeds", type=int, default=40)
    for p in (lp, cp):
        p.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    report = repeated(args) if args.what == "latency" else corpus(args)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
