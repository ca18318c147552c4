"""Tag values out of any container, read the way tagging tools (beets, Picard, foobar2000) write them.

Why one flattening step: ID3 (MP3, MP2, AIFF, WAV, DSF, DFF), Vorbis comments (FLAC, Ogg, Opus),
MP4 atoms, APEv2 (APE, WavPack, Musepack, TTA) and ASF (WMA) name the same field differently. Each
container's tags become one {lower-case key: [text]} dict; `ALIASES` then lists, per field, the keys
tools use for it, so adding a container or a spelling is one line. Files mutagen does not know
(Matroska, WebM, Wave64) are read through FFmpeg's metadata instead.
"""

from __future__ import annotations

import re

# Our field -> the flattened keys tools write it under, most specific first.
ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "tit2", "©nam"),
    "artist": ("artist", "tpe1", "©art", "author"),
    "album_artist": ("albumartist", "album artist", "album_artist", "tpe2", "aart", "wm/albumartist"),
    "album": ("album", "talb", "©alb", "wm/albumtitle"),
    "track": ("tracknumber", "track", "trck", "trkn", "wm/tracknumber"),
    "track_total": ("tracktotal", "totaltracks", "track_total"),
    "disc": ("discnumber", "disc", "tpos", "disk", "wm/partofset"),
    "disc_total": ("disctotal", "totaldiscs", "disc_total"),
    "date": ("date", "tdrc", "tyer", "©day", "year", "wm/year", "originaldate", "tdor"),
    "genre": ("genre", "tcon", "©gen", "wm/genre"),
    "compilation": ("compilation", "tcmp", "cpil", "wm/iscompilation"),
    "mb_recording_id": ("musicbrainz_trackid", "ufid:http://musicbrainz.org", "txxx:musicbrainz track id",
                        "----:com.apple.itunes:musicbrainz track id", "musicbrainz/track id",
                        "musicbrainz track id"),
    "mb_release_id": ("musicbrainz_albumid", "txxx:musicbrainz album id", "----:com.apple.itunes:musicbrainz album id",
                      "musicbrainz/album id", "musicbrainz album id"),
    "rg_track_gain": ("replaygain_track_gain", "txxx:replaygain_track_gain",
                      "----:com.apple.itunes:replaygain_track_gain"),
    "rg_track_peak": ("replaygain_track_peak", "txxx:replaygain_track_peak",
                      "----:com.apple.itunes:replaygain_track_peak"),
    "rg_album_gain": ("replaygain_album_gain", "txxx:replaygain_album_gain",
                      "----:com.apple.itunes:replaygain_album_gain"),
    "rg_album_peak": ("replaygain_album_peak", "txxx:replaygain_album_peak",
                      "----:com.apple.itunes:replaygain_album_peak"),
}
COVER_KEYS = ("apic", "covr", "metadata_block_picture", "coverart", "cover art (front)", "cover art (back)",
              "wm/picture")

_NUMBER = re.compile(r"^\s*(\d+)\s*(?:/\s*(\d+))?")
_YEAR = re.compile(r"(\d{4})")
_FLOAT = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def flatten(f) -> tuple[dict[str, list[str]], bool]:
    """(lower-case key -> text values, has embedded cover) for a mutagen FileType (never raises)."""
    out: dict[str, list[str]] = {}
    cover = bool(getattr(f, "pictures", None))  # FLAC picture blocks
    tags = getattr(f, "tags", None)
    if tags is None:
        return out, cover
    try:
        items = list(tags.items())
    except Exception:  # a tag block mutagen parsed only partly
        return out, cover
    for key, value in items:
        key = str(key).lower()
        base = key.split(":", 1)[0]
        if base in COVER_KEYS or key in COVER_KEYS:
            cover = True
            continue
        if base in ("txxx", "ufid", "----"):  # ID3 user frames and MP4 freeform atoms keep their description
            key = _described_key(key, value)
        else:
            key = key.split(":", 1)[0] if base in ("comm", "uslt", "priv", "geob") else key
        texts = _texts(value)
        if texts:
            out.setdefault(key, []).extend(texts)
    return out, cover


