"""Are two files one recording? Cross-correlate 20 s of their waveforms below 2 kHz, then check that
the offset holds through the excerpt and that the band above (hi-hats, breath, bow noise) lines up too.

Why not the similarity vectors alone: they describe how a track *sounds* (timbre, tempo, texture), so
two songs of one artist with one sound score as high as an MP3 and a FLAC of one song, and a codec's
low-pass moves the vector of one recording. Measured on re-encodings of synthesised tracks (bench/
duplicates_quality.py): vector scores 0.42-0.999 between WAV/FLAC/Opus/MP3/AAC copies of one track,
up to 0.993 between different tracks of its family. The waveform itself is what copies share: every
lossy codec keeps the low band close to the original, so the normalised cross-correlation of the
middle 20 s at 4 kHz was >= 0.987 between all copies and <= 0.742 between different tracks of a
family. Shifts of up to 1.3 s are searched (encoder delay, different lengths); polarity is ignored.

The low band alone is not enough: two drum loops share every kick when their tempos are (nearly) equal
and differ only in their hi-hat noise; they matched at 0.996-0.9999 (a false group seen on the test
library). Two cheap checks on the same excerpts separate them:
- the offset must hold: each quarter of the excerpt finds its own best offset, and a copy's four agree
  within a sample at 4 kHz (measured 0-1) while a loop 0.05 bpm faster drifts apart (> MAX_SPREAD);
- the 2.5-7.5 kHz band must correlate too, at that offset: re-encodings keep its waveform (measured
  >= 0.54 for Opus 64 kbps of a 4 s clip, >= 0.67 for 20 s, MP3/AAC higher), independent noise does
  not (<= 0.09 between loops of one tempo). A file with next to nothing in that band is judged
  without it.
Only pairs the vector store proposes are compared, so a library is decoded only where copies may be.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from desktop.core.decode import open_audio

RATE_IN, RATE = 16000, 4000  # open_audio delivers 16 kHz; the low band is compared at 4 kHz
EXCERPT_S = 20.0
MAX_SHIFT_S = 1.3
SAME_RECORDING = 0.9  # low band; measured: copies >= 0.987, different tracks of one family <= 0.742
HIGH_BAND = (2500.0, 7500.0)  # Hz
HIGH_S = 6.0  # seconds of the high band compared (the middle of the excerpt)
HIGH_SAME = 0.3  # high band at the low band's offset; measured: copies >= 0.54, one-tempo loops <= 0.09
HIGH_SLACK = 8  # samples at 16 kHz searched around the low band's offset (its step is 4)
HIGH_QUIET = 1e-4  # share of the excerpt's energy under which the high band is not compared
PARTS, PART_MIN_S, PART_SLACK = 4, 0.75, 40  # the excerpt's stretches whose offsets must agree
MAX_SPREAD = 3  # 4 kHz samples between the stretches' offsets; measured: copies 0-1


@dataclass
class Excerpt:
    low: np.ndarray  # unit-norm middle EXCERPT_S at 4 kHz
    high: np.ndarray | None  # unit-norm HIGH_S of the high band at 16 kHz (None: next to nothing there)
    high_start: int = 0  # where `high` starts in the excerpt (16 kHz samples)

    def __len__(self) -> int:
        return len(self.low)


def excerpt(path: str, duration: float = 0.0) -> Excerpt:
    """The parts of the file compared; raises DecodeError for a bad file."""
    import soxr

    with open_audio(path) as src:
        length = duration or src.duration or EXCERPT_S
        x = np.asarray(src.read(max(0.0, length / 2 - EXCERPT_S / 2), EXCERPT_S), np.float32)
    low = soxr.resample(x, RATE_IN, RATE).astype(np.float64)
    return Excerpt(_unit(low), *_high_band(x))


def _unit(x: np.ndarray) -> np.ndarray:
    x = x - (x.mean() if len(x) else 0.0)
    return x / (np.linalg.norm(x) or 1.0)


def _high_band(x: np.ndarray) -> tuple[np.ndarray | None, int]:
    """The high band of HIGH_S in the middle of a full excerpt (from the start of a shorter one: the
    start must not depend on a file's exact length, which differs between copies by the encoder's padding)."""
    n = int(HIGH_S * RATE_IN)
    start = int((EXCERPT_S - HIGH_S) / 2 * RATE_IN)
    start = start if len(x) >= start + n else 0
    mid = x[start : start + n].astype(np.float64)
    if not len(mid):
        return None, start
    spec = np.fft.rfft(mid)
    f = np.fft.rfftfreq(len(mid), 1.0 / RATE_IN)
    spec[(f < HIGH_BAND[0]) | (f > HIGH_BAND[1])] = 0.0
    band = np.fft.irfft(spec, len(mid))
    total = float(np.dot(mid, mid))
    if total <= 0 or float(np.dot(band, band)) < HIGH_QUIET * total:
        return None, start
    return band / np.linalg.norm(band), start


def _xcorr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Circular cross-correlation long enough to hold every linear lag: c[k] = sum a[n + k] b[n]."""
    n = 1 << (len(a) + len(b) - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(a, n) * np.conj(np.fft.rfft(b, n)), n)


