"""Covers read from every container's picture tag and from images beside the files."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4Cover
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from desktop.core.covers import find_cover, folder_picture
from tests import audio


def tiny_png(rgb=(200, 40, 40), size=4) -> bytes:
    """A real size x size PNG of one colour (no imaging library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def picture(data: bytes, kind: int = 3) -> Picture:
    p = Picture()
    p.type, p.mime, p.data, p.width, p.height, p.depth = kind, "image/png", data, 4, 4, 24
    return p


def embed(path, data: bytes) -> None:
    ext = path.suffix
    if ext == ".mp3" or ext == ".wav":
        f = MP3(path) if ext == ".mp3" else WAVE(path)
        f.add_tags()
        f.tags.add(APIC(encoding=3, mime="image/png", type=0, desc="back", data=tiny_png((0, 0, 255))))
        f.tags.add(APIC(encoding=3, mime="image/png", type=3, desc="front", data=data))
    elif ext == ".flac":
        f = FLAC(path)
        f.add_picture(picture(tiny_png((0, 0, 255)), kind=4))
        f.add_picture(picture(data))
    elif ext == ".ogg":
        f = OggVorbis(path)
        f["metadata_block_picture"] = [base64.b64encode(picture(data).write()).decode("ascii")]
    elif ext == ".m4a":
        f = MP4(path)
        f["covr"] = [MP4Cover(data, imageformat=MP4Cover.FORMAT_PNG)]
    f.save()


@pytest.mark.parametrize("ext", ["mp3", "flac", "ogg", "m4a", "wav"])
def test_embedded_front_cover_of_each_container(tmp_path, ext):
    path = audio.write(tmp_path / f"song.{ext}", audio.render("pad", 1.0, 3))
    data = tiny_png((10, 200, 30))
    embed(path, data)
    (tmp_path / "cover.jpg").write_bytes(tiny_png((1, 1, 1)))  # the embedded one wins
    cover = find_cover(str(path))
    assert cover is not None and cover.source == "embedded" and cover.data == data


def test_image_beside_the_files(tmp_path):
    path = audio.write(tmp_path / "album" / "01.flac", audio.render("drums", 1.0, 1))
    assert find_cover(str(path)) is None
    (tmp_path / "album" / "notes.png").write_bytes(tiny_png())  # not named like a cover
    assert folder_picture(str(path)) is None
    (tmp_path / "album" / "Folder.PNG").write_bytes(tiny_png((5, 5, 5)))
    (tmp_path / "album" / "cover.jpg").write_bytes(tiny_png((9, 9, 9)))
    cover = find_cover(str(path))
    assert cover.source.endswith("cover.jpg") and cover.data == tiny_png((9, 9, 9))  # cover before folder
    other = audio.write(tmp_path / "album" / "02.wav", audio.render("drums", 1.0, 2))
    assert find_cover(str(other)).digest == cover.digest  # one album, one picture


def test_damaged_or_missing_files_have_no_cover(tmp_path):
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"ID3\x04\x00\x00\xff\xff\xff\xff garbage")
    assert find_cover(str(bad)) is None
    assert find_cover(str(tmp_path / "missing.flac")) is None
