"""Playlists other players read: M3U8 and XSPF out, M3U/M3U8/XSPF in.

Export writes UTF-8 M3U8 (`#EXTINF:<seconds>,<artist> - <title>`) with paths absolute or relative to
the playlist's folder, and XSPF (file URIs). A file name that is not valid UTF-8 (Linux keeps names
as bytes; Python holds the odd bytes as surrogates) cannot be written as UTF-8 text: M3U8 then gets a
percent-encoded `file://` URI, which VLC, mpv and Soundalike read back to the same bytes.
Import resolves relative paths and file URIs, reads legacy .m3u as UTF-8 or else as the system's
bytes, and reports the entries the library does not hold.

A stretch of a file (a CUE track, whose library path is `Album.flac#t=245.200,512.867`, or a passage
found by `soundalike passages`) is written as the file itself plus VLC's start/stop options:
`#EXTVLCOPT:start-time=` / `stop-time=` lines before the entry in M3U8, `<vlc:option>` in VLC's
`<extension>` in XSPF. Why these: a Media Fragments path is a file no player finds, and a `.cue`
reference means the whole album; VLC plays exactly the stretch, players that ignore the options (mpv,
Audacious) still open the file, and Soundalike reads the options back to the same library tracks.
"""

from __future__ import annotations

import os
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

from desktop.core.cue import split_track_path, track_path
from desktop.core.errors import SoundalikeError
from desktop.core.paths import NOT_REGULAR, path_problem, shown

XSPF_NS = "http://xspf.org/ns/0/"
VLC_APP = "http://www.videolan.org/vlc/playlist/0"  # the <extension application=...> VLC writes and reads
VLC_NS = "http://www.videolan.org/vlc/playlist/ns/0/"
FORMATS = (".m3u8", ".m3u", ".xspf")


class PlaylistError(SoundalikeError):
    """A playlist that cannot be read or written."""


@dataclass
class Entry:
    path: str
    title: str = ""
    artist: str = ""
    album: str = ""
    duration: float = 0.0  # seconds; 0 = unknown
    track_id: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def of(cls, item) -> Entry:
        """From a catalog Track, a Pick, a SimilarHit or a dict with path/title/artist/duration."""
        get = item.get if isinstance(item, dict) else lambda k, d=None: getattr(item, k, d)
        tid = get("track_id", None)
        if tid is None and not isinstance(item, dict) and hasattr(item, "status"):
            tid = get("id", None)
        return cls(get("path", ""), get("title", "") or "", get("artist", "") or "", get("album", "") or "",
                   float(get("duration", 0) or 0), tid)


def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def file_uri(path: str) -> str:
    return "file://" + urllib.parse.quote(os.fsencode(os.path.abspath(path)))


def _location(path: str, folder: str, relative: bool) -> str:
    if relative:
        try:
            rel = os.path.relpath(path, folder)
            if _utf8_ok(rel):
                return rel.replace(os.sep, "/")
        except ValueError:  # another drive (Windows)
            pass
    return path if _utf8_ok(path) else file_uri(path)


def _range(path: str) -> tuple[str, list[str]]:
    """(the file, VLC options "start-time=…"/"stop-time=…") for a library path; no options for a whole file."""
    parts = split_track_path(path)
    if parts is None:
        return path, []
    file, start, end = parts
    return file, [f"start-time={start:.3f}"] + ([f"stop-time={end:.3f}"] if end is not None else [])


def write_m3u8(target: str | os.PathLike, entries, *, relative: bool = False, title: str = "") -> Path:
    target = Path(target)
    folder = str(target.parent.resolve())
    lines = ["#EXTM3U"] + ([f"#PLAYLIST:{_safe(title)}"] if title else [])
    for e in map(_entry, entries):
        file, options = _range(e.path)
        name = f"{e.artist} - {e.title}" if e.artist else (e.title or os.path.basename(file))
        lines.append(f"#EXTINF:{round(e.duration) if e.duration else -1},{_safe(name)}")
        lines += [f"#EXTVLCOPT:{option}" for option in options]
        lines.append(_location(file, folder, relative))
    _write(target, "\n".join(lines) + "\n")
    return target


