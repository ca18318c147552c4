"""Settings: where the library lives and which embedder, model, device and store to use.

Precedence, lowest first: built-in defaults < `HOME/config.json` < environment (`SOUNDALIKE_*`) <
explicit overrides (CLI flags, the settings dialog). The home folder itself comes from `--home`,
then `SOUNDALIKE_HOME`, then the platform's user data dir (XDG on Linux).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
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
}


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
    qdrant_url: str = ""  # empty: the embedded store under HOME/vectors
    workers: int = 0  # decode/embed processes for spectral; 0 = one per core

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
        return self

    def save(self) -> None:
        """Persist everything but `home` to HOME/config.json (atomically: a crash keeps the old file)."""
        self.home.mkdir(parents=True, exist_ok=True)
        data = {k: v for k, v in asdict(self).items() if k != "home"}
        tmp = self.config_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.config_path)


def load_settings(home: str | os.PathLike | None = None, **overrides) -> Settings:
    """Settings for `home` (default: `default_home()`), with non-None `overrides` applied last."""
    home_path = Path(home).expanduser() if home else default_home()
    values: dict = {}
    config_file = home_path / "config.json"
    if config_file.is_file():
        try:
            data = json.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise SoundalikeError(f"{config_file}: cannot read settings ({e})") from e
        known = {f.name for f in fields(Settings)} - {"home"}
        values.update({k: v for k, v in data.items() if k in known})
    for name, var in ENV_VARS.items():
        if os.environ.get(var):
            values[name] = os.environ[var]
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "workers" in values:
        values["workers"] = int(values["workers"])
    return replace(Settings(home=home_path), **values).validated()
