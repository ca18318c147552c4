"""What decoding a model's input in a child process costs against the old decode thread.

The indexer feeds model embedders (wav2vec2, the audio-encoder family) from a decode *process* that stays two
files ahead, so a decoder's native crash costs one file (desktop/core/workers.py). This measures the same files
both ways with the same model in this process: the child (`indexer._results_in_process`, the app's path) and
a decode thread feeding a queue of two (the path before). A small random wav2vec2 (`--hidden`, `--layers`)
keeps the model cheap, so the decoding and its transfer weigh as much as they ever will.

    .venv/bin/python bench/decode_child.py [--files 12] [--seconds 60] [--hidden 256] [--layers 4]
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from desktop.core.analysis import decode_windows, embed_decoded  # noqa: E402
from desktop.core.embedders import create  # noqa: E402
from desktop.core.indexer import _results_in_process  # noqa: E402
from tests import audio  # noqa: E402


def build_model(folder: Path, hidden: int, layers: int) -> Path:
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    cfg = Wav2Vec2Config(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4,
                         intermediate_size=hidden * 4, conv_dim=(hidden,) * 7)
    torch.manual_seed(0)
    Wav2Vec2Model(cfg).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True).save_pretrained(folder)
    return folder


def in_thread(emb, jobs):
    """The previous path: a thread decodes the next files into a queue of two while the model works."""
    decoded: queue.Queue = queue.Queue(maxsize=2)

    def decode():
        for tid, path in jobs:
            decoded.put((tid, path, decode_windows(emb.window_reader(), path)))
        decoded.put(None)

    threading.Thread(target=decode, daemon=True).start()
    while (item := decoded.get()) is not None:
        yield item[0], item[1], embed_decoded(emb, item[2])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sa-decode-child-") as tmp:
        tmp = Path(tmp)
        jobs = [(i, str(audio.write(tmp / f"t{i:02d}.flac", audio.render(["drums", "pad", "plucked"][i % 3],
                                                                        args.seconds, seed=i))))
                for i in range(args.files)]
        model = build_model(tmp / "model", args.hidden, args.layers)
        emb = create("wav2vec2", model=str(model), device="cpu")
        audio_s = args.seconds * args.files
        print(f"{args.files} files of {args.seconds:.0f} s, wav2vec2 hidden {args.hidden} x {args.layers} layers, "
              f"{emb.windows} x {emb.window_seconds:g} s windows, load {os.getloadavg()[0]:.1f}")
        print("| decoding in | wall | x realtime | same vectors |")
        print("|---|---|---|---|")
        results = {}
        for name, run in (("a thread (before)", lambda: in_thread(emb, jobs)),
                          ("a child process (now)", lambda: _results_in_process(emb, jobs, threading.Event())),
                          ("a thread (before), again", lambda: in_thread(emb, jobs)),
                          ("a child process (now), again", lambda: _results_in_process(emb, jobs, threading.Event()))):
            started = time.monotonic()
            got = {tid: a.raw for tid, _, a in run()}
            wall = time.monotonic() - started
            same = all((got[t] == results[t]).all() for t in got) if results else True
            results = results or got
            print(f"| {name} | {wall:.1f} s | {audio_s / wall:.1f}x | {'yes' if same else 'NO'} |")
        emb.close()


if __name__ == "__main__":
    main()
