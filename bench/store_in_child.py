"""The track store in this process against the same store served by a child (desktop/core/store/in_child.py).

    .venv/bin/python bench/store_in_child.py [--sizes 10000,100000] [--dim 260] [--queries 40] [--keep DIR]

For each size: one Edge shard of that many random unit vectors (written once, kept in --keep for the next run),
opened in this process and then by a child, alternately, --rounds times. Each opening answers --queries similar-
track searches (k = 10, the pane's) and --queries station-like recommends (3 positives) while a Python thread
ticks every 1 ms, as the window's GUI thread would (calls 10 ms apart, the window's GIL switch interval).
Prints, per way: the opening's time, the p50 of each call, and the ticker's longest gap and p99 during the
calls: what a search costs the *other* threads of the process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from desktop.core.store import open_store  # noqa: E402
from desktop.core.thread_priority import hand_gil_over_quickly  # noqa: E402

NAME = "bench-v1-{dim}"


class Ticker(threading.Thread):
    """A Python thread that wakes every 1 ms and records how late it was (the GIL, then a core)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.gaps: list[float] = []
        self.stop = threading.Event()

    def run(self):
        last = time.perf_counter()
        while not self.stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            self.gaps.append((now - last) * 1000)
            last = now


def build(root: str, n: int, dim: int) -> None:
    name = NAME.format(dim=dim)
    if os.path.exists(os.path.join(root, name, "edge_config.json")):
        return
    rng = np.random.default_rng(0)
    with open_store(root, name, dim) as store:
        for start in range(0, n, 5000):
            v = rng.standard_normal((min(5000, n - start), dim)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            store.upsert([(start + i + 1, v[i], {"artist": f"a{(start + i) % 500}"}) for i in range(len(v))])
        store.flush()


def one_way(root: str, n: int, dim: int, queries: int, in_child: bool) -> dict:
    rng = np.random.default_rng(1)
    t = time.perf_counter()
    store = open_store(root, NAME.format(dim=dim), dim, in_child=in_child)
    opened = (time.perf_counter() - t) * 1000
    ticker = Ticker()
    ticker.start()
    search, recommend = [], []
    try:
        for _ in range(queries):
            time.sleep(0.01)  # a click at a time, as the window's library thread asks
            q = rng.standard_normal(dim).astype(np.float32)
            t = time.perf_counter()
            store.search(q, 10, exclude_ids=[1])
            search.append((time.perf_counter() - t) * 1000)
            pos = [rng.standard_normal(dim).astype(np.float32) for _ in range(3)]
            t = time.perf_counter()
            store.recommend(pos, [], 10, exclude_ids=[2, 3])
            recommend.append((time.perf_counter() - t) * 1000)
            time.sleep(0.01)
    finally:
        ticker.stop.set()
        ticker.join()
        store.close()
    gaps = sorted(ticker.gaps)
    return {"open": opened, "search": statistics.median(search), "recommend": statistics.median(recommend),
            "tick_p99": gaps[int(0.99 * (len(gaps) - 1))], "tick_max": gaps[-1]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--dim", type=int, default=260)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", default=str(Path(__file__).resolve().parent / "out" / "store-in-child"))
    args = ap.parse_args()
    hand_gil_over_quickly()  # as the window does
    print(f"load {os.getloadavg()[0]:.1f}; ms; each row: open, search p50, recommend p50, 1 ms ticker p99 / longest")
    for n in (int(s) for s in args.sizes.split(",")):
        root = os.path.join(args.keep, str(n))
        build(root, n, args.dim)
        for r in range(args.rounds):
            for in_child in (False, True):
                m = one_way(root, n, args.dim, args.queries, in_child)
                print(f"{n:>7} tracks, round {r + 1}, {'child  ' if in_child else 'process'}: open {m['open']:7.1f}, "
                      f"search {m['search']:5.2f}, recommend {m['recommend']:5.2f}, ticker p99 {m['tick_p99']:5.2f} / "
                      f"longest {m['tick_max']:6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
