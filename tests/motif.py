"""A synthesised library for passage search: a distinctive 8 s motif pasted at known offsets.

The motif is a timbre no family uses: a square-wave siren (a sweep with fast vibrato) over ringing
metallic FM bells. It is pasted (replacing the music, with 30 ms fades) into 5 tracks of different
families; one of them holds it twice. Other tracks of the same families never hear it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests import audio

SR = audio.SR
MOTIF_SECONDS = 8.0
TRACK_SECONDS = 40.0
# (family, format, offsets of the motif in seconds)
WITH_MOTIF = [
    ("plucked", "wav", (6.3, 27.1)),  # twice: the --include-self case
    ("drums", "flac", (14.0,)),
    ("pad", "ogg", (21.7,)),
    ("plucked", "mp3", (3.1,)),
    ("drums", "wav", (30.5,)),
]
WITHOUT = [("plucked", "flac"), ("drums", "ogg"), ("pad", "wav"), ("pad", "flac"), ("plucked", "ogg"), ("drums", "mp3")]


def motif(sr: int = SR) -> np.ndarray:
    n = int(MOTIF_SECONDS * sr)
    t = np.arange(n) / sr
    sweep = 500 + 400 * np.sin(2 * np.pi * 0.5 * t) + 30 * np.sin(2 * np.pi * 7 * t)
    siren = np.sign(np.sin(2 * np.pi * np.cumsum(sweep) / sr)) * 0.25
    bells = np.zeros(n)
    for i, start in enumerate(np.arange(0, MOTIF_SECONDS, 0.4)):
        a = int(start * sr)
        m = n - a
        tt = np.arange(m) / sr
        f = 1250 * (1.5 if i % 3 == 0 else 1.0)
        fm = 4 * np.sin(2 * np.pi * f * 1.41 * tt) * np.exp(-tt * 3)
        bells[a:] += np.sin(2 * np.pi * f * tt + fm) * np.exp(-tt * 4) * 0.4
    x = siren + bells
    return (x / np.abs(x).max() * 0.8).astype(np.float32)


def paste(track: np.ndarray, clip: np.ndarray, at: float, sr: int = SR) -> None:
    a = int(at * sr)
    fade = int(0.03 * sr)
    ramp = np.ones(len(clip), np.float32)
    ramp[:fade] = np.linspace(0, 1, fade)
    ramp[-fade:] = np.linspace(1, 0, fade)
    track[a : a + len(clip)] = track[a : a + len(clip)] * (1 - ramp) + clip * ramp


@dataclass
class MotifLibrary:
    folder: Path
    clip: Path  # the motif alone, as a file outside the library
    truth: dict[str, tuple[float, ...]]  # path -> motif offsets
    plain: list[str]  # tracks without the motif


def write_motif_library(root: Path) -> MotifLibrary:
    folder = root / "music"
    m = motif()
    truth, plain = {}, []
    for i, (family, ext, offsets) in enumerate(WITH_MOTIF):
        x = audio.render(family, TRACK_SECONDS, seed=500 + i)
        for at in offsets:
            paste(x, m, at)
        path = audio.write(folder / family / f"motif_{i}.{ext}", x)
        truth[str(path)] = offsets
    for i, (family, ext) in enumerate(WITHOUT):
        x = audio.render(family, TRACK_SECONDS, seed=700 + i)
        plain.append(str(audio.write(folder / family / f"plain_{i}.{ext}", x)))
    clip = audio.write(root / "clips" / "motif.wav", m)
    return MotifLibrary(folder, clip, truth, plain)
