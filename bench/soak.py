"""Soak test: index, query and play a few hundred synthetic tracks in a loop; memory must stay flat.

    .venv/bin/python bench/soak.py [--tracks 300] [--rounds 5] [--seconds 20]

Each round re-touches a tenth of the files (so they are re-indexed), runs 200 similar() queries and
plays a track to its end through the Player (null output when there is no sound card). It prints the
RSS after every round and the growth from round 2 to the last (round 1 includes warm-up: imports,
worker pools, caches). Flat means the growth stays within a few MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from desktop.core.events import IndexSummary  # noqa: E402
from desktop.core.indexer import scan_and_index  # noqa: E402
from desktop.core.library import Library  # noqa: E402
from desktop.core.similarity import similar  # noqa: E402
from tests import audio  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def play_to_end(path: str, timeout: float = 60) -> str:
    from desktop.core.playback import Player

    ended = threading.Event()
    player = Player(on_end=ended.set)
    try:
        player.load(path)
        player.play()
        ended.wait(timeout)
        return "device" if player.available else "null output"
    finally:
        player.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--play-seconds", type=float, default=2.0, help="length of the clip played each round")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="soundalike-soak-") as tmp:
        tmp = Path(tmp)
        families = list(audio.FAMILIES)
        for i in range(args.tracks):
            fam = families[i % len(families)]
            audio.write(tmp / "music" / fam / f"{fam}{i:04d}.ogg", audio.render(fam, args.seconds, seed=i))
        clip = audio.write(tmp / "play.wav", audio.render("pad", args.play_seconds, seed=1))
        rng = np.random.default_rng(0)
        readings = []
        with Library.open(tmp / "home", embedder="spectral") as lib:
            for rnd in range(1, args.rounds + 1):
                started = time.monotonic()
                files = sorted((tmp / "music").rglob("*.ogg"))
                for p in rng.choice(files, size=max(1, len(files) // 10), replace=False):
                    os.utime(p, (time.time() + rnd, time.time() + rnd))  # "changed": indexed again
                summary = [e for e in scan_and_index(lib, [tmp / "music"]) if isinstance(e, IndexSummary)][-1]
                ids = lib.catalog.track_ids(status="indexed")
                for tid in rng.choice(ids, size=200):
                    similar(lib, int(tid), k=10)
                output = play_to_end(str(clip))
                readings.append(rss_mb())
                print(f"round {rnd}: indexed {summary.indexed:4d}, 200 queries, played ({output}); "
                      f"RSS {readings[-1]:7.1f} MB; {time.monotonic() - started:5.1f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    growth = readings[-1] - readings[1] if len(readings) > 2 else float("nan")
    print(f"RSS growth from round 2 to round {len(readings)}: {growth:+.1f} MB (peak {peak:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
