"""The audio formats Soundalike handles, from the one table in `desktop/data/formats.json`.

Why a data file: the scan, the file dialogs, drag-and-drop, the decoder order and the `.desktop`
entry's MimeType all need the same list; with one table a new format is one line, and a test checks
that the shipped `.desktop` entry says the same (`desktop_mime_line`).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class AudioFormat:
    name: str
    extensions: tuple[str, ...]  # with the leading dot, lower case
    decoder: str  # "soundfile" or "pyav": the library tried first
    mime: tuple[str, ...]


def table_path() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)  # a PyInstaller bundle keeps the file under desktop/data
    base = Path(bundle) / "desktop" if bundle else Path(__file__).resolve().parent.parent
    return base / "data" / "formats.json"


@lru_cache(maxsize=1)
def formats() -> tuple[AudioFormat, ...]:
    raw = json.loads(table_path().read_text(encoding="utf-8"))
    return tuple(
        AudioFormat(f["name"], tuple("." + e.lower().lstrip(".") for e in f["extensions"]), f["decoder"],
                    tuple(f["mime"]))
        for f in raw["formats"]
    )


@lru_cache(maxsize=1)
def audio_extensions() -> frozenset[str]:
    return frozenset(e for f in formats() for e in f.extensions)


@lru_cache(maxsize=1)
def soundfile_first() -> frozenset[str]:
    """Extensions libsndfile opens first (exact frame counts, sample-accurate seeks)."""
    return frozenset(e for f in formats() if f.decoder == "soundfile" for e in f.extensions)


def extension(path: str | bytes) -> str:
    ext = os.path.splitext(os.fsdecode(path))[1].lower()
    return ext


def is_audio_path(path: str | bytes) -> bool:
    return extension(path) in audio_extensions()


def format_of(path: str) -> AudioFormat | None:
    ext = extension(path)
    return next((f for f in formats() if ext in f.extensions), None)


def mime_types() -> list[str]:
    """Every MIME type in table order, without repeats."""
    return list(dict.fromkeys(m for f in formats() for m in f.mime))


def desktop_mime_line() -> str:
    """The `MimeType=` line of the .desktop entry, generated from the table."""
    return "MimeType=" + "".join(m + ";" for m in mime_types())


def dialog_filter() -> str:
    """A Qt file-dialog filter: all audio (and CUE sheets) first, one entry per format, then everything."""
    patterns = " ".join(f"*{e}" for e in sorted(audio_extensions()))
    per_format = [f"{f.name} ({' '.join('*' + e for e in f.extensions)})" for f in formats()]
    return ";;".join([f"Audio files ({patterns} *.cue)", *per_format, "CUE sheets (*.cue)", "All files (*)"])


def is_cue_path(path: str | bytes) -> bool:
    return extension(path) == ".cue"


def skipped_kind(name: str) -> str:
    """How `status` groups a skipped file: its extension, or '(no extension)'."""
    return extension(name) or "(no extension)"


def describe_skipped(counts: Counter | dict) -> str:
    """'.jpg 12, .txt 3, (no extension) 1' — most frequent first."""
    return ", ".join(f"{k} {n}" for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
