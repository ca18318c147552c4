"""What every `soundalike` sub-command module shares: exit codes, opening the library, the progress bar,
the embedder flags. Kept apart from cli.py so the cli_* modules import it at the top without a loop."""

from __future__ import annotations

import argparse
import os
import sys

from desktop.core.config import EMBEDDERS
from desktop.core.errors import SoundalikeError
from desktop.core.paths import shown

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
MAX_K, MAX_ID = 10_000, 2**63 - 1  # SQLite integers are 64-bit: a larger "id" is no track, not an OverflowError


def embedder_flags(sp) -> None:
    """--embedder, --model, --device, --layer: how a command that analyses audio picks its model."""
    sp.add_argument("--embedder", choices=EMBEDDERS,
                    help="default: wav2vec2 (spectral if its weights are missing)")
    sp.add_argument("--model", metavar="ID_OR_PATH", help="Wav2Vec2 hub id or local folder")
    sp.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="where wav2vec2 runs (default: auto)")
    sp.add_argument("--layer", metavar="N|A-B", help="neural model layer(s) to pool, e.g. 6 or 3-8")


def open_library(args, *, strict: bool = False, lock: bool = True, must_exist: bool = False, **overrides):
    """`must_exist`: a read-only command never creates a library (a mistyped --home is an error)."""
    from desktop.core.backup import backup_path
    from desktop.core.config import load_settings
    from desktop.core.library import Library

    settings = load_settings(args.home, **overrides)
    if must_exist and not settings.catalog_path.is_file() and backup_path(settings.catalog_path).is_file():
        raise SoundalikeError(f"{shown(str(settings.catalog_path))}: the catalog is missing; run `soundalike check "
                              "--repair` to restore its last good copy")
    if must_exist and not settings.catalog_path.is_file():
        raise SoundalikeError(f"no library at {shown(str(settings.home))} (index a folder first: "
                              "`soundalike index FOLDER`, or check --home)")
    return Library(settings, strict=strict, lock=lock)


class ProgressPrinter:
    """A tqdm bar per stage on stderr (silent when stderr is not a terminal)."""

    def __init__(self):
        self.bar, self.stage = None, None

    def update(self, ev) -> None:
        from tqdm import tqdm

        if self.bar is None or ev.stage != self.stage or (ev.total and self.bar.total != ev.total):
            self.close()
            self.stage = ev.stage
            self.bar = tqdm(total=ev.total or None, desc=ev.stage, unit="file", file=sys.stderr, disable=None,
                            leave=False)
        self.bar.n = ev.done
        if ev.path:
            self.bar.set_postfix_str(os.path.basename(ev.path)[-40:], refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def realtime_text(audio_seconds: float, seconds: float) -> str:
    """", 12x realtime" (or ", 0.4x realtime" below 1: a slow model on a CPU must not read as 0x); "" unknown."""
    if not seconds or not audio_seconds:
        return ""
    rate = audio_seconds / seconds
    return f", {rate:.0f}x realtime" if rate >= 10 else f", {rate:.1f}x realtime"


def home_anywhere() -> argparse.ArgumentParser:
    """A parent parser so that `--home DIR` may also follow a nested action (`store status --home DIR`)."""
    home = argparse.ArgumentParser(add_help=False)
    home.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return home
