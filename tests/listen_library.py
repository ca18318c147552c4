"""A synthesised library for the listening features (radio, paths, playlists, duplicates).

3 families x 12 tagged FLAC tracks (3 artists and 2 albums per family), plus what real collections
hold: an MP3 re-encoding of one track per family and a byte copy of another (folder "copies"), another
"version" of a song (same artist and title, other audio), and one track whose file vanished after
indexing. The family of a track is the first folder under the root (copies: the second).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from tests import audio

FAMILIES = list(audio.FAMILIES)
PER_FAMILY = 12
SECONDS = 4.0


def tag(path: Path, artist: str, title: str, album: str) -> None:
    import mutagen

    f = mutagen.File(str(path), easy=True)
    if f.tags is None:
        f.add_tags()
    f["artist"], f["title"], f["album"] = artist, title, album
    f.save()


def tags_of(family: str, i: int) -> tuple[str, str, str]:
    return f"{family.title()} Artist {i % 3}", f"{family} song {i}", f"{family.title()} Album {i % 2}"


def build(root: Path) -> dict:
    """Write the music under `root`; returns what the tests need to know about it."""
    info = {"copies": {}, "version": None, "missing": None}
    for fi, family in enumerate(FAMILIES):
        for i in range(PER_FAMILY):
            x = audio.render(family, SECONDS, seed=5000 + 100 * fi + i)
            p = audio.write(root / family / f"{family}_{i:02d}.flac", x)
            tag(p, *tags_of(family, i))
        x = audio.render(family, SECONDS, seed=5000 + 100 * fi)
        mp3 = audio.encode(root / "copies" / family / f"{family}_00.mp3", x, bitrate=128000)
        tag(mp3, *tags_of(family, 0))
        info["copies"][str(root / family / f"{family}_00.flac")] = [str(mp3)]
    original = root / "plucked" / "plucked_01.flac"
    twin = root / "copies" / "plucked" / "plucked_01 (copy).flac"
    shutil.copy(original, twin)
    info["copies"][str(original)] = [str(twin)]
    live = audio.render("plucked", SECONDS, seed=99)
    version = audio.write(root / "versions" / "plucked" / "plucked_02 live.flac", live)
    tag(version, *tags_of("plucked", 2))
    info["version"] = (str(root / "plucked" / "plucked_02.flac"), str(version))
    info["missing"] = str(root / "pad" / "pad_11.flac")
    return info


def family_of(path: str) -> str:
    return next(f for f in FAMILIES if f"/{f}/" in path)


def make_template(home: Path, music: Path) -> dict:
    """Build, index with spectral into `home`, then remove the 'missing' file."""
    from desktop.core.config import load_settings
    from desktop.core.indexer import scan_and_index
    from desktop.core.library import Library

    info = build(music)
    replace(load_settings(home), embedder="spectral").save()
    with Library.open(home) as lib:
        summary = list(scan_and_index(lib, [str(music)]))[-1]
    assert summary.indexed == len(FAMILIES) * (PER_FAMILY + 1) + 2, summary
    Path(info["missing"]).unlink()
    return info
