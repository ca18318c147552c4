"""The windows a passage index is made of: 4 s of audio every 2 s, one raw vector each.

Why 4 s / 2 s: a window must be long enough for the embedder's texture and modulation statistics
(1 s patches) to say something, and the hop sets how precisely a hit is placed (a hit's start is
within one hop of the truth) and how many vectors an hour of audio costs (1800). 50 % overlap means a
passage of any alignment is covered by a window that holds at least 3 s of it.

The vectors are the active embedder's raw vectors, in the same space as its track vectors, so the
library's standardisation and within-track whitening apply to them unchanged. Spectral windows are
cheap: every 2 s block is analysed once and a window merges the sums of two blocks (its features are
additive, see `desktop.core.embedders.spectral`). Other embedders (models) embed each window alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from desktop.core.decode import TARGET_SR, AudioSource

WINDOW_SECONDS = 4.0
HOP_SECONDS = 2.0
SPAN = int(round(WINDOW_SECONDS / HOP_SECONDS))  # blocks per window
LEVEL_SECONDS = 1.0  # one value of a track's outline (mini-waveform) a second: 240 values for 4 minutes
# A last block shorter than this joins the window before it instead of making its own.
MIN_TAIL_SECONDS = 1.0
# Whole-track parts for late interaction (spectral only): 16 blocks, 32 s. 16 s parts (the excerpts' length)
# ranked the same (bench/part_coverage.py: b8 and b16, within noise on every protocol) at twice the parts to
# compare per candidate and to keep.
PART_BLOCKS = 16


def fixed_blocks(blocks: Iterable[np.ndarray], seconds: float = HOP_SECONDS) -> Iterator[np.ndarray]:
    """Re-cut a stream of 16 kHz blocks of any size into blocks of exactly `seconds` (the last may be short),
    so window starts are exact multiples of the hop whatever the decoder hands out."""
    size = int(round(seconds * TARGET_SR))
    pending: list[np.ndarray] = []
    held = 0
    for b in blocks:
        b = np.asarray(b, np.float32).reshape(-1)
        pending.append(b)
        held += len(b)
        if held < size:
            continue
        buf = np.concatenate(pending)
        cut = len(buf) // size * size
        for i in range(0, cut, size):
            yield buf[i : i + size]
        pending, held = [buf[cut:]], len(buf) - cut
    if held:
        yield np.concatenate(pending)


def window_groups(n_blocks: int, last_len: float) -> list[tuple[int, int]]:
    """(first block, end block) of each window over `n_blocks` blocks whose last one lasts `last_len` s."""
    if n_blocks == 0:
        return []
    if n_blocks <= SPAN:
        return [(0, n_blocks)]
    groups = [(i, i + SPAN) for i in range(n_blocks - SPAN + 1)]
    if last_len < MIN_TAIL_SECONDS:  # the tail joins the last window instead of leaving a near-empty one
        groups = groups[:-1]
        groups[-1] = (groups[-1][0], n_blocks)
    return groups


def embed_windows(embedder, blocks: Iterable[np.ndarray], parts: list[np.ndarray] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, raw vectors (n x dim)) of the windows of a 16 kHz signal given as blocks. For spectral,
    `parts` (a list) also receives the signal's whole-track parts (see `whole_track_parts`).

    Memory stays bounded for spectral (only per-block sums are kept); other embedders hold one window.
    """
    if getattr(embedder, "name", "") == "spectral":
        return _spectral_windows(blocks, parts)
    return _model_windows(embedder, blocks)


def embed_source(embedder, source: AudioSource, start: float = 0.0, seconds: float | None = None,
                 levels: list[float] | None = None, parts: list[np.ndarray] | None = None):
    """The windows of a whole track, or of the stretch `start`..`start + seconds` (a selection). For a whole
    track, `levels` (a list) receives its loudness outline on the way (`LEVEL_SECONDS` a value), and `parts`
    its whole-track parts (spectral only)."""
    if seconds is None:
        blocks: Iterable[np.ndarray] = source.blocks(10.0)
        if levels is not None:
            blocks = _levels_tap(blocks, levels)
        starts, ends, raws = embed_windows(embedder, blocks, parts)
    else:
        starts, ends, raws = embed_windows(embedder, [source.read(start, seconds)])
    return starts + start, ends + start, raws


