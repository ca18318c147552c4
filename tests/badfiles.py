"""A messy music folder, made on demand: every kind of file a real library throws at a player.

`make_bad_corpus(root)` returns {name: (path, expectation)} where expectation is "ok" (must index),
"damaged: ..." (must index its decodable part with that note) or a substring of the failure reason the
catalog must record for it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from tests import audio


def _tone(seconds: float, sr: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    x = audio.render("plucked", seconds, seed=seed, sr=sr)
    return np.repeat(x[:, None], channels, axis=1) if channels > 1 else x


def make_bad_corpus(root: Path, *, one_hour: bool = False) -> dict[str, tuple[Path, str]]:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[Path, str]] = {}

    def add(name, path, expect):
        out[name] = (Path(path), expect)

    p = root / "empty.mp3"
    p.write_bytes(b"")
    add("zero-byte", p, "empty file")

    good_mp3 = audio.write(root / "tmp-full.mp3", audio.render("drums", 20.0, seed=1))
    data = good_mp3.read_bytes()
    (root / "truncated.mp3").write_bytes(data[: len(data) // 4])
    good_mp3.unlink()
    add("truncated mp3", root / "truncated.mp3", "damaged: plays 0:05 of 0:20")

    good_flac = audio.write(root / "tmp-full.flac", audio.render("pad", 20.0, seed=2))
    data = good_flac.read_bytes()
    (root / "truncated.flac").write_bytes(data[: len(data) // 4])
    good_flac.unlink()
    add("truncated flac", root / "truncated.flac", "damaged: plays 0:05 of 0:20")

    p = root / "readme.mp3"
    p.write_text("This is a text file that only pretends to be music.\n" * 50)
    add("text named mp3", p, "not an audio file")

    p = root / "actually-wav.flac"
    sf.write(p, _tone(2.0, 22050), 22050, format="WAV")
    add("wav named flac", p, "ok")

    p = root / "blip.wav"
    sf.write(p, _tone(0.1, 44100), 44100)
    add("0.1 s clip", p, "ok")

    p = root / "silence.flac"
    sf.write(p, np.zeros(44100 * 3, np.float32), 44100)
    add("silence", p, "ok")

    p = root / "dc.wav"
    sf.write(p, np.full(44100 * 3, 0.5, np.float32), 44100)
    add("pure DC", p, "ok")

    for sr in (8000, 192000):
        p = root / f"rate-{sr}.wav"
        sf.write(p, _tone(2.0, sr, seed=sr), sr)
        add(f"{sr} Hz", p, "ok")

    p = root / "surround-6ch.flac"
    sf.write(p, _tone(2.0, 48000, channels=6, seed=6), 48000)
    add("6 channels", p, "ok")

    for name in ("with spaces in name.ogg", "Ünïcødé – ßøñg.flac", "party 🎉🎶.wav"):
        p = audio.write(root / "odd names" / name, audio.render("pad", 2.0, seed=len(name)))
        add(f"name {name}", p, "ok")

    p = audio.write(root / "aac" / "song.m4a", audio.render("drums", 3.0, seed=9), 44100)
    add("m4a/AAC", p, "ok")

    p = audio.write(root / "locked.ogg", audio.render("pad", 2.0, seed=10))
    p.chmod(0)
    add("no read permission", p, "permission denied")

    loop = root / "loop"
    loop.mkdir(exist_ok=True)
    os.symlink(root, loop / "back-to-root")
    out["symlink loop"] = (loop / "back-to-root", "")  # not a track: the scan must just survive it

    if one_hour:
        out["one hour"] = (write_long(root / "one-hour.flac", 3600), "ok")
    return out


def write_long(path: Path, seconds: int, sr: int = 8000) -> Path:
    """A long mono FLAC written block by block (never the whole signal in memory)."""
    block = audio.render("pad", 60.0, seed=7, sr=sr)
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, format="FLAC") as f:
        for _ in range(seconds // 60):
            f.write(block)
    return Path(path)
