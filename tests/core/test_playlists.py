"""M3U8 and XSPF: round trips with unicode and non-UTF-8 names, relative paths, bad files."""

from __future__ import annotations

import os

import pytest

from desktop.core.catalog import Catalog, Track
from desktop.core.cue import track_path
from desktop.core.playlists import Entry, PlaylistError, match_library, read_playlist, write_playlist

ODD = os.fsdecode(b"caf\xe9 latin1.flac")  # a Latin-1 file name: not valid UTF-8


@pytest.fixture
def entries(tmp_path):
    music = tmp_path / "music" / "Ωmega"
    music.mkdir(parents=True)
    out = []
    for name, artist, title, dur in (("Björk – Jóga.flac", "Björk", "Jóga", 305.4), (ODD, "", "café", 61.0),
                                     ("plain.mp3", "A, B", "x - y", 0.0)):
        p = music / name
        p.write_bytes(b"not really audio")
        out.append(Entry(str(p), title, artist, "Homogenic" if artist else "", dur))
    return out


@pytest.mark.parametrize("ext", [".m3u8", ".xspf"])
@pytest.mark.parametrize("relative", [False, True])
def test_round_trip(tmp_path, entries, ext, relative):
    target = tmp_path / "lists" / f"mix{ext}"
    write_playlist(target, entries, relative=relative)
    back = read_playlist(target)
    assert [e.path for e in back] == [e.path for e in entries]
    assert all(os.path.exists(e.path) for e in back)
    assert back[0].title == "Jóga" and back[0].artist == "Björk"
    assert abs(back[0].duration - 305) < 1
    data = target.read_bytes()
    data.decode("utf-8")  # the playlist itself is valid UTF-8
    if relative:
        assert b"../music/" in data or b"..%2Fmusic" in data or b"../music" in data


