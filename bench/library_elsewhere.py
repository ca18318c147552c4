"""What moving the library's work out of the window's process would buy: GUI gaps while tracks are indexed by the
window's library thread, or by another process.

    .venv/bin/python bench/library_elsewhere.py [--tracks 300] [--pairs 2]

The window opens a small indexed library (100 synthetic tracks, made once in bench/out/elsewhere-base), plays
its first track and selects every 7th row every 300 ms, as bench/ui_stall.py --clicks --play does, while a 5 ms
timer records the GUI thread's gaps. Meanwhile --tracks new clips (ui_stall.py's) are scanned and indexed
(no passage pass) either **in** the window (`add_paths`: the library thread, as today) or **elsewhere**: by
`soundalike index --no-passages` into another library, a process at nice 5 (where the library thread runs),
standing for a library session in its own process. The window's process then does only its own work. Runs
alternate; each prints its gaps' p99, p99.9, longest and share over 16 ms.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TICK_MS = 5
TARGET_MS = 16


def base_library(tracks: int = 100) -> Path:
    """An indexed spectral library of `tracks` synthetic clips, made once."""
    from bench.ui_stall import synth

    home = ROOT / "bench" / "out" / "elsewhere-base"
    if not (home / "catalog.sqlite3").exists():
        music = synth(ROOT / "bench" / "out" / "stall-music" / f"{tracks}x20s", tracks, 20.0)
        subprocess.run([sys.executable, "-m", "desktop", "--home", str(home), "index", "--embedder", "spectral",
                        str(music)], check=True, stdout=subprocess.DEVNULL)
    return home


def run(mode: str, music: Path, base: Path) -> str:
    """One run in a fresh interpreter (the window's process must not carry the previous run's state)."""
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(music), str(base)], capture_output=True,
                         text=True, timeout=900)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith(mode)]
    return lines[-1] if lines else f"{mode}: failed: {out.stderr[-400:]}"


def child(mode: str, music: str, base: str) -> None:
    from PySide6.QtCore import QTimer

    from bench.ui_stall import CLICK_EVERY_MS, row_clicker
    from desktop.ui.app import create_app, open_window

    app = create_app()
    tmp = tempfile.mkdtemp(prefix="soundalike-elsewhere-")
    home = Path(tmp) / "home"
    shutil.copytree(base, home)
    window = open_window(home, start=False)
    window.start([])
    gaps: list[float] = []
    last = [time.perf_counter()]
    other: list[subprocess.Popen] = []

    def tick():
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        last[0] = now

    timer, clicks, poll = QTimer(), QTimer(), QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    clicks.setInterval(CLICK_EVERY_MS)
    poll.setInterval(200)
    clicks.timeout.connect(row_clicker(window, play=True))

    def go():
        last[0] = time.perf_counter()
        timer.start()
        clicks.start()
        poll.start()
        if mode == "in":
            window.library_controller.add_paths([music])
        else:
            other.append(subprocess.Popen(["nice", "-n", "5", sys.executable, "-m", "desktop", "--home",
                                           str(Path(tmp) / "other"), "index", "--embedder", "spectral",
                                           "--no-passages", music], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))

    started = [0.0]

    def check():
        if not started[0]:
            started[0] = time.perf_counter()
        done = other[0].poll() is not None if other else (time.perf_counter() - started[0] > 2
                                                           and not window.session.busy)
        if done:
            timer.stop()
            app.quit()

    poll.timeout.connect(check)
    t0 = time.perf_counter()
    QTimer.singleShot(3000, go)  # the window settles first (its first similar query, the player)
    QTimer.singleShot(600_000, app.quit)
    app.exec()
    timer.stop()
    clicks.stop()
    seconds = time.perf_counter() - t0 - 3
    window.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
    gaps.sort()
    p = lambda q: gaps[min(len(gaps) - 1, int(q * len(gaps)))]  # noqa: E731
    late = sum(g > TARGET_MS for g in gaps)
    print(f"{mode}: {seconds:.0f} s, {len(gaps)} ticks, p99 {p(0.99):.1f} ms, p99.9 {p(0.999):.1f} ms, "
          f"longest {gaps[-1]:.1f} ms, over {TARGET_MS} ms {100 * late / max(1, len(gaps)):.2f} %")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=300)
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--child", nargs=3, metavar=("MODE", "MUSIC", "BASE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.child:
        child(*args.child)
        return 0
    from bench.ui_stall import synth

    base = base_library()
    music = synth(ROOT / "bench" / "out" / "stall-music" / f"{args.tracks}x20s", args.tracks, 20.0)
    for _ in range(args.pairs):
        for mode in ("in", "elsewhere"):
            print(run(mode, music, base), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
