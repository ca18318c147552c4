"""Synthesized music for tests: families that differ in timbre, tempo and harmony, in real formats.

Each family is a recipe with random variations (pitch, tempo jitter, levels), so clips of one family
sound alike but are never identical, and the families sound clearly different from each other.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22050


def _env(n: int, attack: float, decay: float, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    return np.minimum(1.0, t / max(attack, 1e-4)) * np.exp(-t / decay)


def plucked(seconds: float, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    """Bright decaying harmonic notes at ~120 bpm on a major scale (a plucked-string band)."""
    n = int(seconds * sr)
    out = np.zeros(n, np.float32)
    beat = 60 / rng.uniform(115, 125)
    base = 196 * 2 ** (rng.integers(0, 5) / 12)
    scale = [0, 2, 4, 5, 7, 9, 11, 12]
    t0 = 0.0
    while t0 < seconds:
        f = base * 2 ** (scale[rng.integers(0, 8)] / 12)
        m = int(min(beat * 2, seconds - t0) * sr)
        t = np.arange(m) / sr
        note = sum((0.6 / h) * np.sin(2 * np.pi * f * h * t) for h in range(1, 9))
        a = int(t0 * sr)
        out[a : a + m] += (note * _env(m, 0.003, 0.25, sr)).astype(np.float32)
        t0 += beat / 2
    return out


def drums(seconds: float, rng: np.random.Generator, sr: int = SR, bpm: float | None = None) -> np.ndarray:
    """A noise-and-thump drum loop at ~90 bpm (kick on beats, hats on eighths); `bpm` fixes the tempo
    (two loops of one tempo differ only in their hi-hat noise: the hardest false duplicate)."""
    n = int(seconds * sr)
    out = np.zeros(n, np.float32)
    beat = 60 / (bpm or rng.uniform(86, 94))
    k = int(0.25 * sr)
    t = np.arange(k) / sr
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-t * 30)) * t) * np.exp(-t * 12)
    hat_n = int(0.05 * sr)
    for i in range(int(seconds / (beat / 2)) + 1):
        a = int(i * beat / 2 * sr)
        if a >= n:
            break
        if i % 2 == 0:
            seg = kick[: n - a]
            out[a : a + len(seg)] += 0.9 * seg
        hat = rng.standard_normal(hat_n) * np.exp(-np.arange(hat_n) / sr * 80)
        hat = np.diff(hat, prepend=0)  # brighter
        seg = hat[: n - a]
        out[a : a + len(seg)] += 0.3 * seg
    return out


def pad(seconds: float, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    """Slow sustained minor chords of detuned saws, low-passed: an ambient pad."""
    n = int(seconds * sr)
    t = np.arange(n) / sr
    root = 110 * 2 ** (rng.integers(0, 7) / 12)
    out = np.zeros(n)
    for semis in (0, 3, 7, 12):
        f = root * 2 ** (semis / 12)
        for det in (-0.3, 0.3):
            ph = 2 * np.pi * (f + det) * t + rng.uniform(0, 6.28)
            out += sum(np.sin(h * ph) / h for h in range(1, 6)) * 0.08
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * t / rng.uniform(3, 5))
    return (out * swell).astype(np.float32)


FAMILIES = {"plucked": plucked, "drums": drums, "pad": pad}
FORMATS = [("wav", {}), ("flac", {}), ("ogg", {}), ("mp3", {"format": "MP3", "subtype": "MPEG_LAYER_III"})]


def render(family: str, seconds: float, seed: int, sr: int = SR, **kw) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = FAMILIES[family](seconds, rng, sr, **kw)
    x = x / (np.abs(x).max() + 1e-9) * rng.uniform(0.5, 0.9)
    return x.astype(np.float32)


def write(path: Path, samples: np.ndarray, sr: int = SR, channels: int = 2) -> Path:
    """Write mono `samples` as a file whose format follows the extension (m4a through PyAV)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.repeat(samples[:, None], channels, axis=1) if channels > 1 else samples
    ext = path.suffix.lower()
    if ext == ".m4a":
        write_m4a(path, data if channels > 1 else samples[:, None], sr)
    elif ext == ".mp3":
        sf.write(path, data, sr, format="MP3", subtype="MPEG_LAYER_III")
    elif ext == ".opus":
        sf.write(path, data, sr, format="OGG", subtype="OPUS")
    else:
        sf.write(path, data, sr)
    return path


def write_m4a(path: Path, data: np.ndarray, sr: int) -> None:
    import av

    layout = "stereo" if data.shape[1] == 2 else "mono"
    with av.open(str(path), "w", format="mp4") as c:
        stream = c.add_stream("aac", rate=sr, layout=layout)
        planar = np.ascontiguousarray(data.T.astype(np.float32))
        frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout=layout)
        frame.sample_rate = sr
        for pkt in stream.encode(frame):
            c.mux(pkt)
        for pkt in stream.encode(None):
            c.mux(pkt)


def write_families(root: Path, per_family: int = 4, seconds: float = 6.0) -> list[Path]:
    """root/<family>/<family>_<i>.<fmt> with formats rotating through wav, flac, ogg, mp3."""
    paths = []
    for fi, family in enumerate(FAMILIES):
        for i in range(per_family):
            ext, _ = FORMATS[(fi + i) % len(FORMATS)]
            x = render(family, seconds, seed=1000 * fi + i)
            paths.append(write(root / family / f"{family}_{i}.{ext}", x))
    return paths


# Codec and container PyAV uses for each lossy extension a re-encoding can be written as.
_LOSSY = {".mp3": ("libmp3lame", "mp3", "fltp"), ".m4a": ("aac", "mp4", "fltp"), ".ogg": ("libopus", "ogg", "flt"),
          ".opus": ("libopus", "ogg", "flt")}


def encode(path: Path, samples: np.ndarray, sr: int = SR, bitrate: int | None = None, channels: int = 2) -> Path:
    """Write `samples` like `write`, but lossy formats at a chosen bitrate (bits/s) through PyAV.

    Re-encodings of one recording at several bitrates are what a duplicate finder must group.
    Opus only runs at 48 kHz, so .ogg/.opus audio is resampled by the encoder's resampler first.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if bitrate is None or ext not in _LOSSY:
        return write(path, samples, sr, channels)
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    codec, fmt, sample_fmt = _LOSSY[ext]
    layout = "stereo" if channels == 2 else "mono"
    data = np.repeat(samples[None, :], channels, axis=0).astype(np.float32)
    rate = 48000 if codec == "libopus" else sr
    with av.open(str(path), "w", format=fmt) as c:
        stream = c.add_stream(codec, rate=rate, layout=layout)
        stream.bit_rate = int(bitrate)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format="fltp", layout=layout)
        frame.sample_rate = sr
        resampler = av.AudioResampler(format=sample_fmt, layout=layout, rate=rate)
        frames = list(resampler.resample(frame)) + list(resampler.resample(None))
        size = stream.codec_context.frame_size or 1024
        fifo = av.AudioFifo()
        for f in frames:
            f.pts = None
            fifo.write(f)
        while True:
            chunk = fifo.read(size) if fifo.samples >= size else (fifo.read() if fifo.samples else None)
            if chunk is None:
                break
            for pkt in stream.encode(chunk):
                c.mux(pkt)
        for pkt in stream.encode(None):
            c.mux(pkt)
    return path
