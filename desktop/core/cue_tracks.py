"""From CUE sheets to library entries: which audio files a folder's sheets cover, and each track's tags.

Kept apart from the parser (cue.py) and the walk (scan.py): this is the policy. A sheet's album fields
and a track's TITLE/PERFORMER win over the file's own tags; what the sheet does not say comes from the
file (genre, date, ReplayGain album gain, cover). Problems (a FILE that is missing, a track starting
after the file ends) are reported and the rest of the sheet is still used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from desktop.core.cue import CueFile, CueSheet, parse, read_sheet_text, resolve_file, track_path
from desktop.core.ranged import format_minutes
from desktop.core.tag_fields import year_of

# Tags of the whole file that do not belong to one of its tracks.
_WHOLE_FILE_ONLY = {"mb_recording_id": "", "rg_track_gain": None, "rg_track_peak": None, "track_total": None,
                    "disc_number": None, "disc_total": None}


@dataclass
class SheetFor:
    """The sheet covering one audio file: which FILE group of it, and when the sheet last changed."""

    sheet: CueSheet
    file: CueFile
    mtime: float  # the .cue's mtime (the audio file's own for an embedded sheet)


def external_sheets(cue_paths: list[str], problems: list[tuple[str, str]]) -> dict[str, SheetFor]:
    """{audio path: its sheet} for the .cue files found by the walk."""
    out: dict[str, SheetFor] = {}
    for cue_path in cue_paths:
        try:
            sheet = parse(read_sheet_text(cue_path), cue_path)
            mtime = os.stat(cue_path).st_mtime
        except OSError as e:
            problems.append((cue_path, f"cannot read the CUE sheet: {e.strerror or e}"))
            continue
        if not sheet.files:
            problems.append((cue_path, "the CUE sheet lists no tracks"))
            continue
        for f in sheet.files:
            audio = resolve_file(cue_path, f.name)
            if audio is None:
                problems.append((cue_path, f'the CUE sheet\'s FILE "{f.name}" is missing'))
            else:
                out[os.path.abspath(audio)] = SheetFor(sheet, f, mtime)
    return out


def sheet_files(cue_path: str) -> list[str]:
    """The audio files a .cue names that exist (missing ones are reported by `external_sheets`)."""
    try:
        sheet = parse(read_sheet_text(cue_path), cue_path)
    except OSError:
        return []
    found = (resolve_file(cue_path, f.name) for f in sheet.files)
    return list(dict.fromkeys(os.path.abspath(p) for p in found if p))


def embedded(audio_path: str, text: str, mtime: float) -> SheetFor | None:
    """The sheet embedded in an audio file's tags (its FILE name is ignored: it means this file)."""
    sheet = parse(text, audio_path)
    if not sheet.files:
        return None
    tracks = sorted((t for f in sheet.files for t in f.tracks), key=lambda t: t.start)
    for a, b in zip(tracks, tracks[1:]):
        a.end = b.start
    if tracks:
        tracks[-1].end = None
    return SheetFor(sheet, CueFile(os.path.basename(audio_path), tracks), mtime)


def track_entries(audio_path: str, cover: SheetFor, file_tags: dict,
                  problems: list[tuple[str, str]]) -> list[tuple[str, dict]]:
    """(library path, tags) of each track of `audio_path`, in sheet order.

    `file_tags` are the file's own (tags.read_tags, fallbacks included); their `duration` tells where
    the file ends, so a track starting past it is reported and left out, and an end past it is cut.
    """
    sheet, length = cover.sheet, float(file_tags.get("duration") or 0.0)
    tracks = cover.file.tracks
    out = []
    for t in tracks:
        if length > 0 and t.start >= length - 0.01:
            problems.append((sheet.source, f"track {t.number} starts at {format_minutes(t.start)}, after the end "
                                           f"of {os.path.basename(audio_path)} ({format_minutes(length)})"))
            continue
        end = t.end if t.end is None or length <= 0 or t.end < length else None
        tags = dict(file_tags, **_WHOLE_FILE_ONLY)
        generated = set(filter(None, file_tags.get("generated", "").split(",")))
        tags["title"] = t.title or f"Track {t.number:02d}"
        if t.title:
            generated.discard("title")
        else:
            generated.add("title")
        if sheet.title:
            tags["album"] = sheet.title
            generated.discard("album")
        if sheet.performer:
            tags["album_artist"] = sheet.performer
        performer = t.performer or sheet.performer
        if performer:
            tags["artist"] = performer
            generated -= {"artist", "artist_folder"}
        if sheet.genre:
            tags["genre"] = sheet.genre
            generated.discard("genre")
        if year_of(sheet.date):
            tags["date"], tags["year"] = sheet.date, year_of(sheet.date)
        tags["track_number"], tags["track_total"] = t.number, len(tracks)
        stop = end if end is not None else length
        tags["duration"] = max(0.0, stop - t.start) if stop else 0.0
        tags["generated"] = ",".join(g for g in ("title", "album", "genre", "artist_folder", "artist")
                                     if g in generated)
        tags.pop("cuesheet", None)
        out.append((track_path(audio_path, t.start, end), tags))
    return out
