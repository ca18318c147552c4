"""Inject real accidents into a real library and print: fault | detected | data lost | recovered without decoding.

Each fault starts from a copy of one clean library (spectral, N synthesized tracks), is applied for real
(SIGKILL, a segfaulting decoder (spectral and wav2vec2), links out of the music folder, a device
given as a file, renamed folders, garbled files, a full tmpfs), then the user's commands
run as a user would. "data lost" compares every track's id, raw vector and indexed_at with the clean
library; "recovered without decoding" means no track that was indexed before was analysed again and
`similar` answers exactly as on the clean library.

    .venv/bin/python bench/faults.py [--tracks 12]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import audio  # noqa: E402


def cli(home: Path, *args, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "SOUNDALIKE_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "desktop", *map(str, args)], capture_output=True, text=True,
                          env=full, timeout=900)


def snapshot(home: Path) -> dict:
    """id -> (path bytes, indexed_at, raw vector bytes) of every indexed track."""
    db = sqlite3.connect(f"file:{home / 'catalog.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT t.id, t.path, t.indexed_at, v.raw FROM tracks t JOIN vectors v ON v.track_id=t.id")
        return {r[0]: (bytes(r[1]) if isinstance(r[1], bytes) else r[1].encode(), r[2], r[3]) for r in rows}
    finally:
        db.close()


def answers(home: Path, ids=(1, 4, 7)) -> list:
    """(track id, score) of the top hits for a few queries (paths left out: a moved file keeps its id)."""
    out = []
    for i in ids:
        hits = cli(home, "similar", i, "-k", "3", "--json").stdout
        out.append([(h["track_id"], round(h["score"], 4)) for h in json.loads(hits or "[]")])
    return out


class Bench:
    def __init__(self, work: Path, tracks: int):
        self.work = work
        self.music = work / "music"
        for i in range(tracks):
            family = ["drums", "pad", "plucked"][i % 3]
            audio.write(self.music / family / f"t{i:02d}.flac", audio.render(family, 3.0, seed=i))
        self.clean = work / "clean"
        out = cli(self.clean, "index", self.music, "--embedder", "spectral")
        assert out.returncode == 0, out.stderr
        self.snap, self.answers = snapshot(self.clean), answers(self.clean)
        self.rows: list[tuple[str, str, str, str]] = []

    def copy(self, name: str) -> Path:
        home = self.work / name
        shutil.copytree(self.clean, home)
        return home

    def verdict(self, home: Path, fault: str, detected: bool, ids_kept=None) -> None:
        after = snapshot(home)
        before = {i: v for i, v in self.snap.items() if ids_kept is None or i in ids_kept}
        lost = [i for i in before if i not in after or after[i][2] != before[i][2]]
        redone = [i for i in before if i in after and after[i][1] != before[i][1]]
        same = answers(home) == self.answers if ids_kept is None else True
        self.rows.append((fault, "yes" if detected else "NO",
                          "nothing" if not lost else f"{len(lost)} tracks",
                          "yes" if not redone and same else f"NO ({len(redone)} re-analysed, answers same: {same})"))


def run(b: Bench) -> None:
    store = lambda home: next(p for p in (home / "vectors").iterdir() if ".damaged" not in p.name)  # noqa: E731

    home = b.copy("kill")  # SIGKILL mid-index, after a point was written but before its catalog row
    shutil.rmtree(home)
    out = cli(home, "index", b.music, "--embedder", "spectral", env={"SOUNDALIKE_CRASH_AT": "after-store:5"})
    detected = out.returncode == -9 and cli(home, "check").returncode == 1
    cli(home, "check", "--repair")
    partial = snapshot(home)
    cli(home, "index", b.music)
    after = snapshot(home)
    redone = [i for i in partial if after[i][1] != partial[i][1]]
    b.rows.append(("kill -9 while indexing", "yes" if detected else "NO", "nothing" if len(after) == len(b.snap)
                   else "some", "yes" if not redone else f"NO ({len(redone)} re-analysed)"))

    home = b.copy("segv")  # a decoder that segfaults on one file
    shutil.rmtree(home)
    out = cli(home, "index", b.music, "--embedder", "spectral", env={"SOUNDALIKE_CRASH_ON": "t03.flac"})
    ok = out.returncode == 0 and "the decoder crashed on this file" in out.stdout
    b.rows.append(("decoder segfault on one file", "yes" if ok else "NO",
                   "nothing" if len(snapshot(home)) == len(b.snap) - 1 else "more than that file",
                   "n/a (that file fails with its reason)"))

    home = b.copy("segv-model")  # the same, with a model embedder: the model runs here, the decoding in a child
    shutil.rmtree(home)
    from tests.tiny_model import build_tiny_model

    model = build_tiny_model(b.work / "tiny-wav2vec2")
    out = cli(home, "index", b.music, "--embedder", "wav2vec2", "--model", model, "--device", "cpu", "--no-passages",
              env={"SOUNDALIKE_CRASH_ON": "t03.flac"})
    ok = out.returncode == 0 and "the decoder crashed on this file" in out.stdout
    b.rows.append(("decoder segfault on one file (wav2vec2: model here, decoding in a child)", "yes" if ok else "NO",
                   "nothing" if len(snapshot(home)) == len(b.snap) - 1 else "more than that file",
                   "n/a (that file fails with its reason)"))

    home = b.copy("link-up")  # a link to `..` inside the music folder: the scan must not walk out of it
    beside = b.music.parent / "not-music"
    audio.write(beside / "stranger.flac", audio.render("drums", 3.0, seed=77))
    (b.music / "up").symlink_to("..")
    out = cli(home, "index", b.music)
    detected = "a link out of the scanned folders" in out.stderr and "0 new" in out.stdout
    (b.music / "up").unlink()
    shutil.rmtree(beside)
    b.verdict(home, "a link to .. inside the music folder", detected)

    home = b.copy("dev-zero")  # a link to /dev/zero given as a file: named, not read forever
    zero = b.work / "zero.mp3"
    zero.symlink_to("/dev/zero")
    out = cli(home, "index", zero)
    detected = out.returncode == 1 and "not a regular file" in out.stderr
    b.verdict(home, "a link to /dev/zero given as a file", detected)

    home = b.copy("unplugged")
    away = b.work / "music-away"
    b.music.rename(away)
    out = cli(home, "index", b.music)
    detected = "unavailable" in out.stderr
    away.rename(b.music)
    cli(home, "index", b.music)
    b.verdict(home, "unplugged drive (folder gone, then back)", detected)

    home = b.copy("moved")
    src = b.music / "pad" / "t01.flac"
    moved_to = b.music / "elsewhere" / "renamed.flac"
    moved_to.parent.mkdir()
    src.rename(moved_to)
    out = cli(home, "index", b.music)
    detected = "1 moved" in out.stdout
    b.verdict(home, "file moved and renamed", detected)
    moved_to.rename(src)
    moved_to.parent.rmdir()

    home = b.copy("vectors-deleted")
    shutil.rmtree(home / "vectors")
    detected = cli(home, "check").returncode == 1
    b.verdict(home, "vectors/ deleted", detected)

    for name, damage in (("store WAL garbled", "wal"), ("store edge_config.json garbled", "config"),
                         ("store vector data garbled (NaN)", "vectors")):
        home = b.copy(damage)
        shard = store(home)
        if damage == "wal":
            with open(shard / "wal" / "open-1", "r+b") as f:
                f.write(os.urandom(4096))
        elif damage == "config":
            (shard / "edge_config.json").write_text("{garbage")
        else:
            with open(next(shard.glob("segments/*/vector_storage-full/vectors/chunk_0.mmap")), "r+b") as f:
                f.write(np.full(4096, np.nan, np.float32).tobytes())
        detected = cli(home, "check").returncode == 1
        cli(home, "check", "--repair")
        b.verdict(home, name, detected)

    home = b.copy("catalog-pages")
    with open(home / "catalog.sqlite3", "r+b") as f:
        for page in (2, 3, 4):
            f.seek(4096 * page)
            f.write(os.urandom(4096))
    detected = cli(home, "check").returncode == 1
    cli(home, "check", "--repair")
    b.verdict(home, "catalog pages garbled", detected)

    home = b.copy("catalog-deleted")
    (home / "catalog.sqlite3").unlink()
    out = cli(home, "similar", "1")
    detected = out.returncode == 1 and "catalog is missing" in out.stderr
    cli(home, "check", "--repair")
    b.verdict(home, "catalog deleted", detected)

    if os.geteuid() == 0:
        disk_full(b)
    else:
        b.rows.append(("disk full mid-run", "skipped: needs root to mount a tmpfs", "", ""))


def disk_full(b: Bench) -> None:
    disk = b.work / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200M", "tmpfs", str(disk)]).returncode:
        b.rows.append(("disk full mid-run", "skipped: cannot mount a tmpfs here", "", ""))
        return
    try:
        home = disk / "home"  # indexed there (a copy of the clean library would lose its sparse files)
        first, more = b.work / "first", b.work / "more"
        for i in range(4):
            audio.write(first / f"f{i}.flac", audio.render("drums", 3.0, seed=200 + i))
        for i in range(6):
            audio.write(more / f"m{i}.flac", audio.render("pad", 3.0, seed=100 + i))
        cli(home, "index", first, "--embedder", "spectral")
        before = snapshot(home)
        free = os.statvfs(disk)
        with open(disk / "filler", "wb") as f:  # leave less than the 64 MB margin
            os.posix_fallocate(f.fileno(), 0, free.f_bavail * free.f_frsize - 40 * 2**20)
        out = cli(home, "index", more)
        detected = out.returncode == 1 and "is full" in out.stderr
        (disk / "filler").unlink()
        cli(home, "index", more)
        kept = snapshot(home)
        lost = [i for i in before if i not in kept or kept[i][2] != before[i][2]]
        redone = [i for i in before if i in kept and kept[i][1] != before[i][1]]
        b.rows.append(("disk full", "yes" if detected else "NO", "nothing" if not lost else f"{len(lost)} tracks",
                       "yes" if not redone and len(kept) == len(before) + 6 else "NO"))
    finally:
        subprocess.run(["umount", "-l", str(disk)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=12)
    args = ap.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sa-faults-") as tmp:
        b = Bench(Path(tmp), args.tracks)
        run(b)
    print("| fault | detected | data lost | recovered without decoding |")
    print("|---|---|---|---|")
    for row in b.rows:
        print("| " + " | ".join(row) + " |")
    print(f"\n{args.tracks} tracks, {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