def _described_key(key: str, value) -> str:
    desc = getattr(value, "desc", None) if key.startswith("txxx") else None
    owner = getattr(value, "owner", None) if key.startswith("ufid") else None
    if desc is not None:
        return "txxx:" + str(desc).lower()
    if owner is not None:
        return "ufid:" + str(owner).lower()
    return key


def _texts(value) -> list[str]:
    """Every text a tag value holds (ID3 frames, MP4 tuples and bytes, APE and ASF values, lists)."""
    if hasattr(value, "genres"):  # ID3 TCON: "(13)" and "Rock" both become names
        return [g for g in value.genres if g]
    if hasattr(value, "data") and not hasattr(value, "text"):  # ID3 UFID
        return [_decode(value.data)]
    if hasattr(value, "text"):  # ID3 text frames; TDRC holds ID3TimeStamp objects
        value = value.text
    if getattr(value, "kind", None) == 1:  # an APEv2 binary item (pictures are caught earlier)
        return []
    if not isinstance(value, (list, tuple)):
        value = [value]
    out = []
    for v in value:
        if isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, int) for x in v):  # MP4 trkn/disk
            out.append(f"{v[0]}/{v[1]}" if v[1] else str(v[0]))
        elif isinstance(v, (bytes, bytearray)):
            out.append(_decode(v))
        elif isinstance(v, bool):
            out.append("1" if v else "0")
        else:
            text = str(getattr(v, "value", v))
            out.extend(part for part in text.split("\0") if part)  # APEv2 separates values with NUL
    return [t.strip() for t in out if t and t.strip()]


def _decode(data: bytes) -> str:
    try:
        return bytes(data).decode("utf-8").strip("\0 ")
    except UnicodeDecodeError:
        return bytes(data).decode("latin-1").strip("\0 ")


def pick(flat: dict[str, list[str]], field: str) -> str:
    for key in ALIASES[field]:
        for value in flat.get(key, ()):
            if value:
                return value
    return ""


def number_pair(text: str) -> tuple[int | None, int | None]:
    """'3/12' -> (3, 12); '3' -> (3, None); '' or junk -> (None, None); 0 means unknown."""
    m = _NUMBER.match(text or "")
    if not m:
        return None, None
    n, total = int(m.group(1)), int(m.group(2)) if m.group(2) else None
    return (n or None), (total or None)


def year_of(text: str) -> int | None:
    """The first plausible 4-digit year ('2003-05-01', '2003', 'Mar 2003'); None for '', '0', '0000'."""
    m = _YEAR.search(text or "")
    if not m:
        return None
    year = int(m.group(1))
    return year if 1000 <= year <= 2999 else None


def gain_of(text: str) -> float | None:
    """'-6.54 dB' -> -6.54; a peak '0.98765' -> 0.98765; junk -> None."""
    m = _FLOAT.search(text or "")
    if not m:
        return None
    try:
        return float(m.group(0).replace(",", "."))
    except ValueError:
        return None


def truthy(text: str) -> bool:
    return (text or "").strip().lower() in ("1", "true", "yes", "y")


def opus_r128_to_replaygain(flat: dict[str, list[str]]) -> None:
    """Opus keeps R128 gains (Q7.8 dB relative to -23 LUFS); ReplayGain's reference is -18 LUFS (+5 dB)."""
    for r128, rg in (("r128_track_gain", "replaygain_track_gain"), ("r128_album_gain", "replaygain_album_gain")):
        if rg not in flat and flat.get(r128):
            try:
                flat[rg] = [f"{int(flat[r128][0]) / 256 + 5:.2f} dB"]
            except ValueError:
                pass


def ffmpeg_metadata(path: str) -> tuple[dict[str, list[str]], float]:
    """Tags and duration through FFmpeg, for containers mutagen does not read (Matroska, WebM, Wave64)."""
    import av

    try:
        with av.open(path, metadata_errors="ignore") as c:
            meta = dict(c.metadata)
            if c.streams.audio:
                meta.update({k: v for k, v in c.streams.audio[0].metadata.items() if k.lower() not in meta})
            duration = c.duration / 1_000_000 if c.duration else 0.0
    except Exception:  # the decoder will report what is wrong with the file
        return {}, 0.0
    return {str(k).lower(): [str(v)] for k, v in meta.items() if str(v).strip()}, float(duration)