def test_m3u8_text_is_what_players_expect(tmp_path, entries):
    target = write_playlist(tmp_path / "mix.m3u8", entries)
    lines = target.read_text("utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    assert lines[1] == "#EXTINF:305,Björk - Jóga" and lines[2] == entries[0].path
    assert lines[4].startswith("file://") and "caf%E9" in lines[4]  # the odd name as a file URI
    assert lines[5] == "#EXTINF:-1,A, B - x - y"


def test_relative_m3u_written_elsewhere_and_legacy_latin1(tmp_path, entries):
    folder = os.path.dirname(entries[0].path)
    legacy = os.path.join(folder, "old.m3u")
    with open(legacy, "wb") as f:  # a legacy playlist in Latin-1 with a relative entry
        f.write(b"#EXTM3U\n#EXTINF:61,caf\xe9\ncaf\xe9 latin1.flac\n\nplain.mp3\n")
    back = read_playlist(legacy)
    assert [e.path for e in back] == [entries[1].path, entries[2].path]


def test_bad_playlists_are_one_clear_error(tmp_path):
    bad = tmp_path / "broken.xspf"
    bad.write_text("<playlist><trackList><track>")
    with pytest.raises(PlaylistError, match="broken.xspf: not a valid XSPF"):
        read_playlist(bad)
    with pytest.raises(PlaylistError, match="cannot read"):
        read_playlist(tmp_path / "nope.m3u8")
    m3u8 = tmp_path / "bad.m3u8"
    m3u8.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(PlaylistError, match="must be UTF-8"):
        read_playlist(m3u8)
    with pytest.raises(PlaylistError, match="use .m3u8 or .xspf"):
        write_playlist(tmp_path / "x.pls", [])


def test_import_matches_the_library_and_reports_the_rest(listening, tmp_path):
    lib, _ = listening
    tracks = lib.catalog.tracks(limit=3)
    lst = write_playlist(tmp_path / "p.m3u8", [*tracks, Entry("/nowhere/gone.flac", "gone")], relative=True)
    found, missing = match_library(lib.catalog, read_playlist(lst))
    assert found == [t.id for t in tracks]
    assert [e.path for e in missing] == ["/nowhere/gone.flac"]


@pytest.mark.parametrize("ext", [".m3u8", ".xspf"])
@pytest.mark.parametrize("relative", [False, True])
def test_cue_tracks_export_as_vlc_ranges_and_import_as_the_same_tracks(tmp_path, ext, relative):
    album = tmp_path / "music" / "Live at the Roxy.flac"
    album.parent.mkdir()
    album.write_bytes(b"not really audio")
    other = tmp_path / "music" / "single.flac"
    other.write_bytes(b"not really audio")
    cat = Catalog(tmp_path / "lib.sqlite3")
    spans = ((0.0, 245.2), (245.2, 512.867), (512.867, None))
    ids = [cat.add_track(Track(id=0, path=track_path(str(album), a, b), title=f"Song {i}", artist="Band",
                               duration=(b or 600.0) - a)) for i, (a, b) in enumerate(spans, 1)]
    ids.append(cat.add_track(Track(id=0, path=str(other), title="Single", artist="Band", duration=200.0)))
    target = write_playlist(tmp_path / "lists" / f"live{ext}", cat.many(ids).values(), relative=relative)
    text = target.read_text("utf-8")
    assert "#t=" not in text  # no made-up file names: the album file, and where to start and stop in it
    if ext == ".m3u8":
        first = text.splitlines()[1:5]
        assert first[0] == "#EXTINF:245,Band - Song 1" and first[1:3] == ["#EXTVLCOPT:start-time=0.000",
                                                                       "#EXTVLCOPT:stop-time=245.200"]
        assert first[3] == ("../music/Live at the Roxy.flac" if relative else str(album))
        assert "#EXTVLCOPT:start-time=512.867\n" + first[3] + "\n" in text  # the last track: no stop
    else:
        assert 'xmlns:vlc="http://www.videolan.org/vlc/playlist/ns/0/"' in text
        assert '<extension application="http://www.videolan.org/vlc/playlist/0">' in text
        assert "<vlc:option>start-time=245.200</vlc:option>" in text
        assert "<vlc:option>stop-time=512.867</vlc:option>" in text
    back = read_playlist(target)
    assert [e.path for e in back] == [cat.get(i).path for i in ids]
    assert match_library(cat, back) == (ids, [])
    cat.close()


def test_vlc_ranges_written_by_hand_read_as_ranges(tmp_path):
    (tmp_path / "a.flac").write_bytes(b"x")
    lst = tmp_path / "hand.m3u"
    lst.write_text("#EXTM3U\n#EXTVLCOPT:network-caching=1000\n#EXTVLCOPT:start-time=14\na.flac\na.flac\n"
                   "#EXTVLCOPT:stop-time=30.5\n#EXTVLCOPT:start-time=bad\na.flac\n")
    a = str(tmp_path / "a.flac")
    assert [e.path for e in read_playlist(lst)] == [track_path(a, 14.0, None), a, track_path(a, 0.0, 30.5)]


def test_a_range_close_to_a_cue_tracks_start_finds_that_track(tmp_path):
    album = tmp_path / "Album.flac"
    album.write_bytes(b"x")
    cat = Catalog(tmp_path / "lib.sqlite3")
    ids = [cat.add_track(Track(id=0, path=track_path(str(album), a, b))) for a, b in ((0.0, 245.213),
                                                                                    (245.213, None))]
    cat.add_track(Track(id=0, path=track_path(str(album) + ".bak", 245.0, None)))  # another file's track
    lst = tmp_path / "vlc.m3u"  # as written by hand (or by VLC) with whole seconds
    lst.write_text(f"#EXTVLCOPT:start-time=245\n{album}\n#EXTVLCOPT:start-time=0\n#EXTVLCOPT:stop-time=245\n"
                   f"{album}\n#EXTVLCOPT:start-time=120\n{album}\n")
    found, missing = match_library(cat, read_playlist(lst))
    assert found == [ids[1], ids[0]] and [e.path for e in missing] == [track_path(str(album), 120.0, None)]
    cat.close()
