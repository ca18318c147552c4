"""Album art: the picture embedded in a file's tags, or an image beside it (cover.jpg, folder.png, ...).

Embedded pictures come first because they belong to this very track (a compilation's folder image may
not); of several embedded pictures the front cover wins. Reading is mutagen only (no decoding, a few
milliseconds), so callers run it on a worker thread and cache the scaled result (see desktop.ui.covers).
A file without a readable picture is not an error: it simply has no cover.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from dataclasses import dataclass

from desktop.core.cue import file_of

log = logging.getLogger(__name__)

# Names players look for beside the audio files, best first (case does not matter).
COVER_NAMES = ("cover", "folder", "front", "album", "albumart", "albumartsmall")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")
FRONT_COVER = 3  # the ID3 / FLAC picture type of the front cover


@dataclass(frozen=True)
class Cover:
    data: bytes  # the encoded image (JPEG, PNG, ...)
    source: str  # "embedded" or the path of the image file

    @property
    def digest(self) -> str:
        """Identifies the picture itself: one album's tracks share one cached thumbnail."""
        return hashlib.sha1(self.data).hexdigest()[:20]


def _best(pictures) -> bytes | None:
    """(type, data) pairs -> the front cover's data, else the first picture's."""
    pictures = [(t, d) for t, d in pictures if d]
    if not pictures:
        return None
    return next((d for t, d in pictures if t == FRONT_COVER), pictures[0][1])


def embedded_picture(path: str) -> bytes | None:
    """The picture in the file's tags: ID3 APIC, FLAC pictures, Vorbis/Opus METADATA_BLOCK_PICTURE, MP4 covr."""
    import mutagen
    from mutagen.flac import Picture

    try:
        f = mutagen.File(path)
    except Exception as e:  # a damaged tag is no reason to fail: the track just has no embedded cover
        log.debug("%s: tags unreadable for a cover: %s", path, e)
        return None
    if f is None:
        return None
    found = []
    pictures = getattr(f, "pictures", None)  # FLAC
    if pictures:
        found += [(p.type, p.data) for p in pictures]
    tags = f.tags
    if tags is not None:
        if hasattr(tags, "getall"):  # ID3 (MP3, and WAV/AIFF with an ID3 chunk)
            found += [(int(a.type), a.data) for a in tags.getall("APIC")]
        elif "covr" in tags:  # MP4
            found += [(FRONT_COVER, bytes(c)) for c in tags["covr"]]
        else:  # Vorbis comments (Ogg Vorbis, Opus, and FLAC's own comment block)
            for b64 in tags.get("metadata_block_picture", []) or []:
                try:
                    p = Picture(base64.b64decode(b64))
                    found.append((p.type, p.data))
                except Exception as e:
                    log.debug("%s: unreadable METADATA_BLOCK_PICTURE: %s", path, e)
    return _best(found)


def folder_picture(path: str) -> str | None:
    """An image beside the file named like a cover (cover.jpg, Folder.png, front.jpeg, ...)."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    images = {}
    for name in names:
        stem, ext = os.path.splitext(name)
        if ext.lower() in IMAGE_EXTENSIONS:
            images.setdefault(stem.lower(), name)
    for stem in COVER_NAMES:
        if stem in images:
            return os.path.join(folder, images[stem])
    return None


def find_cover(path: str) -> Cover | None:
    """The cover of an audio file, or None when it has none."""
    path = file_of(path)  # a CUE track: its album file's cover
    data = embedded_picture(path)
    if data:
        return Cover(data, "embedded")
    image = folder_picture(path)
    if image is None:
        return None
    try:
        with open(image, "rb") as f:
            return Cover(f.read(), image)
    except OSError as e:
        log.debug("%s: cover image unreadable: %s", image, e)
        return None
