"""The models on this computer: where the Hugging Face hub cache is (from today's environment), which
models it holds and how big, which libraries index with each, and removing one.

Downloading into that cache is models.py; this part needs no network and no huggingface_hub, so the
embedders can ask "is it here?" cheaply.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.errors import ModelUnavailable

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
# The weights a transformers audio encoder loads; other formats (TF, Flax, ONNX...) are skipped.
SAFETENSORS = re.compile(r"^model(-\d+-of-\d+)?\.safetensors$|^model\.safetensors\.index\.json$")
TORCH_BIN = re.compile(r"^pytorch_model(-\d+-of-\d+)?\.bin$|^pytorch_model\.bin\.index\.json$")


@dataclass
class CachedModel:
    model: str
    size: int
    revisions: list[str]
    path: str
    users: list[str] = field(default_factory=list)  # library folders that index with it
    partial: int = 0  # bytes of unfinished downloads (a pull resumes them)


# -- where things are -------------------------------------------------------------------------------
def hub_cache_dir() -> Path:
    """The Hugging Face hub cache, as huggingface_hub computes it, but from today's environment."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "huggingface" / "hub"


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def repo_folder(model: str, cache_dir: Path | None = None) -> Path:
    return (cache_dir or hub_cache_dir()) / ("models--" + model.replace("/", "--"))


def is_hub_id(model: str) -> bool:
    return bool(HUB_ID.match(str(model))) and not str(model).startswith(".") and not os.path.isdir(str(model))


def is_cached(model: str, cache_dir: Path | None = None) -> bool:
    """True when `model` (a hub id) has a complete snapshot with a config and weights in the cache."""
    snaps = repo_folder(model, cache_dir) / "snapshots"
    for snap in snaps.iterdir() if snaps.is_dir() else ():
        names = {p.name for p in snap.iterdir()}
        if "config.json" in names and any(SAFETENSORS.match(n) or TORCH_BIN.match(n) for n in names):
            return True
    return False


# -- the cache: list, remove, who uses what ----------------------------------------------------------
def list_models(cache_dir: Path | None = None) -> list[CachedModel]:
    """Models in the hub cache with their size on disk and the libraries that index with them."""
    cache = cache_dir or hub_cache_dir()
    users = _read_users()
    out = []
    for root in sorted(cache.glob("models--*")) if cache.is_dir() else ():
        model = root.name[len("models--"):].replace("--", "/")
        files = [p for p in (root / "blobs").glob("*") if p.is_file() and p.suffix != ".lock"]
        snaps = root / "snapshots"
        revisions = sorted(p.name for p in snaps.iterdir()) if snaps.is_dir() else []
        out.append(CachedModel(model, sum(p.stat().st_size for p in files), revisions, str(root),
                               [h for h in users.get(model, []) if os.path.isdir(h)],
                               sum(p.stat().st_size for p in files if p.suffix == ".part")))
    return out


def remove(model: str, cache_dir: Path | None = None) -> int:
    """Delete `model` from the hub cache (partial downloads too); the bytes freed."""
    root = repo_folder(model, cache_dir)
    if not root.is_dir():
        raise ModelUnavailable(f"model {model!r} is not in the cache ({hub_cache_dir()})")
    size = sum(p.stat().st_size for p in (root / "blobs").glob("*") if p.is_file())
    shutil.rmtree(root)
    return size


def _users_file() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("soundalike", appauthor=False)) / "model-users.json"


def _read_users() -> dict[str, list[str]]:
    try:
        data = json.loads(_users_file().read_text(encoding="utf-8"))
        return {str(k): [str(h) for h in v] for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError, AttributeError):
        return {}


def record_use(model: str, home: str | os.PathLike) -> None:
    """Remember that the library at `home` indexes with `model` (shown by `model list`). Best effort."""
    users = _read_users()
    home = str(Path(home).resolve())
    if home in users.get(model, []):
        return
    users.setdefault(model, []).append(home)
    try:
        path = _users_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(users, indent=1))
    except OSError:
        pass


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
