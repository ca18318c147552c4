"""Find audio files and keep the catalog in step with the disk: new, changed, unchanged, vanished.

Change detection is size + mtime (cheap, what every player does); a changed file goes back to
pending and loses its old vectors. A link inside a scanned folder is never followed out of the scanned
folders (a link to `..` would walk the whole disk) nor twice into them (its target is scanned under its
real path, once); an unreadable folder is reported and skipped, never fatal. A generator of `Progress`
events, ending with a `ScanSummary`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator

from desktop.core.catalog import Catalog, Track
from desktop.core.cue import file_of
from desktop.core.cue_tracks import embedded, external_sheets, sheet_files, track_entries
from desktop.core.events import Progress, ScanSummary
from desktop.core.formats import is_audio_path, skipped_kind
from desktop.core.paths import ABSENT, NOT_REGULAR, path_problem, shown
from desktop.core.tags import read_tags_and_sheet

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
               skipped: dict[str, int] | None = None,
               sheets: list[str] | None = None) -> Iterator[tuple[str, os.stat_result]]:
    """(absolute path, stat) of every audio file under `roots` (files in `roots` are taken as they are).

    CUE sheets met (beside a given file, too) go to `sheets`; other files are counted by extension in
    `skipped`, so the user can see what was left out.
    """
    seen_dirs: set[tuple[int, int]] = set()
    stack: list[str] = []
    roots = list(roots)
    real_roots = [os.path.realpath(r) for r in roots if os.path.isdir(r)]
    for root in roots:
        root = os.path.abspath(root)
        if os.path.isfile(root) and root.lower().endswith(".cue") and sheets is not None:
            sheets.append(root)  # a sheet given (dropped, opened): its album files, as tracks
            for audio in sheet_files(root):
                try:
                    yield audio, os.stat(audio)
                except OSError as e:
                    problems.append((audio, e.strerror or str(e)))
        elif os.path.isfile(root):
            if is_audio_path(root):
                if sheets is not None:
                    sheets += _sheets_beside(root)
                try:
                    yield root, os.stat(root)
                except OSError as e:
                    problems.append((root, e.strerror or str(e)))
            else:
                problems.append((root, "not a supported audio file"))
        elif os.path.isdir(root):
            stack.append(root)
        else:
            problems.append((root, path_problem(root) or ABSENT))
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
                if entry.is_symlink():
                    _link_problem(entry, real_roots, problems)  # followed only where it stays inside
                    continue
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    if is_audio_path(entry.name):
                        yield entry.path, entry.stat(follow_symlinks=False)
                    elif sheets is not None and entry.name.lower().endswith(".cue"):
                        sheets.append(entry.path)
                    elif skipped is not None:
                        kind = skipped_kind(entry.name)
                        skipped[kind] = skipped.get(kind, 0) + 1
                elif is_audio_path(entry.name):  # a FIFO, socket or device named like audio: never read
                    problems.append((entry.path, NOT_REGULAR))
            except OSError as e:  # permission, vanished meanwhile
                if is_audio_path(entry.name):
                    problems.append((entry.path, e.strerror or str(e)))
        stack.extend(reversed(subdirs))


def _link_problem(entry: os.DirEntry, real_roots: list[str], problems: list[tuple[str, str]]) -> None:
    """A link met inside a scanned folder. Its target is never walked through the link: inside a scanned
    folder it is scanned under its real path (once, not twice), outside them (a link to `..`, to another
    disk) it is reported, not followed: the scan stays within the folders the user chose. Links to
    nothing, or into a loop, are reported when they are named like audio (quietly skipped otherwise)."""
    target = os.path.realpath(entry.path)
    if not os.path.exists(target):
        if is_audio_path(entry.name):
            problems.append((entry.path, "a link to nothing (a broken link or a loop)"))
        return
    if any(_inside(target, r) for r in real_roots):
        return
    if os.path.isdir(target) or is_audio_path(target) or is_audio_path(entry.name):
        problems.append((entry.path, f"a link out of the scanned folders (to {shown(target)}): not followed; "
                                     "add that folder itself to scan it"))


def scan(catalog: Catalog, roots: Iterable[str], *, remember: bool = True, prune: bool = True) -> Iterator:
    """Bring the catalog in line with the files under `roots`; yields Progress, then a ScanSummary.

    Vanished files are never deleted: they are marked missing (kept with their vectors, hidden) and come
    back when the file does; a new path with the content of a vanished track is that track, moved. A root
    that is absent or an empty folder, or in which every known file vanished at once (an unplugged drive,
    an unmounted share), while the catalog knows tracks under it is reported in `summary.unavailable` and
    left as it is.
    `summary.removed`: CUE entries replaced by a new layout; the caller forgets them.
    """
    roots = [os.path.realpath(r) for r in roots]  # a folder indexed again through a symlink is the same folder
    summary = ScanSummary()
    known_paths = catalog.file_states()
    for r in list(roots):
        away = not os.path.lexists(r) or (os.path.isdir(r) and not os.listdir(r))
        if away and any(p == r or p.startswith(r.rstrip(os.sep) + os.sep) for p in known_paths):
            summary.unavailable.append(r)
            roots.remove(r)
    if remember:
        for r in roots:
            if os.path.isdir(r):
                catalog.add_folder(r)
    known = catalog.file_states()
    retag = catalog.meta(TAGS_META) != TAGS_VERSION and bool(known)
    with_tracks = {file_of(p) for p in known if "#t=" in p}  # files shown as their CUE tracks last time
    seen: set[str] = set()
    sheets: list[str] = []
    files = list(walk_audio(roots, summary.problems, summary.skipped, sheets))
    covered = external_sheets(sheets, summary.problems)
    as_tracks: set[str] = set()  # files shown as their CUE tracks after this scan (the whole file is hidden)
    last_emit = 0.0
    for n, (path, st) in enumerate(files, start=1):
        state = known.get(path)
        if state is not None and state.missing_since is not None:
            catalog.mark_present([state.id])
            summary.returned.append(state.id)
        same = state is not None and state[1] == st.st_size and abs(state[2] - st.st_mtime) < 1e-6
        if path not in covered and path not in with_tracks and same:
            seen.add(path)
            summary.unchanged += 1
            if retag:
                track = Track(id=state[0], path=path, **_tags(path, roots)[0])
                catalog.update_tags(track)
                summary.retagged.append(track.id)
        else:
            tags, sheet_text = _tags(path, roots)
            sheet = covered.get(path) or (embedded(path, sheet_text, st.st_mtime) if sheet_text else None)
            entries = track_entries(path, sheet, tags, summary.problems) if sheet else []
            if entries:
                as_tracks.add(path)
            else:  # a plain file (or a sheet that gave no usable track)
                entries = [(path, tags)]
            base_hash = file_hash(path, st.st_size)
            mtime = max(st.st_mtime, sheet.mtime) if sheet else st.st_mtime
            for entry_path, entry_tags in entries:
                seen.add(entry_path)
                if entry_path == path and state is None and _moved_here(catalog, summary, path, st, base_hash):
                    continue
                _store(catalog, summary, known.get(entry_path), entry_path, st.st_size, mtime,
                       base_hash if entry_path == path else _range_hash(base_hash, entry_path), entry_tags)
        now = time.monotonic()
        if now - last_emit > 0.05:
            last_emit = now
            yield Progress("scan", n, len(files), shown(path), added=len(summary.added))
    if prune:
        dirs = [r.rstrip(os.sep) + os.sep for r in roots if os.path.isdir(r)]
        under = [(path, st) for path, st in known.items()
                 if path not in seen and (path in roots or any(path.startswith(d) for d in dirs))]
        # CUE tracks no sheet names any more, whole files now shown as tracks: replaced, so forgotten
        # and a file reached through a link before (a second entry for a file now scanned under its real path)
        summary.removed = [st.id for path, st in under if os.path.exists(file_of(path))
                           and (path in as_tracks or "#t=" in path or os.path.realpath(path) in seen)]
        # vanished files: kept with their vectors (a drive may come back), hidden until they do
        gone = [(path, st) for path, st in under if not os.path.exists(file_of(path))
                and st.missing_since is None and st.id not in summary.moved]
        gone_paths = {p for p, _ in gone}
        for r in roots:  # every known file under a root gone at once: the drive, not the music, is away
            present = [p for p, st in known.items() if _inside(file_of(p), r) and st.missing_since is None]
            if present and all(p in gone_paths for p in present):
                summary.unavailable.append(r)
                gone = [(p, st) for p, st in gone if not _inside(file_of(p), r)]
        summary.missing = [st.id for _, st in gone]
        catalog.mark_missing(summary.missing)
    catalog.set_meta(SKIPPED_META, json.dumps(summary.skipped, sort_keys=True))
    if retag or not known:
        catalog.set_meta(TAGS_META, TAGS_VERSION)
    yield summary


def _moved_here(catalog: Catalog, summary: ScanSummary, path: str, st: os.stat_result, fingerprint: str) -> bool:
    """A new path with the content of a track whose file is gone: that track moved or was renamed, and
    keeps its id, vector, tags and made-up artist (the indexer rewrites its store payload)."""
    lost = catalog.lost_by_hash(fingerprint, st.st_size) if fingerprint else []
    if not lost:
        return False
    catalog.move(lost[0].id, path, st.st_mtime)
    summary.moved.append(lost[0].id)
    return True


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _tags(path: str, roots: list[str]) -> tuple[dict, str]:
    """The file's tags (fallbacks included) and the text of a CUE sheet embedded in them ('' if none)."""
    return read_tags_and_sheet(path, root=_root_of(path, roots))


