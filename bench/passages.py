"""Passage index numbers: build speed and size, query latency and recall, and excerpt search on real music.

Three parts (each can run alone):

  --build N      a synthetic library of N 3-minute tracks (tests/audio.py families, FLAC): the passage
                 pass's speed (x realtime, all workers = cores) and its size per hour of audio (raw
                 windows in the catalog + the Qdrant Edge shard on disk);
  --sizes 100000,1000000
                 window vectors (260-d, clustered like real windows: tracks around genre clusters,
                 sections around tracks, windows around sections) in a real passage store, with the
                 search graph built as the passage pass builds it (a child process; only when enough
                 windows lack one): single-window query p50/p99 and recall@10 against exact numpy search
                 over the same vectors; --compare also queries a copy without the graph, alternating;
  --corpus DIR   the 10 s excerpt test: index DIR (first pass + passage pass, spectral), then for each
                 of --excerpts tracks re-encode it to MP3 at 128 kbps with ffmpeg, cut 10 s at a random
                 offset, search passages with that clip and report how often the source track is hit 1
                 and the median error of the hit's start.

    .venv/bin/python bench/passages.py --build 20 --sizes 100000 --corpus /var/tmp/sa-corpus/dev
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop.core.config import load_settings  # noqa: E402
from desktop.core.indexer import scan_and_index  # noqa: E402
from desktop.core.library import Library  # noqa: E402
from desktop.core.passage_catalog import PassageRows  # noqa: E402
from desktop.core.passage_graph import build_graph  # noqa: E402
from desktop.core.passage_search import find_passages, passage_query  # noqa: E402
from desktop.core.passage_store import PassageStore  # noqa: E402
from desktop.core.passages import PassageSummary, index_passages  # noqa: E402


def disk_mb(path: Path) -> float:
    return sum(f.stat().st_blocks * 512 for f in Path(path).rglob("*") if f.is_file()) / 2**20


def spectral_library(home: Path) -> Library:
    from dataclasses import replace

    replace(load_settings(home), embedder="spectral").save()
    return Library.open(home)


def synthetic_music(root: Path, n: int) -> Path:
    """n 3-minute FLAC tracks of the test families under root/music."""
    from tests import audio

    fams = list(audio.FAMILIES)
    for i in range(n):
        audio.write(root / "music" / f"t{i:03d}.flac", audio.render(fams[i % 3], 180.0, seed=i))
    return root / "music"


def bench_build(n: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="sa-pbuild-"))
    try:
        music = synthetic_music(root, n)
        with spectral_library(root / "home") as lib:
            list(scan_and_index(lib, [str(music)]))
            t0 = time.monotonic()
            summary = [e for e in index_passages(lib) if isinstance(e, PassageSummary)][-1]
            wall = time.monotonic() - t0
            rows = PassageRows(lib.catalog).counts(lib.active_key)
            key = lib.active_key
        hours = summary.audio_seconds / 3600
        shard = disk_mb(root / "home" / "vectors" / f"passages-{key}")
        print(f"build: {n} tracks, {hours:.2f} h of audio, {summary.windows} windows, {wall:.1f} s on "
              f"{os.cpu_count()} cores = {summary.audio_seconds / wall:.0f}x realtime")
        print(f"size per hour of audio: {summary.windows / hours:.0f} windows, raw windows in the catalog "
              f"{rows['bytes'] / 2**20 / hours:.2f} MB, Edge shard {shard / hours:.2f} MB")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def clustered(n: int, dim: int, rng) -> np.ndarray:
    per_track = 120
    tracks = -(-n // per_track)
    genres = rng.normal(size=(40, dim)).astype(np.float32)
    out = np.empty((n, dim), np.float32)
    for t in range(tracks):
        a = t * per_track
        b = min(n, a + per_track)
        centre = genres[rng.integers(len(genres))] + 0.8 * rng.normal(size=dim).astype(np.float32)
        sections = centre + 0.5 * rng.normal(size=(4, dim)).astype(np.float32)
        out[a:b] = sections[rng.integers(0, 4, b - a)] + 0.4 * rng.normal(size=(b - a, dim)).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def query_round(store, data, qs, per: int) -> tuple[list[float], list[float]]:
    """Each query window against `store` (k=10): the times and recall@10 against exact numpy search."""
    times, recall = [], []
    for q in qs:
        s = time.perf_counter()
        hits = store.search_many(q[None], 10)[0]
        times.append(time.perf_counter() - s)
        got = {(h.track_id, round(h.start)) for h in hits}
        exact = np.argsort(-(data @ q))[:10]
        recall.append(len(got & {(int(i) // per, (int(i) % per) * 2) for i in exact}) / 10)
    return times, recall


def bench_query(sizes: list[int], dim: int = 260, queries: int = 100, compare: bool = False, rounds: int = 5) -> None:
    """The shipped path: windows written as the passage pass writes them, then the search graph built as
    at the end of the pass (`passage_graph.build_graph`: a child process, when enough windows lack one),
    then the queries. `compare`: also keep a copy of the index before the graph and alternate rounds of
    queries between the two (on a shared machine both see the same load)."""
    rng = np.random.default_rng(7)
    for n in sizes:
        data = clustered(n, dim, rng)
        root = tempfile.mkdtemp(prefix="sa-pquery-")
        try:
            store = PassageStore(root, "bench", dim)
            t0 = time.monotonic()
            per = 120
            for t in range(-(-n // per)):
                chunk = data[t * per : (t + 1) * per]
                store.replace_track(t, np.arange(len(chunk)) * 2.0, np.arange(len(chunk)) * 2.0 + 4, chunk,
                                    had_windows=False)
            build = time.monotonic() - t0
            stores = {}
            if compare:
                store.flush()
                shutil.copytree(store.path, os.path.join(root, "scan", os.path.basename(store.path)))
                stores["scan only (no graph)"] = PassageStore(os.path.join(root, "scan"), "bench", dim)
            t0 = time.monotonic()
            graph = [ev for ev in build_graph(store) if isinstance(ev, str)][-1] or "no search graph (below threshold)"
            graph_s = time.monotonic() - t0
            stores["shipped"] = store
            qi = rng.choice(n, queries, replace=False)
            qs = data[qi] + 0.05 * rng.normal(size=(queries, dim)).astype(np.float32)
            qs /= np.linalg.norm(qs, axis=1, keepdims=True)
            results = {name: ([], []) for name in stores}
            loads = [os.getloadavg()[0]]
            for _ in range(rounds if compare else 1):
                for name, st in stores.items():
                    times, recall = query_round(st, data, qs, per)
                    results[name][0].extend(times)
                    results[name][1].extend(recall)
                    loads.append(os.getloadavg()[0])
            shard = disk_mb(Path(store.path))
            for st in stores.values():
                st.close()
            print(f"{n} windows ({dim}-d): written at {n / build:.0f} windows/s; {graph} in {graph_s:.1f} s; "
                  f"shard {shard:.0f} MB; load average {min(loads):.1f}-{max(loads):.1f}")
            for name, (times, recall) in results.items():
                p50, p99 = np.median(times) * 1e3, np.percentile(times, 99) * 1e3
                print(f"  query {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, recall@10 {np.mean(recall):.3f} "
                      f"({len(times)} queries)")
        finally:
            shutil.rmtree(root, ignore_errors=True)


def bench_corpus(folder: Path, excerpts: int, limit: int, seconds: float = 10.0) -> None:
    rng = np.random.default_rng(3)
    root = Path(tempfile.mkdtemp(prefix="sa-pcorpus-"))
    try:
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".ogg", ".mp3", ".flac", ".wav"))
        if limit and len(files) > limit:  # every k-th file, linked (never copied) into a folder of its own
            files = files[:: -(-len(files) // limit)]
        for i, f in enumerate(files):
            (root / "music").mkdir(parents=True, exist_ok=True)
            os.symlink(f, root / "music" / f"{i:04d}{f.suffix}")
        folder = root / "music"
        with spectral_library(root / "home") as lib:
            list(scan_and_index(lib, [str(folder)]))
            list(index_passages(lib))
            tracks = [t for t in lib.catalog.tracks(status="indexed") if t.duration > seconds + 5]
            chosen = [tracks[i] for i in rng.choice(len(tracks), min(excerpts, len(tracks)), replace=False)]
            rank1, errors, times = 0, [], []
            for t in chosen:
                at = float(rng.uniform(0, t.duration - seconds - 1))
                clip = root / f"clip{t.id}.mp3"
                subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", t.path, "-ss", f"{at:.3f}", "-t", f"{seconds}",
                                "-c:a", "libmp3lame", "-b:a", "128k", str(clip)], check=True)
                s = time.perf_counter()
                hits = find_passages(lib, passage_query(lib, str(clip)), k=10)
                times.append(time.perf_counter() - s)
                if hits and hits[0].track_id == t.id:
                    rank1 += 1
                    errors.append(abs(hits[0].start - at))
        med = np.median(errors) if errors else float("nan")
        worst = max(errors) if errors else float("nan")
        print(f"excerpts: {len(chosen)} x {seconds:.0f} s cut from 128 kbps MP3 re-encodes of {len(tracks)} indexed "
              f"tracks: source track at rank 1 {rank1 / len(chosen):.1%}, median start error {med:.2f} s "
              f"(max {worst:.2f}); query p50 {np.median(times) * 1e3:.0f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def ticked_pass(lib, in_process: bool):
    """Every track's passage pass again, in a background thread while a Ticker runs: (summary, seconds, gaps ms)."""
    import threading

    from store_in_child import Ticker

    lib.catalog._run("UPDATE passage_windows SET parts=NULL")  # plans every track again
    events: list = []
    worker = threading.Thread(target=lambda: events.extend(index_passages(lib, in_process=in_process)))
    ticker = Ticker()
    ticker.start()
    t0 = time.monotonic()
    worker.start()
    worker.join()
    wall = time.monotonic() - t0
    ticker.stop.set()
    ticker.join()
    return [e for e in events if isinstance(e, PassageSummary)][-1], wall, np.array(ticker.gaps)