def _peak(a: np.ndarray, b: np.ndarray, max_shift_s: float) -> tuple[float, int]:
    """(peak |correlation| within +-max_shift_s at 4 kHz, its lag in samples)."""
    if not len(a) or not len(b):
        return 0.0, 0
    lag = int(max_shift_s * RATE)
    c = _xcorr(a, b)
    window = np.concatenate([c[-lag:], c[: lag + 1]])
    i = int(np.argmax(np.abs(window)))
    return float(abs(window[i])), i - lag


def match(a: Excerpt, b: Excerpt, max_shift_s: float = MAX_SHIFT_S) -> float:
    """Peak |normalised cross-correlation| of the low bands within +-max_shift_s (1.0 = identical)."""
    return _peak(a.low, b.low, max_shift_s)[0]


def high_match(a: Excerpt, b: Excerpt, lag: int) -> float | None:
    """|Correlation| of the high bands around `lag` (4 kHz samples); None when either is next to silent."""
    if a.high is None or b.high is None:
        return None
    c = _xcorr(a.high, b.high)
    centre = lag * (RATE_IN // RATE) + b.high_start - a.high_start
    idx = np.arange(centre - HIGH_SLACK, centre + HIGH_SLACK + 1) % len(c)
    return float(np.max(np.abs(c[idx])))


def lag_spread(a: Excerpt, b: Excerpt, lag: int) -> int:
    """How far apart (4 kHz samples) the best offsets of PARTS stretches of `a` against `b` lie, each
    searched within +-PART_SLACK of `lag`: a copy keeps one offset throughout (0-1), another
    performance or a loop of a slightly different tempo drifts."""
    n = len(a.low)
    size = n // PARTS
    if size < int(PART_MIN_S * RATE):
        return 0  # too short to split: the low band alone decides
    lags = []
    for p in range(PARTS):
        part = np.zeros(n)
        part[p * size : (p + 1) * size] = a.low[p * size : (p + 1) * size]
        c = _xcorr(part, b.low)
        idx = np.arange(lag - PART_SLACK, lag + PART_SLACK + 1)
        lags.append(int(idx[np.argmax(np.abs(c[idx % len(c)]))]))
    return max(lags) - min(lags)


def compare(a: Excerpt, b: Excerpt) -> tuple[bool, float]:
    """(one recording?, the low-band score): the low bands match at one offset that holds through the
    excerpt and, where both have one, the high bands match at that offset too."""
    score, lag = _peak(a.low, b.low, MAX_SHIFT_S)
    if score < SAME_RECORDING or lag_spread(a, b, lag) > MAX_SPREAD:
        return False, score
    high = high_match(a, b, lag)
    return (high is None or high >= HIGH_SAME), score