def _levels_tap(blocks: Iterable[np.ndarray], levels: list[float]) -> Iterator[np.ndarray]:
    """Pass the blocks on, appending each `LEVEL_SECONDS` stretch's RMS level to `levels`: a track's outline for
    the mini-waveform of a passage hit, got for free while the pass reads the whole track anyway. RMS rather
    than peak: compressed music peaks near full scale everywhere, its loudness still rises and falls."""
    for block in fixed_blocks(blocks, LEVEL_SECONDS):
        levels.append(float(np.sqrt(np.mean(np.square(block, dtype=np.float64)))) if len(block) else 0.0)
        yield block


def _bounds(groups: list[tuple[int, int]], lengths: list[float]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.concatenate([[0.0], np.cumsum(lengths)])
    return (np.array([offsets[a] for a, _ in groups], np.float64),
            np.array([offsets[b] for _, b in groups], np.float64))


def _spectral_windows(blocks: Iterable[np.ndarray], parts: list[np.ndarray] | None = None):
    # Spectral's features are running sums: a window is the merge of its blocks' sums.
    accs, lengths = block_sums(blocks)
    groups = window_groups(len(accs), lengths[-1] if lengths else 0.0)
    vectors = [_merged_vector(accs[a:b]) for a, b in groups]
    if parts is not None:
        parts.extend(whole_track_parts(accs))
    starts, ends = _bounds(groups, lengths)
    return starts, ends, _matrix(vectors, 0)


def block_sums(blocks: Iterable[np.ndarray]) -> tuple[list, list[float]]:
    """The spectral feature sums of each `HOP_SECONDS` block of a 16 kHz signal, and each block's length (s)."""
    from desktop.core.embedders.spectral import FeatureSums  # lazy: out of the window's start-up

    accs, lengths = [], []
    for block in fixed_blocks(blocks):
        acc = FeatureSums()
        acc.add(block)
        accs.append(acc)
        lengths.append(len(block) / TARGET_SR)
    return accs, lengths


def whole_track_parts(accs: list, blocks_per_part: int = PART_BLOCKS) -> list[np.ndarray]:
    """Whole-track parts for late interaction: the blocks' sums merged `blocks_per_part` at a time (a tail of
    fewer than half as many joins the part before it).

    Why: the first pass reads 6 excerpts, so late interaction compared 90 s of each track; this pass reads the
    whole track anyway, and merging its block sums costs no decoding. Parts cut from the whole track ranked
    better on every protocol (bench/part_coverage.py); merged 2 s blocks hold no repetition measure (it needs
    ~14 s of continuous frames), `late_interaction.with_track_repetition` gives them the track's."""
    groups = [accs[i : i + blocks_per_part] for i in range(0, len(accs), blocks_per_part)]
    if len(groups) > 1 and len(groups[-1]) < blocks_per_part // 2:
        groups[-2:] = [groups[-2] + groups[-1]]
    return [_merged_vector(group) for group in groups]


def _merged_vector(accs: list) -> np.ndarray:
    """The raw vector of consecutive blocks: their sums merged (spectral's features are additive)."""
    from desktop.core.embedders.spectral import FeatureSums, finished_vector  # lazy: out of the window's start-up

    merged = FeatureSums()
    for acc in accs:
        merged.merge(acc)
    return finished_vector(merged)


def _model_windows(embedder, blocks: Iterable[np.ndarray]):
    """Any other embedder: each window's samples embedded on their own (a model sees 4 s at a time).
    Only the last SPAN + 1 blocks are held: window (k-1-SPAN, k-1) is final once block k exists."""
    held: dict[int, np.ndarray] = {}
    vectors, lengths, groups = [], [], []

    def emit(a: int, b: int) -> None:
        x = np.concatenate([held[i] for i in range(a, b)])
        raw = embedder.embed_windows([x]) if hasattr(embedder, "embed_windows") else embedder.embed_array(x)
        vectors.append(np.asarray(raw, np.float32))
        groups.append((a, b))

    for k, block in enumerate(fixed_blocks(blocks)):
        held[k] = block
        lengths.append(len(block) / TARGET_SR)
        if k - 1 - SPAN >= 0:
            emit(k - 1 - SPAN, k - 1)
        held.pop(k - 1 - SPAN, None)
    for a, b in window_groups(len(lengths), lengths[-1] if lengths else 0.0)[len(groups):]:
        emit(a, b)
    starts, ends = _bounds(groups, lengths)
    return starts, ends, _matrix(vectors, getattr(embedder, "dim", 0))


def _matrix(vectors: list[np.ndarray], dim: int) -> np.ndarray:
    if not vectors:
        return np.zeros((0, dim), np.float32)
    return np.nan_to_num(np.stack(vectors).astype(np.float32))
