"""From "Download" to similar tracks with the new model: download throughput from a local hub, and the
time until a 200-track library answers from the new model's space (and until its re-index is complete).

    .venv/bin/python bench/model_download.py [--tracks 200] [--seconds 90] [--threads 2] [--work /var/tmp/sa19]
                                             [--json OUT]

It drives the core path the window's Download button drives (desktop/ui/model_download.py), without Qt:

1. a library of --tracks synthesised tracks (tests/audio.py families) indexed with the built-in analysis,
   as a first-run library is (not timed);
2. "Download" at t=0: `models.pull` of a base-size random wav2vec2 (~380 MB, the compute and size of
   facebook/wav2vec2-base) served by tests/hub.py over HTTP on 127.0.0.1, with HF_ENDPOINT pointed at it,
   into a fresh hub cache (checksums and the load check included);
3. the switch: the settings name the model, the library is reopened, the embedder loads;
4. the background re-index (`indexer.index`), with a similar query between tracks as the window's library
   thread serves them: the old space answers until the new one is complete, then the next query answers
   from the new space.

Track length does not change the model's cost (6 windows of 10 s are read from any track of 60 s or
more), so --seconds 60 keeps the synthesised library small. The load average is printed with every figure:
the machine is shared, and wall time follows it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
MODEL_ID = "bench/wav2vec2-base-random"


def load() -> float:
    return round(os.getloadavg()[0], 1)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def synth_library(folder: Path, n: int, seconds: float) -> Path:
    """n tracks of the test families (flac, 22.05 kHz stereo), kept for the next run."""
    from tests.audio import FAMILIES, render, write

    names = list(FAMILIES)
    for i in range(n):
        family = names[i % len(names)]
        path = folder / family / f"{family}_{i:03d}.flac"
        if not path.exists():
            write(path, render(family, seconds, seed=7000 + i))
    return folder


def spectral_library(home: Path, music: Path) -> None:
    """The library as a first run leaves it: every track indexed with the built-in analysis (made once,
    kept beside as a template, copied for each run)."""
    from desktop.core.config import load_settings
    from desktop.core.indexer import scan_and_index
    from desktop.core.library import Library

    template = home.with_name(home.name + "-spectral")
    if not template.exists():
        tmp = template.with_name(template.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        replace(load_settings(tmp), embedder="spectral").save()
        with Library.open(tmp) as lib:
            summary = list(scan_and_index(lib, [str(music)]))[-1]
        print(f"built-in analysis: {summary.indexed} tracks indexed in {summary.seconds:.0f} s", flush=True)
        os.replace(tmp, template)
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(template, home)


def download_to_answers(home: Path, threads: int, partial: str | None = None) -> dict:
    """t=0 at "Download"; the pull, the switch, the re-index with a similar query between tracks."""
    import torch

    from desktop.core import models
    from desktop.core.config import load_settings
    from desktop.core.embedders.batching import plan_windows
    from desktop.core.embedders.wav2vec2 import DEFAULT_WINDOW_SECONDS as WINDOW_SECONDS
    from desktop.core.embedders.wav2vec2 import DEFAULT_WINDOWS as WINDOWS
    from desktop.core.events import TrackDone
    from desktop.core.indexer import index
    from desktop.core.library import Library
    from desktop.core.similarity import similar

    torch.set_num_threads(threads)
    out: dict = {"load_before": load()}
    t0 = time.monotonic()
    done = None
    for ev in models.pull(MODEL_ID):
        if isinstance(ev, models.PullDone):
            done = ev
    out.update(download_bytes=done.downloaded, download_s=round(done.seconds, 2),
               download_mb_s=round(done.downloaded / done.seconds / 1e6, 1),
               pulled_s=round(time.monotonic() - t0, 1), load_after_download=load())
    replace(load_settings(home), embedder="wav2vec2", model=MODEL_ID).save()
    lib = Library.open(home)
    old_key = lib.active_key
    query = lib.catalog.track_ids()[0]
    lib.embedder  # noqa: B018  (the window loads it in the library thread before indexing)
    out["switched_s"] = round(time.monotonic() - t0, 1)
    first_any = first_new = None
    tracks, audio = 0, 0.0
    try:
        for ev in index(lib):
            if first_any is None:  # the window's first query after Download, served between job events
                if similar(lib, query, k=10):
                    first_any = time.monotonic() - t0
                    out.update(first_answer_s=round(first_any, 1), first_answer_space=lib.active_key)
            if not isinstance(ev, TrackDone):
                continue
            tracks += 1
            audio += WINDOW_SECONDS * len(plan_windows(lib.catalog.get(ev.track_id).duration, WINDOWS, WINDOW_SECONDS))
            if tracks % 10 == 0:
                similar(lib, query, k=10)  # still answering, from the old space
                print(f"{time.monotonic() - t0:7.1f} s  {tracks} tracks re-indexed  load {load()}", flush=True)
                out["partial"] = {"s": round(time.monotonic() - t0, 1), "tracks": tracks, "audio_read_s": audio,
                                  "load": load()}
                if partial:
                    Path(partial).write_text(json.dumps(out, indent=1))  # a run stopped early keeps its figures
        out["reindex_complete_s"] = round(time.monotonic() - t0, 1)
        hits = similar(lib, query, k=10)
        first_new = time.monotonic() - t0
        assert lib.active_key != old_key and hits, "the new space did not take over"
        out.update(first_new_model_answer_s=round(first_new, 1),
                   tracks_reindexed=tracks, new_space=lib.active_key, old_space=old_key,
                   audio_read_s=round(audio), reindex_x_realtime=round(
                       audio / (out["reindex_complete_s"] - out["switched_s"]), 1),
                   load_after=load())
    finally:
        lib.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tracks", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="/var/tmp/sa19")
    ap.add_argument("--json")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(uptime(), flush=True)
    from bench.models import build_base

    folder = build_base("wav2vec2", work / "base-wav2vec2")
    music = synth_library(work / "music", args.tracks, args.seconds)
    home = work / "library"
    os.environ["XDG_CONFIG_HOME"] = str(work / "config")  # `model list`'s record of users stays here
    spectral_library(home, music)

    from tests.hub import LocalHub

    hub = LocalHub().start()
    for f in hub.add_folder(MODEL_ID, folder).files.values():
        f.etag, f.blob_id  # noqa: B018  (hashed before t=0, as a real hub has them stored)
    cache = work / "hub-cache"
    shutil.rmtree(cache, ignore_errors=True)
    os.environ.update(HF_ENDPOINT=hub.url, HF_HUB_CACHE=str(cache))
    os.environ.pop("HF_HUB_OFFLINE", None)
    print(uptime(), flush=True)
    try:
        result = download_to_answers(home, args.threads, args.json)
    finally:
        hub.stop()
    result.update(tracks=args.tracks, track_seconds=args.seconds, threads=args.threads, uptime_after=uptime())
    print(json.dumps(result, indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
