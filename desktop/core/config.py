"""Settings: where the library lives and which embedder, model, device and store to use.

Precedence, lowest first: built-in defaults < `HOME/config.json` < environment (`SOUNDALIKE_*`) <
explicit overrides (CLI flags, the settings dialog). The home folder itself comes from `--home`,
then `SOUNDALIKE_HOME`, then the platform's user data dir (XDG on Linux).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from desktop.core.errors import SoundalikeError

DEFAULT_MODEL = "facebook/wav2vec2-base"
EMBEDDERS = ("wav2vec2", "spectral")
DEVICES = ("auto", "cpu", "cuda", "mps")

ENV_VARS = {  # setting -> environment variable that overrides config.json
    "embedder": "SOUNDALIKE_EMBEDDER",
    "model": "SOUNDALIKE_MODEL",
    "device": "SOUNDALIKE_DEVICE",
    "qdrant_url": "SOUNDALIKE_QDRANT_URL",
    "qdrant_api_key": "SOUNDALIKE_QDRANT_API_KEY",
}
QUANTIZATIONS = ("auto", "none", "scalar", "binary")


def resolve_home(home: str | os.PathLike | None = None) -> Path:
    """The library folder: `home` when given, else `default_home()`. The CLI and the app resolve it once,
    at start, and pass the result on."""
    return Path(home).expanduser() if home else default_home()


def default_home() -> Path:
    env = os.environ.get("SOUNDALIKE_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("soundalike", appauthor=False))


@dataclass(frozen=True)
class Settings:
    home: Path
    embedder: str = "wav2vec2"  # falls back to spectral (with a notice) when weights are missing
    model: str = DEFAULT_MODEL  # hub id or local folder
    device: str = "auto"
    layer: str = ""  # neural model layer(s), e.g. "6" or "3-8"; empty: the model's default
    qdrant_url: str = ""  # empty: the embedded store under HOME/vectors
    workers: int = 0  # decode/embed processes for spectral; 0 = one per core
    # Qdrant server connection (used only with qdrant_url). The key is a secret: repr=False keeps it out
    # of tracebacks and logs; messages name the setting, never the value.
    qdrant_api_key: str = field(default="", repr=False)
    qdrant_ca_file: str = ""  # PEM file of the CA that signed the server's certificate; empty: system CAs
    qdrant_prefer_grpc: bool = False  # gRPC on qdrant_grpc_port instead of REST
    qdrant_grpc_port: int = 6334
    # Collection parameters on a server; 0 / None / "auto": chosen by library size (store/params.py).
    qdrant_shards: int = 0
    qdrant_replication: int = 0
    qdrant_on_disk: bool | None = None
    qdrant_quantization: str = "auto"
    qdrant_hnsw_m: int = 0
    qdrant_hnsw_ef_construct: int = 0

    @property
    def catalog_path(self) -> Path:
        return self.home / "catalog.sqlite3"

    @property
    def vectors_dir(self) -> Path:
        return self.home / "vectors"

    @property
    def config_path(self) -> Path:
        return self.home / "config.json"

    def validated(self) -> Settings:
        if self.embedder not in EMBEDDERS:
            raise SoundalikeError(f"unknown embedder {self.embedder!r}; choose one of: {', '.join(EMBEDDERS)}")
        if self.device not in DEVICES:
            raise SoundalikeError(f"unknown device {self.device!r}; choose one of: {', '.join(DEVICES)}")
        if self.qdrant_url and not self.qdrant_url.startswith(("http://", "https://")):
            raise SoundalikeError(f"Qdrant URL must start with http:// or https://, got {self.qdrant_url!r}")
        if self.qdrant_quantization not in QUANTIZATIONS:
            raise SoundalikeError(f"unknown qdrant_quantization {self.qdrant_quantization!r}; choose one of: "
                                  f"{', '.join(QUANTIZATIONS)}")
        for name in ("qdrant_shards", "qdrant_replication", "qdrant_hnsw_m", "qdrant_hnsw_ef_construct"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise SoundalikeError(
                    f"{name} must be a whole number >= 0 (0: by library size), got {getattr(self, name)!r}")
        return self

    def save(self) -> None:
        """Persist everything but `home` to HOME/config.json (atomically: a crash keeps the old file).

        An API key that came from SOUNDALIKE_QDRANT_API_KEY is not copied into the file (the file keeps
        what it had): a secret the user keeps in the environment must not end up on disk.
        """
        data = {k: v for k, v in asdict(self).items() if k != "home"}
        env_key = os.environ.get(ENV_VARS["qdrant_api_key"])
        if env_key and data["qdrant_api_key"] == env_key:
            data["qdrant_api_key"] = read_config(self.home).get("qdrant_api_key", "")
        write_config(self.home, data)


def read_config(home: Path) -> dict:
    """HOME/config.json as a dict ({} when there is none)."""
    path = Path(home) / "config.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SoundalikeError(f"{path}: cannot read settings ({e})") from e
    if not isinstance(data, dict):
        raise SoundalikeError(f"{path}: cannot read settings (not a JSON object)")
    return data


def write_config(home: Path, data: dict) -> None:
    """Write HOME/config.json atomically, readable by the owner only (it may hold the server's API key)."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / "config.json.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(data, indent=2) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, home / "config.json")


def update_config(home: Path, **changes) -> None:
    """Change some settings in HOME/config.json, keeping the others as the file has them (not as the
    environment overrides them): how `store migrate` switches the library's store."""
    data = read_config(home)
    data.update(changes)
    write_config(home, data)


def load_settings(home: str | os.PathLike | None = None, **overrides) -> Settings:
    """Settings for `home` (default: `default_home()`), with non-None `overrides` applied last."""
    home_path = resolve_home(home)
    values: dict = {}
    known = {f.name for f in fields(Settings)} - {"home"}
    from_file = {k: v for k, v in read_config(home_path).items() if k in known}
    _check_file_values(home_path / "config.json", home_path, from_file)
    values.update(from_file)
    for name, var in ENV_VARS.items():
        if os.environ.get(var):
            values[name] = os.environ[var]
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "workers" in values:
        try:
            values["workers"] = int(values["workers"])
        except (TypeError, ValueError):
            raise SoundalikeError(f"workers must be a whole number, got {values['workers']!r}") from None
    return replace(Settings(home=home_path), **values).validated()


def _check_file_values(path: Path, home: Path, values: dict) -> None:
    """Bad values in config.json are reported as coming from config.json (the user must edit that file)."""
    defaults = Settings(home=home)
    for name, value in values.items():
        want = type(getattr(defaults, name))
        if want is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise SoundalikeError(f"{path}: {name} must be a whole number, got {value!r}")
        if want is str and not isinstance(value, str):
            raise SoundalikeError(f"{path}: {name} must be text, got {json.dumps(value)}")
    try:
        replace(defaults, **values).validated()
    except SoundalikeError as e:
        raise SoundalikeError(f"{path}: {e}") from None
