"""Find audio files and keep the catalog in step with the disk: new, changed, unchanged, vanished.

Change detection is size + mtime (cheap, what every player does); a changed file goes back to
pending and loses its old vectors. Symlinked folders are followed once (a loop is walked only once)
and an unreadable folder is reported and skipped, never fatal. A generator of `Progress` events,
ending with a `ScanSummary`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator

from desktop.core.catalog import Catalog, Track
from desktop.core.events import Progress, ScanSummary
from desktop.core.formats import is_audio_path, skipped_kind
from desktop.core.tags import read_tags

# Bumped when tags.py reads more or differently: the next scan re-reads unchanged files' tags once.
TAGS_VERSION = "2"  # 2: every container, album artist, numbers, MusicBrainz, ReplayGain, folder fallbacks
TAGS_META = "tags_version"
SKIPPED_META = "skipped_files"  # catalog meta: JSON {extension: count} of the last scan's non-audio files


def file_hash(path: str, size: int) -> str:
    """Fingerprint of the bytes (size + first and last 64 KiB): equal for copies of one file."""
    h = hashlib.sha1(str(size).encode())
    try:
        with open(path, "rb") as f:
            h.update(f.read(65536))
            if size > 131072:
                f.seek(size - 65536)
                h.update(f.read(65536))
    except OSError:
        return ""
    return h.hexdigest()


def walk_audio(roots: Iterable[str], problems: list[tuple[str, str]],
               skipped: dict[str, int] | None = None) -> Iterator[tuple[str, os.stat_result]]:
    """(absolute path, stat) of every audio file under `roots` (files in `roots` are taken as they are).

    Other files met in the folders are counted by extension in `skipped`, so the user can see what was
    left out.
    """
    seen_dirs: set[tuple[int, int]] = set()
    stack: list[str] = []
    for root in roots:
        root = os.path.abspath(root)
        if os.path.isfile(root):
            if is_audio_path(root):
                try:
                    yield root, os.stat(root)
                except OSError as e:
                    problems.append((root, e.strerror or str(e)))
            else:
                problems.append((root, "not a supported audio file"))
        elif os.path.isdir(root):
            stack.append(root)
        else:
            problems.append((root, "no such file or folder"))
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen_dirs:
                continue  # a symlink loop or a second link to a folder already walked
            seen_dirs.add((st.st_dev, st.st_ino))
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as e:
            problems.append((folder, f"cannot read folder: {e.strerror or e}"))
            continue
        subdirs = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=True):
                    subdirs.append(entry.path)
                elif entry.is_file(follow_symlinks=True):
                    if is_audio_path(entry.name):
                        yield entry.path, entry.stat(follow_symlinks=True)
                    elif skipped is not None:
                        kind = skipped_kind(entry.name)
                        skipped[kind] = skipped.get(kind, 0) + 1
            except OSError as e:  # dangling symlink, permission, vanished meanwhile
                if is_audio_path(entry.name):
                    problems.append((entry.path, e.strerror or str(e)))
        stack.extend(reversed(subdirs))


def scan(catalog: Catalog, roots: Iterable[str], *, remember: bool = True, prune: bool = True) -> Iterator:
    """Bring the catalog in line with the files under `roots`; yields Progress, then a ScanSummary.

    `prune`: catalog tracks under a scanned folder that no longer exist are listed in
    `summary.removed`; the caller forgets them everywhere with `Library.remove_tracks`.
    """
    roots = [os.path.abspath(r) for r in roots]
    summary = ScanSummary()
    if remember:
        for r in roots:
            if os.path.isdir(r):
                catalog.add_folder(r)
    known = catalog.file_states()
    retag = catalog.meta(TAGS_META) != TAGS_VERSION and bool(known)
    seen: set[str] = set()
    last_emit = 0.0
    for n, (path, st) in enumerate(walk_audio(roots, summary.problems, summary.skipped), start=1):
        seen.add(path)
        state = known.get(path)
        if state is not None and state[1] == st.st_size and abs(state[2] - st.st_mtime) < 1e-6:
            summary.unchanged += 1
            if retag:
                track = Track(id=state[0], path=path, **read_tags(path, root=_root_of(path, roots)))
                catalog.update_tags(track)
                summary.retagged.append(track.id)
        else:
            tags = read_tags(path, root=_root_of(path, roots))
            track = Track(id=state[0] if state else 0, path=path, size=st.st_size, mtime=st.st_mtime,
                          file_hash=file_hash(path, st.st_size), added_at=time.time(), **tags)
            if state is None:
                summary.added.append(catalog.add_track(track))
            else:
                catalog.update_file(track)
                summary.changed.append(track.id)
        now = time.monotonic()
        if now - last_emit > 0.05:
            last_emit = now
            yield Progress("scan", n, 0, path)
    if prune:
        dirs = [r.rstrip(os.sep) + os.sep for r in roots if os.path.isdir(r)]
        gone = [
            tid for path, (tid, _, _) in known.items()
            if path not in seen and (path in roots or any(path.startswith(d) for d in dirs))
            and not os.path.exists(path)
        ]
        summary.removed = gone
    catalog.set_meta(SKIPPED_META, json.dumps(summary.skipped, sort_keys=True))
    if retag or not known:
        catalog.set_meta(TAGS_META, TAGS_VERSION)
    yield summary


def skipped_files(catalog: Catalog) -> dict[str, int]:
    """The last scan's non-audio files by extension ({} before the first scan)."""
    try:
        return json.loads(catalog.meta(SKIPPED_META) or "{}")
    except ValueError:
        return {}


def _root_of(path: str, roots: list[str]) -> str | None:
    """The scanned folder holding `path` (the deepest one), for folder-derived album and artist."""
    inside = [r for r in roots if path.startswith(r.rstrip(os.sep) + os.sep)]
    return max(inside, key=len) if inside else None


def missing_tracks(catalog: Catalog) -> list[int]:
    """Catalog tracks whose file no longer exists anywhere (for a whole-library rescan)."""
    return [tid for path, (tid, _, _) in catalog.file_states().items() if not os.path.exists(path)]
