"""Track metadata from tags (mutagen, every container), with fallbacks the way players fill gaps.

Fields are read like beets and Picard write them (see `tag_fields.ALIASES`). When a tag is missing:
title from the file name, album from the parent folder, artist from the album artist tag, else from
the grandparent folder in an Artist/Album/track layout under the scanned root, else a made-up (faker)
name seeded by the *folder*, so one folder of untagged files shares one invented artist; genre from
the parent folder (the tutorial behaviour the genre filter relies on). Every value not read from a tag
is listed in `generated` so clients can show it differently and never write it back as real:
"title", "album", "genre" (from names), "artist_folder" (artist from a folder name), "artist" (made up).
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import lru_cache

from desktop.core import tag_fields as tf
from desktop.core.cue import embedded_sheet
from desktop.core.track import TAG_FIELDS, tags_defaults

# Text fields read as they are, under the names tag_fields.ALIASES lists for them.
_TEXT_FIELDS = tuple(f.name for f in TAG_FIELDS if f.type is str and f.name in tf.ALIASES)
# Containers mutagen cannot read: tags and duration come from FFmpeg's metadata instead.
_FFMPEG_ONLY = (".mka", ".webm", ".w64")


def empty_tags() -> dict:
    """Every tag field of the track table (track.py) at its default, and an embedded CUE sheet's text."""
    return {**tags_defaults(), "compilation": False, "has_cover": False, "cuesheet": ""}


def read_tag_values(path: str) -> dict:
    """Only what the file's tags say (no fallbacks); never raises for a bad file."""
    info = empty_tags()
    flat, cover, length, info["cuesheet"] = _flat_tags(path)
    tf.opus_r128_to_replaygain(flat)
    for key in _TEXT_FIELDS:
        info[key] = tf.pick(flat, key)
    info["track_number"], info["track_total"] = tf.number_pair(tf.pick(flat, "track"))
    info["disc_number"], info["disc_total"] = tf.number_pair(tf.pick(flat, "disc"))
    info["track_total"] = tf.number_pair(tf.pick(flat, "track_total"))[0] or info["track_total"]
    info["disc_total"] = tf.number_pair(tf.pick(flat, "disc_total"))[0] or info["disc_total"]
    date = tf.pick(flat, "date")
    info["year"] = tf.year_of(date)
    info["date"] = date if info["year"] else ""
    info["compilation"] = tf.truthy(tf.pick(flat, "compilation"))
    for key in ("rg_track_gain", "rg_track_peak", "rg_album_gain", "rg_album_peak"):
        info[key] = tf.gain_of(tf.pick(flat, key))
    info["has_cover"] = cover
    info["duration"] = float(length) if length and 0 < length < 1e7 else 0.0
    return info


def _flat_tags(path: str) -> tuple[dict[str, list[str]], bool, float, str]:
    """(flattened tags, has cover, length, embedded cue sheet text)."""
    if os.path.splitext(path)[1].lower() in _FFMPEG_ONLY:
        flat, length = tf.ffmpeg_metadata(path)
        return flat, False, length, ""
    try:
        import mutagen

        f = mutagen.File(path)
    except Exception:  # mutagen raises many types for broken files; the decoder will say what is wrong
        return {}, False, 0.0, ""
    if f is None:
        flat, length = tf.ffmpeg_metadata(path)
        return flat, False, length, ""
    flat, cover = tf.flatten(f)
    info = getattr(f, "info", None)
    length = getattr(info, "length", 0) or 0
    sheet = embedded_sheet(flat, getattr(f, "cuesheet", None), getattr(info, "sample_rate", 0) or 0)
    return flat, cover, length, sheet


def read_tags(path: str, root: str | None = None) -> dict:
    """The track's tag fields (track.py), fallbacks above included; `root`: the scanned folder holding `path`."""
    return read_tags_and_sheet(path, root)[0]


def read_tags_and_sheet(path: str, root: str | None = None) -> tuple[dict, str]:
    """`read_tags`, and the text of a CUE sheet embedded in the file's tags ('' when there is none)."""
    info = read_tag_values(path)
    sheet = info.pop("cuesheet")
    generated = []
    if not info["title"]:
        info["title"] = title_from_filename(path)
        generated.append("title")
    folder = os.path.dirname(os.path.abspath(path))
    if not info["album"]:
        info["album"] = folder_name(folder)
        generated.append("album")
    if not info["genre"]:
        info["genre"] = folder_name(folder)
        generated.append("genre")
    if not info["artist"] and info["album_artist"]:
        info["artist"] = info["album_artist"]
    if not info["artist"]:
        artist_folder = _artist_folder(folder, root)
        if artist_folder:
            info["artist"] = folder_name(artist_folder)
            generated.append("artist_folder")
        else:
            info["artist"] = generated_artist(folder)
            generated.append("artist")
    info["generated"] = ",".join(generated)
    return info, sheet


def _artist_folder(album_folder: str, root: str | None) -> str:
    """The grandparent in a Root/.../Artist/Album/track layout: only below the scanned root, never the root."""
    if not root:
        return ""
    root = os.path.abspath(root)
    parent = os.path.dirname(album_folder)
    if parent == album_folder or not folder_name(parent):
        return ""
    inside = parent != root and (parent + os.sep).startswith(root.rstrip(os.sep) + os.sep)
    return parent if inside else ""


def folder_name(folder: str) -> str:
    return os.path.basename(folder.rstrip(os.sep)).replace("_", " ").strip()


def title_from_filename(path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    return re.sub(r"[_]+", " ", stem).strip() or stem


def warm_up() -> None:
    """Import what the first scan's tag reading needs: faker (its providers, ~0.1 s) and mutagen's format
    modules. A window calls this from its library thread while it sits idle after its first paint: imported
    in the first scan, they held the GIL for the GUI thread's frames (bench/ui_stall.py --sample)."""
    import io

    import mutagen

    _faker()
    mutagen.File(io.BytesIO(b""))  # its first call imports every format it knows; an empty file matches none


@lru_cache(maxsize=1)
def _faker():
    from faker import Faker

    return Faker()


@lru_cache(maxsize=4096)
def generated_artist(folder: str) -> str:
    """A plausible person's name, the same for the same folder on every machine and run."""
    fake = _faker()
    fake.seed_instance(int.from_bytes(hashlib.sha1(folder.encode("utf-8", "surrogatepass")).digest()[:8], "big"))
    return fake.name()
