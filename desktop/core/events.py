"""The events long jobs yield. Clients (CLI progress bar, Qt worker) only ever see these types.

A job is a generator: it yields `Progress` as it goes, a `TrackDone` per finished track (indexing),
and a summary object last. Nothing here knows who is listening.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Progress:
    stage: str  # "scan", "index", "standardise"
    done: int
    total: int  # 0 when not known yet
    path: str = ""
    message: str = ""
    added: int = 0  # scan: tracks new to the library so far (the window lists them while a first scan runs)


@dataclass
class TrackDone:
    track_id: int
    path: str
    ok: bool
    error: str = ""
    seconds: float = 0.0  # audio duration processed (for × realtime figures)
    kept: bool = False  # failed with a new model, but keeps answering from the old space until the switch


@dataclass
class ScanSummary:
    added: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    unchanged: int = 0
    removed: list[int] = field(default_factory=list)  # CUE entries replaced by a new layout (forgotten)
    missing: list[int] = field(default_factory=list)  # files gone since the last scan (kept, hidden)
    returned: list[int] = field(default_factory=list)  # missing files that are back
    moved: list[int] = field(default_factory=list)  # same content at another path: same track
    unavailable: list[str] = field(default_factory=list)  # roots absent, empty, or all of whose files vanished
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) for unreadable folders
    skipped: dict[str, int] = field(default_factory=dict)  # non-audio files met, by extension
    retagged: list[int] = field(default_factory=list)  # unchanged files whose tags were read anew


@dataclass
class IndexSummary:
    embedder: str = ""
    indexed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (path, note) of indexed files, e.g. damaged
    unchanged: int = 0
    cancelled: bool = False
    seconds: float = 0.0  # wall time
    audio_seconds: float = 0.0
    notice: str = ""  # e.g. the spectral fallback
    workers: int = 0  # analysis processes used (capped at the number of cores)
    pending: list[tuple[str, str]] = field(default_factory=list)  # (path, why) of files left for the next run
    restored: int = 0  # points the store lacked, written again from the catalog's raw vectors
    hidden: int = 0  # points of missing or forgotten tracks taken out of the store
    switched: bool = False  # the run completed a new embedder's space, which is now the one searched
