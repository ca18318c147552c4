"""Model embedders on the CPU: x realtime and peak RSS for base-size Wav2Vec2, HuBERT, AST and CLAP-audio,
and download throughput from a model hub on 127.0.0.1.

    .venv/bin/python bench/models.py [--families wav2vec2,hubert,ast,clap] [--tracks 3] [--threads 2]
                                     [--download] [--json OUT]

Random weights at the real base-size shapes (`Wav2Vec2Config()`, `HubertConfig()`, `ASTConfig()`, CLAP's
default HTSAT audio tower) have the same compute as the pretrained checkpoints. Each family runs in its
own process (so ru_maxrss is its own) with torch limited to --threads, the app's default windows
(6 x 10 s), on --tracks synthetic 3-minute tracks decoded from 44.1 kHz flac. x realtime = seconds of
audio / wall seconds, model loading excluded. The load average is printed beside each figure: on a
shared machine wall time depends on it, so rt/cpu (audio seconds per CPU second) is printed too.

--download serves the base-size wav2vec2 folder (~380 MB) from tests/hub.py's local hub over HTTP and
pulls it with `desktop.core.models.pull` (checksums and the load check included) into a fresh cache.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def build_base(family: str, folder: Path) -> Path:
    """A base-size random model of `family` saved to `folder` (kept for the next run)."""
    if (folder / "config.json").exists():
        return folder
    import torch
    import transformers as tr

    tr.utils.logging.set_verbosity_error()
    torch.manual_seed(0)
    tmp = folder.with_name(folder.name + ".tmp")
    if family == "wav2vec2":
        tr.Wav2Vec2Model(tr.Wav2Vec2Config()).save_pretrained(tmp)
        tr.Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True).save_pretrained(tmp)
    elif family == "hubert":
        tr.HubertModel(tr.HubertConfig()).save_pretrained(tmp)
        tr.Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True).save_pretrained(tmp)
    elif family == "ast":
        tr.ASTModel(tr.ASTConfig()).save_pretrained(tmp)
        tr.ASTFeatureExtractor().save_pretrained(tmp)
    elif family == "clap":  # the default (HTSAT, unfused) audio tower; a tiny text tower (not measured)
        from tests.tiny_models import HIDDEN, _build_clap

        _build_clap(tr, tmp, dict(hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=64), audio_config=tr.ClapAudioConfig(enable_fusion=False))
    else:
        raise SystemExit(f"unknown family {family}")
    os.replace(tmp, folder)
    return folder


def synth_tracks(folder: Path, n: int) -> list[Path]:
    import numpy as np
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        path = folder / f"track{i}.flac"
        if not path.exists():
            sr, seconds = 44100, 180
            t = np.arange(sr * seconds) / sr
            rng = np.random.default_rng(i)
            x = sum(0.1 * np.sin(2 * np.pi * f * t) for f in rng.uniform(80, 2000, 6))
            x = x * (0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t)) + 0.01 * rng.standard_normal(len(t))
            sf.write(path, np.stack([x, x], 1).astype(np.float32), sr)
        out.append(path)
    return out


def run_family(family: str, folder: str, tracks: list[str], threads: int, q) -> None:
    import torch

    torch.set_num_threads(threads)
    os.environ["HF_HUB_OFFLINE"] = "1"
    from desktop.core.decode import open_audio
    from desktop.core.embedders import create

    t0 = time.monotonic()
    emb = create("wav2vec2", model=folder, device="cpu", precision="fp32")
    emb.batch_size = 1
    load_s = time.monotonic() - t0
    audio_s, wall, cpu0 = 0.0, time.monotonic(), time.process_time()
    for path in tracks:
        with open_audio(path) as src:
            emb.embed_parts(src)
            audio_s += src.duration
    wall = time.monotonic() - wall
    cpu = time.process_time() - cpu0
    q.put({"family": family, "model_type": getattr(emb, "model_type", family), "dim": emb.dim,
           "sampling_rate": emb.sampling_rate, "load_s": round(load_s, 1), "x_realtime": round(audio_s / wall, 1),
           "rt_per_cpu_s": round(audio_s / cpu, 1), "peak_rss_gb": round(resource.getrusage(
               resource.RUSAGE_SELF).ru_maxrss / 1e6, 2), "load_avg": round(os.getloadavg()[0], 1),
           "params_m": round(sum(p.numel() for p in emb._model.parameters()) / 1e6, 1)})


def download(folder: Path) -> dict:
    from desktop.core import models
    from tests.hub import LocalHub

    hub = LocalHub().start()
    hub.add_folder("bench/wav2vec2-base-random", folder)
    with tempfile.TemporaryDirectory() as cache:
        os.environ.update(HF_ENDPOINT=hub.url, HF_HUB_CACHE=cache)
        os.environ.pop("HF_HUB_OFFLINE", None)
        t0 = time.monotonic()
        done = list(models.pull("bench/wav2vec2-base-random"))[-1]
        total = time.monotonic() - t0
    hub.stop()
    return {"bytes": done.downloaded, "download_s": round(done.seconds, 2),
            "mb_per_s": round(done.downloaded / done.seconds / 1e6, 1), "with_load_check_s": round(total, 1),
            "load_avg": round(os.getloadavg()[0], 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--families", default="wav2vec2,hubert,ast,clap")
    ap.add_argument("--tracks", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--download", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    out_dir = ROOT / "bench" / "out"
    tracks = [str(p) for p in synth_tracks(out_dir / "models-tracks", args.tracks)]
    results = []
    ctx = mp.get_context("spawn")
    for family in args.families.split(","):
        folder = build_base(family, out_dir / f"base-{family}")
        q = ctx.Queue()
        p = ctx.Process(target=run_family, args=(family, str(folder), tracks, args.threads, q))
        p.start()
        r = q.get()
        p.join()
        print(json.dumps(r), flush=True)
        results.append(r)
    if args.download:
        r = download(build_base("wav2vec2", out_dir / "base-wav2vec2"))
        print(json.dumps({"download": r}), flush=True)
        results.append({"download": r})
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
