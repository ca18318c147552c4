"""Write tags into test files with mutagen, the way tagging tools (Picard, beets, foobar2000) do.

`FULL` is one complete set of values; `write_tags(path, values)` stores any subset of it in the
container's own tag format: ID3v2.4 (MP3, MP2, AIFF, WAV, DSF, TTA), Vorbis comments (FLAC, Ogg,
Opus), MP4 atoms (AAC/ALAC), APEv2 (APE, WavPack, Musepack) and ASF (WMA).
"""

from __future__ import annotations

from pathlib import Path

FULL = {
    "title": "Blue in Green", "artist": "Ann Example", "albumartist": "The Example Band", "album": "Kind of Test",
    "track": (3, 12), "disc": (1, 2), "date": "2003-05-01", "genre": "Jazz", "compilation": True,
    "mb_recording": "0c7e9d1b-62b5-4b6a-9b8e-1f4d4a0c2f11", "mb_release": "5d2e8f0a-3b1c-4e7d-8a9f-2c6b1d0e4f33",
    "rg_track_gain": "-6.54 dB", "rg_track_peak": "0.987654", "rg_album_gain": "-7.10 dB", "rg_album_peak": "1.000000",
    "cover": True,
}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"

ID3_EXT = {"mp3", "mp2", "aiff", "aif", "wav", "dsf", "tta", "dff"}
VORBIS_EXT = {"flac", "ogg", "oga", "opus"}
MP4_EXT = {"m4a", "alac"}
APE_EXT = {"ape", "wv", "mpc"}
ASF_EXT = {"wma"}
TAGGABLE = sorted(ID3_EXT | VORBIS_EXT | MP4_EXT | APE_EXT | ASF_EXT)


def write_tags(path: str | Path, v: dict) -> None:
    ext = Path(path).suffix.lower().lstrip(".")
    for group, writer in ((ID3_EXT, _id3), (VORBIS_EXT, _vorbis), (MP4_EXT, _mp4), (APE_EXT, _ape), (ASF_EXT, _asf)):
        if ext in group:
            writer(str(path), v)
            return
    raise ValueError(f"no tag writer for .{ext}")


def _pair(n) -> str:
    return f"{n[0]}/{n[1]}" if isinstance(n, tuple) else str(n)


def _id3(path: str, v: dict) -> None:
    import mutagen
    from mutagen import id3

    f = mutagen.File(path)
    if f.tags is None:
        f.add_tags()
    t = f.tags
    simple = {"title": id3.TIT2, "artist": id3.TPE1, "albumartist": id3.TPE2, "album": id3.TALB,
              "date": id3.TDRC, "genre": id3.TCON}
    for key, frame in simple.items():
        if key in v:
            t.add(frame(encoding=3, text=[v[key]]))
    if "track" in v:
        t.add(id3.TRCK(encoding=3, text=[_pair(v["track"])]))
    if "disc" in v:
        t.add(id3.TPOS(encoding=3, text=[_pair(v["disc"])]))
    if v.get("compilation"):
        t.add(id3.TCMP(encoding=3, text=["1"]))
    if "mb_recording" in v:
        t.add(id3.UFID(owner="http://musicbrainz.org", data=v["mb_recording"].encode()))
    if "mb_release" in v:
        t.add(id3.TXXX(encoding=3, desc="MusicBrainz Album Id", text=[v["mb_release"]]))
    for key in ("rg_track_gain", "rg_track_peak", "rg_album_gain", "rg_album_peak"):
        if key in v:  # Picard and beets write lower case, foobar2000 upper case: both are read
            t.add(id3.TXXX(encoding=3, desc=key.replace("rg_", "REPLAYGAIN_").upper(), text=[v[key]]))
    if v.get("cover"):
        t.add(id3.APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=JPEG))
    f.save()


def _vorbis(path: str, v: dict) -> None:
    import mutagen
    from mutagen.flac import Picture

    f = mutagen.File(path)
    if f.tags is None:
        f.add_tags()
    keys = {"title": "TITLE", "artist": "ARTIST", "albumartist": "ALBUMARTIST", "album": "ALBUM", "date": "DATE",
            "genre": "GENRE", "mb_recording": "MUSICBRAINZ_TRACKID", "mb_release": "MUSICBRAINZ_ALBUMID",
            "rg_track_gain": "REPLAYGAIN_TRACK_GAIN", "rg_track_peak": "REPLAYGAIN_TRACK_PEAK",
            "rg_album_gain": "REPLAYGAIN_ALBUM_GAIN", "rg_album_peak": "REPLAYGAIN_ALBUM_PEAK"}
    for key, name in keys.items():
        if key in v:
            f[name] = [v[key]]
    if "track" in v:  # the Vorbis way: number and total apart
        f["TRACKNUMBER"], f["TRACKTOTAL"] = str(v["track"][0]), str(v["track"][1])
    if "disc" in v:
        f["DISCNUMBER"], f["DISCTOTAL"] = str(v["disc"][0]), str(v["disc"][1])
    if v.get("compilation"):
        f["COMPILATION"] = "1"
    if v.get("cover"):
        pic = Picture()
        pic.type, pic.mime, pic.data = 3, "image/jpeg", JPEG
        if hasattr(f, "add_picture"):
            f.add_picture(pic)
        else:
            import base64

            f["METADATA_BLOCK_PICTURE"] = [base64.b64encode(pic.write()).decode("ascii")]
    f.save()


