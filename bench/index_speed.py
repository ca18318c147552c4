"""Indexing speed: decode + embed throughput (x realtime, files/s) and peak memory per embedder.

    .venv/bin/python bench/index_speed.py [DIR] [--embedders spectral,wav2vec2] [--limit N]
                                          [--precisions fp32,bf16] [--model FOLDER] [--json OUT]

Without DIR it synthesises --files music-like tracks of 3-5 min (flac and ogg, 44.1 kHz stereo) into
bench/out/synth (kept for the next run). wav2vec2 runs a base-size model (`Wav2Vec2Config()` defaults:
94M parameters, random weights, the same compute as facebook/wav2vec2-base) unless --model names a
real folder. Each configuration runs in its own process so its peak RSS (ru_maxrss) is its own, and
it decodes in a thread that feeds a bounded queue, so decoding overlaps the model (the app does the same
with a decode process: see desktop/core/workers.py).

x realtime = seconds of audio indexed / wall seconds (model loading excluded, reported apart).
On a shared machine wall time depends on the load, so the load average is printed alongside, and
rt/cpu (audio seconds per CPU second of this process) too: with --threads 1 it is load-independent,
and (rt/cpu x cores x ~0.85 parallel efficiency) estimates the quiet-machine x realtime.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AUDIO_EXT = {".flac", ".ogg", ".mp3", ".wav", ".m4a", ".opus", ".aiff", ".aif", ".wma", ".aac"}


# -- test material ------------------------------------------------------------------------------
def synthesize(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """n music-like tracks of 3-5 min: chords of harmonic tones, a bass line, drums, a little noise."""
    import numpy as np
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    sr, out = 44100, []
    for i in range(n):
        path = folder / f"synth_{i:03d}.{'ogg' if i % 4 == 3 else 'flac'}"
        out.append(path)
        if path.exists():  # complete: files are renamed into place only once written
            continue
        rng = np.random.default_rng([seed, i])
        seconds = float(rng.uniform(180, 300))
        bpm, root = rng.uniform(70, 160), rng.uniform(45, 60)  # midi root note
        beat = 60.0 / bpm
        n_samples = int(seconds * sr)
        sig = np.zeros(n_samples, np.float32)
        t_bar = np.arange(int(4 * beat * sr)) / sr
        env = np.exp(-t_bar * rng.uniform(0.5, 3)).astype(np.float32)
        kick_t = np.arange(int(0.15 * sr)) / sr
        kick = (np.sin(2 * np.pi * (50 + 80 * np.exp(-kick_t * 30)) * kick_t) * np.exp(-kick_t * 25)).astype(np.float32)
        progression = rng.choice([0, 2, 4, 5, 7, 9], size=8)
        for b, start in enumerate(range(0, n_samples, len(t_bar))):
            seg = slice(start, min(start + len(t_bar), n_samples))
            m = seg.stop - seg.start
            note = root + progression[b % 8]
            for interval in (0, 4, 7, 12):
                f = 440.0 * 2 ** ((note + interval - 69) / 12)
                for h in range(1, 5):
                    sig[seg] += (0.05 / h) * np.sin(2 * np.pi * f * h * t_bar[:m]).astype(np.float32) * env[:m]
            fb = 440.0 * 2 ** ((note - 24 - 69) / 12)
            sig[seg] += 0.15 * np.sin(2 * np.pi * fb * t_bar[:m]).astype(np.float32)
        for k in range(int(seconds / beat)):
            a = int(k * beat * sr)
            m = min(len(kick), n_samples - a)
            sig[a:a + m] += 0.5 * kick[:m]
            h = a + int(beat * sr / 2)
            if h < n_samples:
                mh = min(int(0.05 * sr), n_samples - h)
                fade = np.linspace(1, 0, mh, dtype=np.float32)
                sig[h:h + mh] += 0.08 * rng.standard_normal(mh).astype(np.float32) * fade
        sig += 0.003 * rng.standard_normal(n_samples).astype(np.float32)
        sig /= max(1e-6, float(np.abs(sig).max())) / 0.8
        stereo = np.stack([sig, np.roll(sig, 30)], axis=1)
        # Written in 10 s blocks: libsndfile's Vorbis encoder crashes on one multi-minute write.
        part = path.with_name(path.name + ".part")
        with sf.SoundFile(part, "w", sr, 2, format="OGG" if path.suffix == ".ogg" else "FLAC",
                          subtype="VORBIS" if path.suffix == ".ogg" else "PCM_16") as f:
            for a in range(0, n_samples, 10 * sr):
                f.write(stereo[a:a + 10 * sr])
        part.rename(path)
    return out


def base_size_model(folder: Path) -> Path:
    """A wav2vec2-base-sized model with random weights (same compute as the real one)."""
    if (folder / "config.json").exists():
        return folder
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    torch.manual_seed(0)
    Wav2Vec2Model(Wav2Vec2Config()).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True).save_pretrained(folder)
    return folder


def peak_rss_bytes() -> int:
    """Peak RSS of this process. VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so a spawned
    worker would report its parent's peak at fork time (here: the parent that built the model)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


# -- one configuration, in its own process ------------------------------------------------------
def worker(name: str, options: dict, files: list[str], results, threads: int = 0) -> None:
    try:
        results.put(run_one(name, options, files, threads))
    except Exception as e:  # report, don't hang the parent
        results.put({"name": name, "options": options, "skipped": f"{type(e).__name__}: {e}"})


