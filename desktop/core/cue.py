"""CUE sheets: a single-file album (a .cue beside it, or a cue sheet embedded in FLAC, WavPack or APE)
becomes its tracks.

Each track is a library entry of its own whose path is the audio file's path with a Media Fragments
time range, `/music/Album.flac#t=245.2,512.867` (W3C syntax): every consumer that opens a path
(indexer, waveform, player) gets just that stretch through `decode.open_audio`, and nothing else in
the library needs to know about sheets. A track runs from its INDEX 01 to the next track's INDEX 01
(the gap stays with the track before it, as most players do); the last one runs to the file's end.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field

from desktop.core.formats import audio_extensions

FRAMES_PER_SECOND = 75  # CD frames: INDEX times are MM:SS:FF
_FRAGMENT = re.compile(r"^(?P<file>.+)#t=(?P<start>\d+(?:\.\d+)?)(?:,(?P<end>\d+(?:\.\d+)?))?$")


@dataclass
class CueTrack:
    number: int
    start: float  # seconds, INDEX 01
    title: str = ""
    performer: str = ""
    end: float | None = None  # filled by `ranges`: the next track's start, or None (the file's end)


@dataclass
class CueFile:
    """The tracks of one FILE of a sheet."""

    name: str  # as written in the sheet
    tracks: list[CueTrack] = field(default_factory=list)


@dataclass
class CueSheet:
    source: str  # the .cue file, or the audio file an embedded sheet came from
    title: str = ""
    performer: str = ""
    date: str = ""
    genre: str = ""
    files: list[CueFile] = field(default_factory=list)


def read_sheet_text(path: str) -> str:
    """A .cue file's text: UTF-8 (with or without BOM), else Windows-1252, else Latin-1 (never fails)."""
    with open(path, "rb") as f:
        data = f.read(1 << 20)  # a sheet is a few KB; a bigger ".cue" is not one
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def parse(text: str, source: str) -> CueSheet:
    """The sheet's album fields and its FILEs' tracks; unknown commands are ignored, bad lines skipped."""
    sheet = CueSheet(source)
    track: CueTrack | None = None
    for line in text.splitlines():
        words = _split(line)
        if not words:
            continue
        cmd, args = words[0].upper(), words[1:]
        if cmd == "FILE" and args:
            sheet.files.append(CueFile(args[0]))
            track = None
        elif cmd == "TRACK" and args and args[0].isdigit():
            if not sheet.files:
                sheet.files.append(CueFile(""))
            track = CueTrack(int(args[0]), -1.0)
            sheet.files[-1].tracks.append(track)
        elif cmd == "INDEX" and track is not None and len(args) >= 2 and args[0] == "01":
            seconds = index_seconds(args[1])
            if seconds is not None:
                track.start = seconds
        elif cmd in ("TITLE", "PERFORMER") and args:
            target = track if track is not None else sheet
            setattr(target, cmd.lower(), args[0])
        elif cmd == "REM" and len(args) >= 2 and track is None:
            key = args[0].upper()
            if key in ("DATE", "GENRE"):
                setattr(sheet, key.lower(), " ".join(args[1:]))
    for f in sheet.files:
        f.tracks = [t for t in f.tracks if t.start >= 0]
        f.tracks.sort(key=lambda t: t.start)
        for a, b in zip(f.tracks, f.tracks[1:]):
            a.end = b.start
    sheet.files = [f for f in sheet.files if f.tracks]
    return sheet


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line.strip(), posix=True)
    except ValueError:  # an unbalanced quote: take the words as they are
        return line.strip().replace('"', "").split()


def index_seconds(mmssff: str) -> float | None:
    parts = mmssff.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    m, s, f = (int(p) for p in parts)
    return m * 60 + s + f / FRAMES_PER_SECOND


def resolve_file(sheet_path: str, name: str) -> str | None:
    """The audio file a sheet's FILE line means: the name as written, else the same stem with any audio
    extension we read (sheets often still say .wav after the rip was converted to FLAC)."""
    folder = os.path.dirname(sheet_path)
    name = name.replace("\\", "/")
    exact = os.path.join(folder, name)
    if os.path.isfile(exact):
        return exact
    stem = os.path.splitext(os.path.basename(name))[0]
    for ext in sorted(audio_extensions()):
        candidate = os.path.join(folder, stem + ext)
        if os.path.isfile(candidate):
            return candidate
    return None


def track_path(audio_path: str, start: float, end: float | None) -> str:
    """The library path of a track of `audio_path` (Media Fragments time range, milliseconds)."""
    return f"{audio_path}#t={start:.3f}" + (f",{end:.3f}" if end is not None else "")


def split_track_path(path: str) -> tuple[str, float, float | None] | None:
    """(audio file, start, end or None) for a track path; None for a plain file's path."""
    m = _FRAGMENT.match(path)
    if not m or os.path.exists(path):
        return None
    end = m.group("end")
    return m.group("file"), float(m.group("start")), float(end) if end is not None else None


def file_of(path: str) -> str:
    """The file on disk behind a library path (a CUE track's audio file, or the path itself)."""
    parts = split_track_path(path)
    return parts[0] if parts else path


def embedded_sheet(flat: dict[str, list[str]], flac_cuesheet=None, sample_rate: int = 0) -> str:
    """The text of an embedded sheet: a CUESHEET tag (Vorbis comment or APEv2), or FLAC's CUESHEET block
    (numbers only: its tracks get no titles)."""
    for key in ("cuesheet",):
        if flat.get(key):
            return flat[key][0]
    if flac_cuesheet is not None and sample_rate:
        lines = ['FILE "embedded" WAVE']
        for t in flac_cuesheet.tracks:
            if 1 <= t.track_number <= 99:
                frames = round(t.start_offset / sample_rate * FRAMES_PER_SECOND)
                m, rest = divmod(frames, 60 * FRAMES_PER_SECOND)
                s, f = divmod(rest, FRAMES_PER_SECOND)
                lines += [f"  TRACK {t.track_number:02d} AUDIO", f"    INDEX 01 {m:02d}:{s:02d}:{f:02d}"]
        return "\n".join(lines) if len(lines) > 1 else ""
    return ""
