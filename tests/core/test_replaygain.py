"""ReplayGain tags of each container become the player's volume factor (with peak protection)."""

from __future__ import annotations

import pytest
from mutagen.flac import FLAC
from mutagen.id3 import TXXX
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4FreeForm
from mutagen.oggvorbis import OggVorbis

from desktop.core.playback import Player
from desktop.core.replaygain import gain_factor
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
    path = audio.write(tmp_path / f"song.{ext}", audio.render("pad", 1.0, 5))
    assert gain_factor(str(path), "track") == 1.0  # no tags: unchanged
    tag(path, "-6.02 dB", "-12.04 dB")
    assert gain_factor(str(path), "track") == pytest.approx(0.5, rel=1e-3)
    assert gain_factor(str(path), "album") == pytest.approx(0.25, rel=1e-3)
    assert gain_factor(str(path), "off") == 1.0


def test_peak_caps_a_boost_and_the_player_applies_the_factor(tmp_path):
    path = audio.write(tmp_path / "quiet.flac", audio.render("plucked", 1.0, 6))
    tag(path, "+12 dB", "+3 dB", peak="0.8")
    assert gain_factor(str(path), "track") == pytest.approx(1 / 0.8)  # +12 dB would clip: capped
    player = Player()  # no sound card here: the null output
    try:
        player.load(str(path))
        assert player.gain == pytest.approx(1 / 0.8)
        player.replaygain = "off"
        player.load(str(path))
        assert player.gain == 1.0
    finally:
        player.close()
    with pytest.raises(ValueError):
        gain_factor(str(path), "loud")