def _mp4(path: str, v: dict) -> None:
    from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm

    f = MP4(path)
    if f.tags is None:
        f.add_tags()
    keys = {"title": "\xa9nam", "artist": "\xa9ART", "albumartist": "aART", "album": "\xa9alb", "date": "\xa9day",
            "genre": "\xa9gen"}
    for key, atom in keys.items():
        if key in v:
            f[atom] = [v[key]]
    if "track" in v:
        f["trkn"] = [v["track"]]
    if "disc" in v:
        f["disk"] = [v["disc"]]
    if v.get("compilation"):
        f["cpil"] = True
    free = {"mb_recording": "MusicBrainz Track Id", "mb_release": "MusicBrainz Album Id",
            "rg_track_gain": "replaygain_track_gain", "rg_track_peak": "replaygain_track_peak",
            "rg_album_gain": "replaygain_album_gain", "rg_album_peak": "replaygain_album_peak"}
    for key, name in free.items():
        if key in v:
            f["----:com.apple.iTunes:" + name] = [MP4FreeForm(v[key].encode())]
    if v.get("cover"):
        f["covr"] = [MP4Cover(JPEG, imageformat=MP4Cover.FORMAT_JPEG)]
    f.save()


def _ape(path: str, v: dict) -> None:
    from mutagen.apev2 import BINARY, APENoHeaderError, APEv2, APEValue

    try:
        t = APEv2(path)
    except APENoHeaderError:
        t = APEv2()
    keys = {"title": "Title", "artist": "Artist", "albumartist": "Album Artist", "album": "Album", "date": "Year",
            "genre": "Genre", "mb_recording": "MUSICBRAINZ_TRACKID", "mb_release": "MUSICBRAINZ_ALBUMID",
            "rg_track_gain": "REPLAYGAIN_TRACK_GAIN", "rg_track_peak": "REPLAYGAIN_TRACK_PEAK",
            "rg_album_gain": "REPLAYGAIN_ALBUM_GAIN", "rg_album_peak": "REPLAYGAIN_ALBUM_PEAK"}
    for key, name in keys.items():
        if key in v:
            t[name] = v[key]
    if "track" in v:
        t["Track"] = _pair(v["track"])
    if "disc" in v:
        t["Disc"] = _pair(v["disc"])
    if v.get("compilation"):
        t["Compilation"] = "1"
    if v.get("cover"):
        t["Cover Art (Front)"] = APEValue(b"cover.jpg\0" + JPEG, BINARY)
    t.save(path)


def _asf(path: str, v: dict) -> None:
    from mutagen.asf import ASF, ASFByteArrayAttribute

    f = ASF(path)
    keys = {"title": "Title", "artist": "Author", "albumartist": "WM/AlbumArtist", "album": "WM/AlbumTitle",
            "date": "WM/Year", "genre": "WM/Genre", "mb_recording": "MusicBrainz/Track Id",
            "mb_release": "MusicBrainz/Album Id", "rg_track_gain": "replaygain_track_gain",
            "rg_track_peak": "replaygain_track_peak", "rg_album_gain": "replaygain_album_gain",
            "rg_album_peak": "replaygain_album_peak"}
    for key, name in keys.items():
        if key in v:
            f[name] = [v[key]]
    if "track" in v:
        f["WM/TrackNumber"] = [str(v["track"][0])]
        f["TotalTracks"] = [str(v["track"][1])]
    if "disc" in v:
        f["WM/PartOfSet"] = [_pair(v["disc"])]
    if v.get("compilation"):
        f["WM/IsCompilation"] = [True]
    if v.get("cover"):
        import struct

        blob = struct.pack("<bI", 3, len(JPEG)) + "image/jpeg\0".encode("utf-16-le") + "\0".encode("utf-16-le") + JPEG
        f["WM/Picture"] = [ASFByteArrayAttribute(blob)]
    f.save()