def _store(catalog: Catalog, summary: ScanSummary, state, path: str, size: int, mtime: float, fingerprint: str,
           tags: dict) -> None:
    """Add or update one library entry (a file, or one CUE track of it) unless it is unchanged."""
    if state is not None and state[1] == size and abs(state[2] - mtime) < 1e-6:
        summary.unchanged += 1
        return
    track = Track(id=state[0] if state else 0, path=path, size=size, mtime=mtime, file_hash=fingerprint,
                  added_at=time.time(), **tags)
    if state is None:
        summary.added.append(catalog.add_track(track))
    else:
        catalog.update_file(track)
        summary.changed.append(track.id)


def _range_hash(file_fingerprint: str, track_path: str) -> str:
    """A CUE track's fingerprint: its file's and its range (tracks of one file are not copies of each other)."""
    if not file_fingerprint:
        return ""
    return hashlib.sha1((file_fingerprint + track_path.rsplit("#t=", 1)[1]).encode()).hexdigest()


def _sheets_beside(audio_path: str) -> list[str]:
    folder = os.path.dirname(audio_path)
    try:
        return [e.path for e in os.scandir(folder) if e.name.lower().endswith(".cue") and e.is_file()]
    except OSError:
        return []


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
    return [st.id for path, st in catalog.file_states().items()
            if st.missing_since is None and not os.path.exists(file_of(path))]
