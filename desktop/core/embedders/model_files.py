"""Finding a transformers model on this computer without touching the network, and importing torch.

Shared by every model embedder (wav2vec2.py, audio_encoder.py): a folder is checked with `os.path`,
a hub id against the local Hugging Face cache (before transformers is even imported), and
`HF_HUB_OFFLINE=1` is set before the first HF import unless the user set it, so missing weights raise
`ModelUnavailable` in well under a second. torch and transformers stay lazy: `import_torch` imports
them when a model is built, never at import time.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys

from desktop.core.errors import ModelUnavailable
from desktop.core.model_cache import HUB_ID, hub_cache_dir

WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


def parse_layers(layer) -> tuple[int, int] | None:
    """None (middle layer) | 6 | "6" | "4-8" | (4, 8) -> (first, last) inclusive, or None."""
    if layer is None or (isinstance(layer, str) and layer.strip().lower() in ("", "auto", "middle")):
        return None
    try:
        if isinstance(layer, str):
            parts = [int(p) for p in layer.replace(":", "-").split("-")]
        elif isinstance(layer, (tuple, list)):
            parts = [int(p) for p in layer]
        else:
            parts = [int(layer)]
    except (TypeError, ValueError):
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or parts[0] < 0 or parts[1] < parts[0]:
        raise ValueError(f"invalid layer {layer!r}: use a layer number like 6 or a range like '4-8'")
    return parts[0], parts[1]


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9.]+", "-", str(text).lower()).strip("-.")
    return s[:60] or "model"


def offline_env() -> None:
    """Make huggingface_hub/transformers offline before they are first imported (they read it once).
    SOUNDALIKE_SET_HF_OFFLINE tells `models.pull` that the flag is ours, not the user's, to lift."""
    fresh = "huggingface_hub" not in sys.modules and "transformers" not in sys.modules
    if fresh and "HF_HUB_OFFLINE" not in os.environ:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["SOUNDALIKE_SET_HF_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def locate_model(model: str, cache_dir: str | None = None) -> tuple[str, str, bool]:
    """(what to pass to from_pretrained, short name, is a folder); ModelUnavailable fast when not here."""
    m = os.path.expanduser(str(model).strip())
    if os.path.isdir(m):
        if not os.path.isfile(os.path.join(m, "config.json")):
            raise ModelUnavailable(f"{m}: not a wav2vec2 model folder (no config.json in it)")
        if not any(os.path.isfile(os.path.join(m, w)) for w in WEIGHTS):
            raise ModelUnavailable(f"{m}: the model folder has no weights (model.safetensors or pytorch_model.bin)")
        return os.path.abspath(m), os.path.basename(os.path.normpath(os.path.abspath(m))), True
    if not HUB_ID.match(m) or m.startswith("."):
        raise ModelUnavailable(f"wav2vec2 model folder {m} does not exist")
    offline_env()
    cache = cache_dir or str(hub_cache_dir())
    try:
        from huggingface_hub import try_to_load_from_cache

        def cached(f: str) -> bool:
            return isinstance(try_to_load_from_cache(m, f, cache_dir=cache), str)

        ok = cached("config.json") and any(cached(w) for w in WEIGHTS)
    except ImportError:
        ok = False
    except Exception as e:  # an id the hub library refuses, an unreadable cache...
        raise ModelUnavailable(f"model {m!r} is not available offline ({e})") from e
    if not ok:
        raise ModelUnavailable(f"model {m!r} is not downloaded yet (looked in {cache}): run "
                               f"`soundalike model pull {m}` to get it, or choose a folder holding the model files")
    return m, m.rsplit("/", 1)[-1], False


def read_config(source: str, folder: bool, cache_dir: str | None = None) -> dict:
    """config.json of a located model, read as JSON (which family it is decides the embedder)."""
    import json

    path = os.path.join(source, "config.json")
    if not folder:
        from huggingface_hub import try_to_load_from_cache  # lazy: after offline_env (locate_model ran it)

        path = try_to_load_from_cache(source, "config.json", cache_dir=cache_dir or str(hub_cache_dir()))
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, TypeError, ValueError) as e:
        raise ModelUnavailable(f"model {source!r}: cannot read its config.json ({e})") from e


def model_revision(source: str, folder: bool, cache_dir: str | None = None) -> str:
    """Short identity of the model's files: the hub commit, or a hash of a folder's config and weights."""
    import hashlib

    if folder:
        h = hashlib.sha1()
        for name in ("config.json", *WEIGHTS):
            p = os.path.join(source, name)
            if os.path.isfile(p):
                h.update(name.encode() + str(os.path.getsize(p)).encode())
                if name == "config.json":
                    with open(p, "rb") as f:
                        h.update(f.read())
        return h.hexdigest()[:8]
    from huggingface_hub import try_to_load_from_cache  # lazy: after offline_env (locate_model ran it)

    path = try_to_load_from_cache(source, "config.json", cache_dir=cache_dir or str(hub_cache_dir()))
    return os.path.basename(os.path.dirname(path))[:8] if isinstance(path, str) else "local"


def layer_text(layers: tuple[int, int]) -> str:
    return str(layers[0]) if layers[0] == layers[1] else f"{layers[0]}-{layers[1]}"


def import_torch():
    """torch and transformers, imported on first use with the hub offline and progress bars off."""
    offline_env()
    try:
        import torch
        import transformers
    except ImportError as e:
        raise ModelUnavailable(f"wav2vec2 needs torch and transformers, which are not installed ({e})") from e
    transformers.utils.logging.disable_progress_bar()
    return torch, transformers


@contextlib.contextmanager
def quiet(transformers):
    """Hide transformers' load-time chatter (e.g. unused pretraining heads of wav2vec2-base)."""
    hf_log = transformers.utils.logging
    level = hf_log.get_verbosity()
    hf_log.set_verbosity_error()
    try:
        yield
    finally:
        hf_log.set_verbosity(level)
