"""ReplayGain tags of each container become the player's volume factor (with peak protection)."""

from __future__ import annotations

import pytest
from mutagen.flac import FLAC
from mutagen.id3 import TXXX
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4FreeForm
from mutagen.oggvorbis import OggVorbis

from desktop.core.catalog import Catalog, Track
from desktop.core.playback import Player
from desktop.core.replaygain import Gains, gain_factor
from desktop.core.tags import read_tags
from tests import audio


def tag(path, track: str, album: str, peak: str = "0.5") -> None:
    ext = path.suffix
    values = {"REPLAYGAIN_TRACK_GAIN": track, "REPLAYGAIN_ALBUM_GAIN": album, "REPLAYGAIN_TRACK_PEAK": peak}
    if ext == ".mp3":
        f = MP3(path)
        f.add_tags()
        for k, v in values.items():
            f.tags.add(TXXX(encoding=3, desc=k, text=[v]))
    elif ext == ".m4a":
        f = MP4(path)
        for k, v in values.items():
            f[f"----:com.apple.iTunes:{k.lower()}"] = [MP4FreeForm(v.encode())]
    else:
        f = FLAC(path) if ext == ".flac" else OggVorbis(path)
        for k, v in values.items():
            f[k] = v
    f.save()


@pytest.mark.parametrize("ext", ["flac", "ogg", "mp3", "m4a"])
def test_track_and_album_gain_from_each_container(tmp_path, ext):
    """The scan reads the values (tags.py); the factor comes from what it stored."""
    path = audio.write(tmp_path / f"song.{ext}", audio.render("pad", 1.0, 5))
    assert gain_factor(Gains.of(read_tags(str(path))), "track") == 1.0  # no tags: unchanged
    tag(path, "-6.02 dB", "-12.04 dB")
    gains = Gains.of(read_tags(str(path)))
    assert gains == Gains(-6.02, 0.5, -12.04, None)
    assert gain_factor(gains, "track") == pytest.approx(0.5, rel=1e-3)
    assert gain_factor(gains, "album") == pytest.approx(0.25, rel=1e-3)
    assert gain_factor(gains, "off") == 1.0
    assert gain_factor(Gains(album_gain=-6.02), "track") == pytest.approx(0.5, rel=1e-3)  # the other kind
    assert gain_factor(None, "album") == 1.0


def test_peak_caps_a_boost_and_the_player_applies_the_catalogs_values(tmp_path):
    path = audio.write(tmp_path / "quiet.flac", audio.render("plucked", 1.0, 6))
    tag(path, "+12 dB", "+3 dB", peak="0.8")
    cat = Catalog(tmp_path / "lib.sqlite3")
    tid = cat.add_track(Track(id=0, path=str(path), **read_tags(str(path))))  # as the scan stores it
    stored = Gains.of(cat.get(tid))
    assert gain_factor(stored, "track") == pytest.approx(1 / 0.8)  # +12 dB would clip: capped
    tag(path, "-20 dB", "-20 dB", peak="0.1")  # retagged since the scan: playback does not read the file
    player = Player()  # no sound card here: the null output
    try:
        player.load(str(path), stored)
        assert player.gain == pytest.approx(1 / 0.8)
        player.replaygain = "album"  # applies to the loaded track at once
        assert player.gain == pytest.approx(10 ** (3 / 20))
        player.replaygain = "off"
        assert player.gain == 1.0
        player.replaygain = "track"
        player.load(str(path))  # no values known (a file outside the library, tags not read yet): as it is
        assert player.gain == 1.0
        player.set_gains(Gains(-6.02))  # its tags arrived
        assert player.gain == pytest.approx(0.5, rel=1e-3)
        with pytest.raises(ValueError):
            player.replaygain = "loud"
    finally:
        player.close()
        cat.close()
