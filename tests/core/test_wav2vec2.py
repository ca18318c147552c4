"""wav2vec2 embedder on a tiny random model saved to a temp folder (real transformers, no mocks, offline)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from desktop.core.decode import ArraySource  # noqa: E402
from desktop.core.device import DeviceError  # noqa: E402
from desktop.core.embedders.wav2vec2 import Wav2Vec2Embedder, plan_windows  # noqa: E402
from desktop.core.errors import ModelUnavailable  # noqa: E402
from tests.tiny_model import TINY_HIDDEN, TINY_LAYERS, build_tiny_model  # noqa: E402

SR = 16000
FAST = dict(windows=2, window_seconds=1.0, precision="fp32")  # tests don't need 80 s of audio per track


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-w2v")


@pytest.fixture(scope="module")
def emb(tiny):
    e = Wav2Vec2Embedder(str(tiny), device="cpu", layer=2, **FAST)
    yield e
    e.close()


def music(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    tone = np.sin(2 * np.pi * rng.uniform(100, 800) * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))
    return (0.3 * tone + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


class RecordingSource(ArraySource):
    def __init__(self, samples):
        super().__init__(samples)
        self.reads: list[tuple[float, float]] = []

    def read(self, start, seconds):
        self.reads.append((start, seconds))
        return super().read(start, seconds)


def run_py(code: str, env: dict, timeout: float = 60) -> dict:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def clean_env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE", "TRANSFORMERS"))}
    env["HF_HOME"] = str(tmp_path / "hf-home")  # an empty cache: nothing is downloaded here
    env["PYTHONPATH"] = str(ROOT)
    return env


# -- window planning ---------------------------------------------------------------------------
def test_windows_spread_over_the_whole_track():
    starts = plan_windows(300.0, 8, 10.0)
    assert len(starts) == 8 and starts[0] == 0.0
    assert starts[-1] + 10.0 == pytest.approx(300.0)
    steps = np.diff(starts)
    assert np.allclose(steps, steps[0]) and steps[0] > 10.0


@pytest.mark.parametrize("duration, expected", [
    (5.0, [0.0]),            # shorter than one window: the whole clip
    (10.0, [0.0]),           # exactly one window
    (15.0, [2.5]),           # room for one window only: centred
    (25.0, [0.0, 15.0]),     # shorter than K*W: fewer windows, first at 0, last at the end
    (80.0, [10.0 * i for i in range(8)]),  # exactly K*W: back to back
    (0.0, [0.0]),            # unknown length: read from the start
    (float("nan"), [0.0]),
])
def test_windows_on_short_tracks(duration, expected):
    starts = plan_windows(duration, 8, 10.0)
    assert starts == pytest.approx(expected)
    assert all(b - a >= 10.0 - 1e-9 for a, b in zip(starts, starts[1:]))  # never overlapping


def test_embedder_reads_the_planned_windows(emb):
    src = RecordingSource(music(30.0))
    emb.embed(src)
    assert [s for s, _ in src.reads] == pytest.approx(plan_windows(30.0, 2, 1.0)) == [0.0, 29.0]
    assert {w for _, w in src.reads} == {1.0}
    short = RecordingSource(music(0.5))
    emb.embed(short)
    assert short.reads == [(0.0, 1.0)]


# -- vectors -----------------------------------------------------------------------------------
def test_vector_is_finite_sized_and_deterministic(tiny, emb):
    x = music(12.0)
    v = emb.embed(ArraySource(x))
    assert v.dtype == np.float32 and v.shape == (TINY_HIDDEN,) == (emb.dim,)
    assert np.isfinite(v).all() and np.linalg.norm(v) > 0
    assert np.array_equal(v, emb.embed(ArraySource(x)))
    again = Wav2Vec2Embedder(str(tiny), device="cpu", layer=2, **FAST)  # a fresh load gives the same vector
    assert np.allclose(again.embed(ArraySource(x)), v, atol=1e-6)
    assert not np.allclose(emb.embed(ArraySource(music(12.0, seed=5))), v)


def test_layers_give_different_vectors_and_keys(tiny, emb):
    x = music(8.0)
    other = Wav2Vec2Embedder(str(tiny), device="cpu", layer=1, **FAST)
    span = Wav2Vec2Embedder(str(tiny), device="cpu", layer="1-3", **FAST)
    v1, v2, v13 = other.embed(ArraySource(x)), emb.embed(ArraySource(x)), span.embed(ArraySource(x))
    assert not np.allclose(v1, v2, atol=1e-3) and not np.allclose(v13, v2, atol=1e-3)
    # The key names everything that changes the vectors: model + revision, layers, windows, precision.
    assert emb.key == f"wav2vec2-tiny-w2v_r{emb.revision}-L2-w2x1-fp32-v2-{TINY_HIDDEN}"
    assert "-L1-w2x1-" in other.key and "-L1-3-w2x1-" in span.key
    assert len({emb.key, other.key, span.key}) == 3
    default = Wav2Vec2Embedder(str(tiny), device="cpu", **FAST)
    assert default.layers == (TINY_LAYERS // 2,) * 2  # the middle layer unless told


def test_layer_out_of_range_is_a_clear_error(tiny):
    with pytest.raises(ValueError, match=rf"has {TINY_LAYERS} transformer layers"):
        Wav2Vec2Embedder(str(tiny), device="cpu", layer=TINY_LAYERS + 1)
    with pytest.raises(ValueError, match="invalid layer"):
        Wav2Vec2Embedder(str(tiny), device="cpu", layer="deep")


@pytest.mark.parametrize("signal", ["zeros", "dc", "empty", "blip"])
def test_silence_and_degenerate_input_give_a_finite_nonzero_vector(emb, signal):
    x = {"zeros": np.zeros(20 * SR), "dc": np.full(20 * SR, 0.25), "empty": np.zeros(0),
         "blip": np.ones(50)}[signal].astype(np.float32)
    v = emb.embed(ArraySource(x))
    assert v.shape == (TINY_HIDDEN,) and np.isfinite(v).all() and np.linalg.norm(v) > 1e-3


def test_silent_tracks_match_each_other(emb):
    a, b = emb.embed(ArraySource(np.zeros(30 * SR, np.float32))), emb.embed(ArraySource(np.zeros(60 * SR, np.float32)))
    assert np.allclose(a, b)


def test_padding_is_masked_out_of_the_mean(tmp_path):
    # The layer-norm ("large-lv60") variant takes an attention mask: a short window batched with a long
    # one must give the same vector as when each window runs alone.
    folder = build_tiny_model(tmp_path / "tiny-stable", stable_layer_norm=True)
    wins = [music(2.0, seed=1), music(0.7, seed=2)]
    one = Wav2Vec2Embedder(str(folder), device="cpu", layer=2, batch_size=1, **FAST).embed_windows(wins)
    two = Wav2Vec2Embedder(str(folder), device="cpu", layer=2, batch_size=2, **FAST).embed_windows(wins)
    assert np.allclose(one, two, atol=1e-4)


def test_bf16_option_is_close_to_fp32(tiny, emb):
    x = music(6.0)
    bf16 = Wav2Vec2Embedder(str(tiny), device="cpu", layer=2, **{**FAST, "precision": "bf16"})
    assert bf16.precision == "bf16" and "bf16" in bf16.label
    a, b = emb.embed(ArraySource(x)), bf16.embed(ArraySource(x))
    assert b.dtype == np.float32 and np.isfinite(b).all()
    assert float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)) > 0.98


# -- devices -----------------------------------------------------------------------------------
def test_device_auto_and_cpu(tiny):
    import torch

    auto = Wav2Vec2Embedder(str(tiny), device="auto", **FAST)
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert auto.device == "cpu" and "· CPU" in auto.label
    cpu = Wav2Vec2Embedder(str(tiny), device="cpu", **FAST)
    assert cpu.device == "cpu" and cpu.label == "tiny-w2v · CPU" and cpu.precision == "fp32"
    assert torch.get_num_threads() >= 1


def test_invalid_device_is_a_clear_error(tiny):
    import torch

    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        Wav2Vec2Embedder(str(tiny), device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            Wav2Vec2Embedder(str(tiny), device="cuda")
    with pytest.raises(DeviceError, match="fp16"):
        Wav2Vec2Embedder(str(tiny), device="cpu", precision="fp16")


def test_close_frees_the_model(tiny):
    e = Wav2Vec2Embedder(str(tiny), device="cpu", **FAST)
    e.close()
    e.close()  # twice is fine
    assert e._model is None
    with pytest.raises(RuntimeError, match="closed"):
        e.embed(ArraySource(music(1.0)))


# -- unavailable models fail fast, never touching the network ------------------------------------
def test_missing_folder_is_model_unavailable_fast(tmp_path):
    with pytest.raises(ModelUnavailable, match="does not exist"):  # how fast: bench/timeouts.py
        Wav2Vec2Embedder(str(tmp_path / "no-such-model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailable, match="no config.json"):
        Wav2Vec2Embedder(str(tmp_path / "empty"))


def test_uncached_hub_id_is_model_unavailable_fast(tmp_path):
    # A fresh interpreter without HF_HUB_OFFLINE and an empty cache: the 23-46 s retry loop must not run.
    code = """if True:
        import json, sys, time
        from desktop.core.embedders.wav2vec2 import Wav2Vec2Embedder
        from desktop.core.errors import ModelUnavailable
        t = time.perf_counter()
        try:
            Wav2Vec2Embedder("facebook/wav2vec2-base")
            msg = None
        except ModelUnavailable as e:
            msg = str(e)
        print(json.dumps({"s": time.perf_counter() - t, "msg": msg, "transformers": "transformers" in sys.modules}))
    """
    r = run_py(code, clean_env(tmp_path))
    assert r["msg"] and "facebook/wav2vec2-base" in r["msg"] and "soundalike model pull" in r["msg"]
    assert not r["transformers"]  # refused from the cache index, before transformers is even imported


def test_cached_hub_id_loads_offline(tmp_path):
    # A hub id whose files are in a local hub cache loads (local_files_only), with the id in the key.
    repo = tmp_path / "hub" / "models--someone--tiny-w2v"
    build_tiny_model(repo / "snapshots" / ("0" * 40))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    e = Wav2Vec2Embedder("someone/tiny-w2v", cache_dir=str(tmp_path / "hub"), **FAST)
    assert e.key == f"wav2vec2-someone-tiny-w2v_r00000000-L1-w2x1-fp32-v2-{TINY_HIDDEN}" and e.label == "tiny-w2v · CPU"
    assert np.isfinite(e.embed(ArraySource(music(3.0)))).all()
    with pytest.raises(ModelUnavailable, match="someone/other"):
        Wav2Vec2Embedder("someone/other", cache_dir=str(tmp_path / "hub"))


def test_importing_the_module_does_not_import_torch(tmp_path):
    code = """if True:
        import json, sys
        import desktop.core.embedders.wav2vec2, desktop.core.device
        print(json.dumps({m: m in sys.modules for m in ("torch", "transformers", "huggingface_hub")}))
    """
    assert run_py(code, clean_env(tmp_path)) == {"torch": False, "transformers": False, "huggingface_hub": False}


# -- indexing: the next files decode while the model works --------------------------------------
def test_decode_ahead_gives_the_same_results_and_survives_bad_files(emb, tmp_path):
    import threading

    from desktop.core.analysis import analyze_file
    from desktop.core.indexer import _results_in_process
    from tests import audio

    paths = [audio.write(tmp_path / f"t{i}.flac", audio.render("plucked", 3.0, seed=i)) for i in range(4)]
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"ID3" + b"\0" * 64)
    jobs = [(1, str(paths[0])), (2, str(broken)), (3, str(paths[1])), (4, str(paths[2])), (5, str(paths[3]))]
    results = list(_results_in_process(emb, jobs, threading.Event()))
    assert [tid for tid, _, _ in results] == [1, 2, 3, 4, 5]  # in order
    bad = results[1][2]
    assert bad.raw is None and bad.error == analyze_file(emb, str(broken)).error != ""
    for (_tid, path, got) in results[:1] + results[2:]:
        alone = analyze_file(emb, path)
        assert got.error == "" and np.array_equal(got.raw, alone.raw) and got.seconds == pytest.approx(alone.seconds)
    # cancelled after the first track: it stops there and the decode thread ends
    cancel = threading.Event()
    before = threading.active_count()
    first = []
    for tid, _, _ in _results_in_process(emb, jobs, cancel):
        first.append(tid)
        cancel.set()
    assert first == [1] and threading.active_count() == before