def run_one(name: str, options: dict, files: list[str], threads: int = 0) -> dict:
    from desktop.core.decode import ArraySource, open_audio
    from desktop.core.errors import DecodeError

    t0 = time.perf_counter()
    if name == "wav2vec2":
        from desktop.core.embedders.wav2vec2 import Wav2Vec2Embedder

        emb = Wav2Vec2Embedder(**options)
    else:
        from desktop.core.embedders import create

        emb = create(name, **options)
    load_s = time.perf_counter() - t0
    if threads:
        import torch

        torch.set_num_threads(threads)
    windowed = hasattr(emb, "read_windows")

    q: queue.Queue = queue.Queue(maxsize=3)
    stop = object()

    def decode() -> None:
        for path in files:
            try:
                with open_audio(path) as src:
                    data = emb.read_windows(src) if windowed else ArraySource(src.read_all(), path)
                    q.put((path, src.duration, data, None))
            except DecodeError as e:
                q.put((path, 0.0, None, str(e)))
        q.put(stop)

    audio_s, done, errors, dims = 0.0, 0, [], set()
    t1, c1 = time.perf_counter(), time.process_time()
    threading.Thread(target=decode, daemon=True, name="decode").start()
    while (item := q.get()) is not stop:
        path, duration, data, err = item
        if err:
            errors.append(err)
            continue
        vec = emb.embed_windows(data) if windowed else emb.embed(data)
        dims.add(len(vec))
        audio_s += duration
        done += 1
    wall, cpu = time.perf_counter() - t1, time.process_time() - c1
    info = {"name": name, "options": options, "label": emb.label, "key": emb.key, "files": done,
            "errors": errors, "audio_s": round(audio_s, 1), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "load_s": round(load_s, 2), "threads": threads or None,
            "x_realtime_per_cpu_s": round(audio_s / cpu, 1) if cpu else None,
            "x_realtime": round(audio_s / wall, 1) if wall else None,
            "files_per_s": round(done / wall, 3) if wall else None,
            "peak_rss_gb": round(peak_rss_bytes() / 1024**3, 2)}
    emb.close()
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", nargs="?", help="folder of audio files (default: synthesised tracks)")
    ap.add_argument("--embedders", default="spectral,wav2vec2")
    ap.add_argument("--limit", type=int, default=0, help="at most N files")
    ap.add_argument("--files", type=int, default=20, help="how many tracks to synthesise")
    ap.add_argument("--synth-dir", default=str(ROOT / "bench" / "out" / "synth"))
    ap.add_argument("--precisions", default="fp32,bf16", help="wav2vec2 precisions to measure")
    ap.add_argument("--model", help="wav2vec2 model folder or cached hub id (default: random base-size)")
    ap.add_argument("--windows", type=int)
    ap.add_argument("--window-seconds", type=float)
    ap.add_argument("--layer")
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--threads", type=int, default=0,
                    help="torch threads (default: all cores); 1 gives load-independent CPU seconds on a busy machine")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)

    if args.dir:
        files = sorted(str(p) for p in Path(args.dir).rglob("*") if p.suffix.lower() in AUDIO_EXT)
    else:
        t = time.perf_counter()
        files = [str(p) for p in synthesize(Path(args.synth_dir), args.files)]
        print(f"test tracks: {len(files)} in {args.synth_dir} ({time.perf_counter() - t:.1f} s to prepare)")
    if args.limit:
        files = files[: args.limit]
    if not files:
        print("no audio files found", file=sys.stderr)
        return 2

    tmp = tempfile.TemporaryDirectory(prefix="soundalike-bench-")
    runs: list[tuple[str, dict]] = []
    for name in [n.strip() for n in args.embedders.split(",") if n.strip()]:
        if name != "wav2vec2":
            runs.append((name, {}))
            continue
        opts = {"device": "cpu"}
        for k in ("windows", "window_seconds", "layer", "batch_size"):
            if getattr(args, k) is not None:
                opts[k] = getattr(args, k)
        if not args.model:  # built in a child: the parent stays small (and torch-free)
            folder = Path(tmp.name) / "wav2vec2-base-random"
            maker = mp.get_context("spawn").Process(target=base_size_model, args=(folder,))
            maker.start()
            maker.join()
        model = args.model or str(folder)
        for p in [p.strip() for p in args.precisions.split(",") if p.strip()]:
            runs.append(("wav2vec2", {**opts, "model": model, "precision": p}))

    ctx = mp.get_context("spawn")
    results = []
    print(f"{'embedder':<34} {'files':>5} {'audio':>8} {'wall':>7} {'x rt':>6} {'files/s':>7} "
          f"{'cpu s':>7} {'rt/cpu':>6} {'load':>5} {'RSS GB':>6}  load avg")
    for name, opts in runs:
        q = ctx.Queue()
        before = os.getloadavg()[0]
        p = ctx.Process(target=worker, args=(name, opts, files, q, args.threads))
        p.start()
        r = q.get()
        p.join()
        r["loadavg"] = [round(before, 1), round(os.getloadavg()[0], 1)]
        results.append(r)
        title = r.get("label", name)
        if opts.get("precision") == "fp32":
            title += " fp32"
        if "skipped" in r:
            print(f"{title:<34} skipped: {r['skipped']}")
            continue
        print(f"{title:<34} {r['files']:>5} {r['audio_s']:>7.0f}s {r['wall_s']:>6.1f}s {r['x_realtime']:>6.1f} "
              f"{r['files_per_s']:>7.3f} {r['cpu_s']:>7.1f} {r['x_realtime_per_cpu_s']:>6.1f} {r['load_s']:>5.1f} "
              f"{r['peak_rss_gb']:>6.2f}  "
              f"{r['loadavg'][0]}->{r['loadavg'][1]}" + (f"  ({len(r['errors'])} errors)" if r["errors"] else ""))
    tmp.cleanup()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