def bench_gil(n: int, rounds: int) -> None:
    """The passage pass as the window runs it (a background thread of the app's process) in process against in
    worker processes, alternating, while a 1 ms Python ticker stands for the GUI thread (GIL switch interval 1 ms,
    as the window sets it). Each round redoes every track (their whole-track parts dropped first)."""
    from desktop.core.thread_priority import hand_gil_over_quickly

    hand_gil_over_quickly()
    root = Path(tempfile.mkdtemp(prefix="sa-pgil-"))
    try:
        music = synthetic_music(root, n)
        with spectral_library(root / "home") as lib:
            list(scan_and_index(lib, [str(music)]))
            list(index_passages(lib))
            for r in range(rounds):
                for in_process in (True, False):
                    summary, wall, gaps = ticked_pass(lib, in_process)
                    way = "in process" if in_process else "in workers"
                    print(f"round {r + 1} {way}: {summary.tracks} tracks in {wall:.1f} s; ticker p50 "
                          f"{np.percentile(gaps, 50):.1f} ms, p99 {np.percentile(gaps, 99):.1f} ms, longest "
                          f"{gaps.max():.1f} ms, gaps over 16 ms {int((gaps > 16).sum())}, load "
                          f"{os.getloadavg()[0]:.1f}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", type=int, default=0, metavar="N", help="tracks of 3 minutes for the build test")
    ap.add_argument("--sizes", default="", help="window counts for the query test, e.g. 100000,1000000")
    ap.add_argument("--compare", action="store_true",
                    help="with --sizes: also query a copy of the index without the search graph, alternating")
    ap.add_argument("--rounds", type=int, default=5, help="with --compare: rounds of queries on each")
    ap.add_argument("--corpus", type=Path, help="a folder of real music for the excerpt test")
    ap.add_argument("--excerpts", type=int, default=100)
    ap.add_argument("--limit", type=int, default=0, help="index at most this many files of the corpus")
    ap.add_argument("--gil", type=int, default=0, metavar="N",
                    help="N 3-minute tracks: a 1 ms ticker during the passage pass in process and in workers")
    args = ap.parse_args()
    if args.build:
        bench_build(args.build)
    if args.sizes:
        bench_query([int(s) for s in args.sizes.split(",")], compare=args.compare, rounds=args.rounds)
    if args.corpus:
        bench_corpus(args.corpus, args.excerpts, args.limit)
    if args.gil:
        bench_gil(args.gil, args.rounds)


if __name__ == "__main__":
    main()
