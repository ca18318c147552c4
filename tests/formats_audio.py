"""Write a short signal in every container the test build can encode, plus hand-built DSD files.

soundfile (libsndfile) writes WAV, W64, FLAC, AIFF, Ogg Vorbis and MP3; PyAV (the bundled FFmpeg)
writes WavPack, TTA, MP2, AAC/ALAC in MP4, ADTS AAC, Opus, WMA, Matroska and WebM. FFmpeg has no DSD
encoder, so `write_dsf`/`write_dff` build those files here (1-bit sigma-delta, a few lines each).
Monkey's Audio and Musepack have no encoder in either library: see tests/data/README.md.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import soundfile as sf

# extension -> (soundfile format, subtype) or ("pyav", container, codec, sample format)
SOUNDFILE = {
    "wav": ("WAV", "PCM_16"), "w64": ("W64", "PCM_16"), "flac": ("FLAC", "PCM_16"), "aiff": ("AIFF", "PCM_16"),
    "aif": ("AIFF", "PCM_16"), "ogg": ("OGG", "VORBIS"), "mp3": ("MP3", "MPEG_LAYER_III"),
}
PYAV = {
    "wv": ("wv", "wavpack"), "tta": ("tta", "tta"), "mp2": ("mp2", "mp2"), "m4a": ("ipod", "aac"),
    "alac": ("ipod", "alac"), "aac": ("adts", "aac"), "opus": ("ogg", "libopus"), "oga": ("ogg", "flac"),
    "wma": ("asf", "wmav2"), "mka": ("matroska", "flac"), "webm": ("webm", "libopus"),
}
PYAV_RATE = {"opus": 48000, "webm": 48000, "mp2": 44100}


def tone(seconds: float, freq: float = 440.0, sr: int = 44100) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_audio(path: str | Path, samples: np.ndarray, sr: int = 44100) -> Path:
    """`samples` (mono float32) written in the format named by `path`'s extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ext = path.suffix.lower().lstrip(".")
    if ext in SOUNDFILE:
        fmt, subtype = SOUNDFILE[ext]
        sf.write(str(path), samples, sr, format=fmt, subtype=subtype)
    elif ext in PYAV:
        container, codec = PYAV[ext]
        rate = PYAV_RATE.get(ext, sr)
        if rate != sr:
            import soxr

            samples = soxr.resample(samples, sr, rate).astype(np.float32)
        _write_pyav(path, samples, rate, container, codec)
    elif ext == "dsf":
        write_dsf(path, samples, sr)
    elif ext == "dff":
        write_dff(path, samples, sr)
    else:
        raise ValueError(f"no writer for .{ext}")
    return path


def _write_pyav(path: Path, samples: np.ndarray, sr: int, container: str, codec: str) -> None:
    import av

    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=sr, layout="mono")
        if codec == "wmav2":
            stream.bit_rate = 128000
        offered = [f.name for f in stream.codec_context.codec.audio_formats]
        fmt = next((f for f in ("s16", "s16p", "fltp", "flt", "s32", "s32p") if f in offered), offered[0])
        size = stream.codec_context.frame_size or 4096
        pcm = samples
        if fmt.startswith("s16"):
            pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        elif fmt.startswith("s32"):
            pcm = (np.clip(samples, -1, 1) * 2147483647).astype(np.int32)
        pts = 0
        for i in range(0, len(pcm), size):
            chunk = pcm[i : i + size]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format=fmt, layout="mono")
            frame.sample_rate, frame.pts = sr, pts
            pts += len(chunk)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _sigma_delta(samples: np.ndarray, sr: int, dsd_rate: int) -> np.ndarray:
    """PCM -> 1-bit stream (0/1 per sample) at `dsd_rate`: a first-order sigma-delta modulator.

    First order has a closed form: with p = (x + 1) / 2 in [0, 1], bit n is the step of floor(cumsum(p)),
    so the whole clip is modulated without a Python loop. Its noise is higher than a real DSD
    encoder's, but after FFmpeg's low-pass the tone is clearly there.
    """
    import soxr

    x = soxr.resample(samples.astype(np.float64), sr, dsd_rate // 8)  # then hold each value 8 times
    p = (np.clip(np.repeat(x, 8), -1, 1) + 1) / 2
    steps = np.floor(np.cumsum(p))
    return np.diff(steps, prepend=0).astype(np.uint8)


def write_dsf(path: str | Path, samples: np.ndarray, sr: int = 44100, dsd_rate: int = 2822400) -> Path:
    """A mono DSD64 DSF file (Sony's format: DSD, fmt and data chunks; LSB-first bits; 4096-byte blocks)."""
    bits = _sigma_delta(samples, sr, dsd_rate)
    n = len(bits)
    packed = np.packbits(bits, bitorder="little").tobytes()
    block = 4096
    packed += b"\0" * ((-len(packed)) % block)
    fmt = _dsf_fmt(dsd_rate, n, block)
    data = struct.pack("<4sQ", b"data", 12 + len(packed)) + packed
    total = 28 + len(fmt) + len(data)
    head = struct.pack("<4sQQQ", b"DSD ", 28, total, 0)
    Path(path).write_bytes(head + fmt + data)
    return Path(path)


def _dsf_fmt(dsd_rate: int, n: int, block: int) -> bytes:
    # version 1, format id 0 (raw DSD), channel type 1 (mono), 1 channel, rate, 1 bit, sample count, block size
    body = struct.pack("<IIIIIIQI", 1, 0, 1, 1, dsd_rate, 1, n, block) + b"\0" * 4
    return struct.pack("<4sQ", b"fmt ", 12 + len(body)) + body


def write_dff(path: str | Path, samples: np.ndarray, sr: int = 44100, dsd_rate: int = 2822400) -> Path:
    """A mono DSDIFF (.dff) file: FRM8/DSD with FVER, PROP (FS, CHNL, CMPR) and DSD chunks; MSB-first."""
    bits = _sigma_delta(samples, sr, dsd_rate)
    packed = np.packbits(bits, bitorder="big").tobytes()

    def chunk(cid: bytes, body: bytes) -> bytes:
        return struct.pack(">4sQ", cid, len(body)) + body + (b"\0" if len(body) % 2 else b"")

    prop = b"SND " + chunk(b"FS  ", struct.pack(">I", dsd_rate)) + chunk(b"CHNL", struct.pack(">H", 1) + b"C   ")
    prop += chunk(b"CMPR", b"DSD " + bytes([14]) + b"not compressed" + b"\0")
    body = b"DSD " + chunk(b"FVER", struct.pack(">I", 0x01050000)) + chunk(b"PROP", prop) + chunk(b"DSD ", packed)
    Path(path).write_bytes(chunk(b"FRM8", body))
    return Path(path)