def write_xspf(target: str | os.PathLike, entries, *, relative: bool = False, title: str = "") -> Path:
    target = Path(target)
    folder = str(target.parent.resolve())
    ET.register_namespace("", XSPF_NS)
    ET.register_namespace("vlc", VLC_NS)
    root = ET.Element(f"{{{XSPF_NS}}}playlist", version="1")
    if title:
        ET.SubElement(root, f"{{{XSPF_NS}}}title").text = _safe(title)
    tracks = ET.SubElement(root, f"{{{XSPF_NS}}}trackList")
    for e in map(_entry, entries):
        file, options = _range(e.path)
        t = ET.SubElement(tracks, f"{{{XSPF_NS}}}track")
        loc = _location(file, folder, relative)
        if loc == file or loc.startswith("file://"):
            loc = loc if loc.startswith("file://") else file_uri(file)
        else:
            loc = urllib.parse.quote(os.fsencode(loc))
        ET.SubElement(t, f"{{{XSPF_NS}}}location").text = loc
        for tag, value in (("title", e.title), ("creator", e.artist), ("album", e.album)):
            if value:
                ET.SubElement(t, f"{{{XSPF_NS}}}{tag}").text = _safe(value)
        if e.duration:
            ET.SubElement(t, f"{{{XSPF_NS}}}duration").text = str(int(e.duration * 1000))
        if options:
            ext = ET.SubElement(t, f"{{{XSPF_NS}}}extension", application=VLC_APP)
            for option in options:
                ET.SubElement(ext, f"{{{VLC_NS}}}option").text = option
    ET.indent(root)
    _write(target, '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")
    return target


def write_playlist(target: str | os.PathLike, entries, *, relative: bool = False, title: str = "") -> Path:
    """M3U8 or XSPF by the file's extension."""
    ext = Path(target).suffix.lower()
    if ext == ".xspf":
        return write_xspf(target, entries, relative=relative, title=title)
    if ext in (".m3u8", ".m3u"):
        return write_m3u8(target, entries, relative=relative, title=title)
    raise PlaylistError(f"{target}: unknown playlist type {ext or '(none)'}: use .m3u8 or .xspf")


def _ranged(path: str, options: list[str]) -> str:
    """The library path for a file and the VLC start/stop options read with it (other options ignored)."""
    times = {}
    for option in options:
        key, _, value = option.partition("=")
        if key.strip() in ("start-time", "stop-time"):
            try:
                times[key.strip()] = max(0.0, float(value))
            except ValueError:
                continue
    if not times:
        return path
    return track_path(path, times.get("start-time", 0.0), times.get("stop-time"))


def read_playlist(source: str | os.PathLike) -> list[Entry]:
    """The entries of an M3U/M3U8/XSPF file, paths made absolute."""
    source = Path(source)
    ext = source.suffix.lower()
    if path_problem(source) == NOT_REGULAR:  # a link to /dev/zero would be read until memory runs out
        raise PlaylistError(f"{shown(str(source))}: {NOT_REGULAR}")
    try:
        data = source.read_bytes()
    except OSError as e:
        raise PlaylistError(f"{source}: cannot read the playlist ({e.strerror or e})") from e
    folder = str(source.parent.resolve())
    if ext == ".xspf" or data.lstrip()[:5] == b"<?xml":
        return _read_xspf(source, data, folder)
    if ext not in (".m3u", ".m3u8", ".txt", ""):
        raise PlaylistError(f"{source}: not a playlist Soundalike reads (M3U, M3U8 or XSPF)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if ext == ".m3u8":
            raise PlaylistError(f"{source}: an M3U8 playlist must be UTF-8 text") from None
        text = os.fsdecode(data)  # legacy .m3u: the system's bytes, odd ones kept as surrogates
    entries, info, options = [], None, []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#EXTINF:"):
            info = line[len("#EXTINF:") :]
            continue
        if line.startswith("#EXTVLCOPT:"):
            options.append(line[len("#EXTVLCOPT:") :])
            continue
        if line.startswith("#"):
            continue
        e = Entry(_ranged(_resolve(line, folder), options))
        options = []
        if info is not None:
            seconds, _, name = info.partition(",")
            try:
                e.duration = max(0.0, float(seconds.split()[0])) if seconds.strip() else 0.0
            except ValueError:
                e.duration = 0.0
            artist, sep, title = name.partition(" - ")
            e.artist, e.title = (artist.strip(), title.strip()) if sep else ("", name.strip())
            info = None
        entries.append(e)
    return entries


def _read_xspf(source: Path, data: bytes, folder: str) -> list[Entry]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise PlaylistError(f"{source}: not a valid XSPF playlist ({e})") from e
    ns = {"x": XSPF_NS, "vlc": VLC_NS}
    entries = []
    for t in root.iterfind(".//x:trackList/x:track", ns):
        loc = (t.findtext("x:location", "", ns) or "").strip()
        if not loc:
            continue
        text = {k: t.findtext(f"x:{k}", "", ns) or "" for k in ("title", "creator", "album")}
        options = [(o.text or "").strip() for ext in t.iterfind("x:extension", ns)
                   if ext.get("application") == VLC_APP for o in ext.iterfind("vlc:option", ns)]
        e = Entry(_ranged(_resolve(loc, folder, uri=True), options), text["title"], text["creator"], text["album"])
        try:
            e.duration = int(t.findtext("x:duration", "0", ns) or 0) / 1000
        except ValueError:
            pass
        entries.append(e)
    return entries


def _resolve(location: str, folder: str, uri: bool = False) -> str:
    if location.startswith("file://"):
        raw = urllib.parse.unquote_to_bytes(location[len("file://") :])
        if raw.startswith(b"localhost/"):
            raw = raw[len(b"localhost") :]
        return os.fsdecode(raw)
    if uri:  # a relative URI reference
        location = os.fsdecode(urllib.parse.unquote_to_bytes(location))
    if os.sep == "/" and "\\" in location and "/" not in location:  # written on Windows
        location = location.replace("\\", "/")
    path = location if os.path.isabs(location) else os.path.join(folder, location)
    return os.path.normpath(path)


def _entry(item) -> Entry:
    return item if isinstance(item, Entry) else Entry.of(item)


def _safe(text: str) -> str:
    """Text for a UTF-8 file: undecodable bytes (surrogates) become U+FFFD; no line breaks in M3U."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\n", " ").replace("\r", " ")


def _write(target: Path, text: str) -> None:
    """Write next to the target and rename over it: a failed export never leaves half a playlist."""
    tmp = target.with_name(target.name + ".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise PlaylistError(f"{target}: cannot write the playlist ({e.strerror or e})") from e


# A stretch of a file written by hand or by another program ("start-time=245" for a track at 245.213 s)
# is the CUE track of that file starting this close to it.
RANGE_TOLERANCE = 1.0


def _cue_track_near(catalog, path: str):
    parts = split_track_path(path)
    if parts is None:
        return None
    file, start, _ = parts
    best, gap = None, RANGE_TOLERANCE
    for t in catalog.tracks_in_file(file) or catalog.tracks_in_file(os.path.realpath(file)):
        other = split_track_path(t.path)
        if other is not None and abs(other[1] - start) <= gap:
            best, gap = t, abs(other[1] - start)
    return best


def match_library(catalog, entries: list[Entry]) -> tuple[list[int], list[Entry]]:
    """(track ids of the entries the library holds, in order; the entries it does not hold)."""
    found, missing = [], []
    for e in entries:
        t = catalog.by_path(e.path) or catalog.by_path(os.path.realpath(e.path)) or _cue_track_near(catalog, e.path)
        if t is None:
            missing.append(e)
        else:
            e.track_id = t.id
            found.append(t.id)
    return found, missing
