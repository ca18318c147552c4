"""ReplayGain: the loudness correction taggers store in files, as a factor for the player's volume.

Tracks are mastered at very different loudness; ReplayGain tags (REPLAYGAIN_TRACK_GAIN "-6.54 dB", and
the album's, plus the peaks) say how much to turn each one down or up so they play at one loudness.
"track" evens out every track; "album" keeps an album's own dynamics. The peak caps the factor so a
quiet track turned up never clips. Files without the tags play unchanged (factor 1).

Why the values come from the catalog and not the file: the scan already read them (tags.py, the
`rg_*` fields of the field table), so starting a track does no tag I/O; a file played from outside
the library gets them when its tags are read off the GUI thread (ui/now_playing.py).
"""

from __future__ import annotations

from dataclasses import dataclass

MODES = ("off", "track", "album")


@dataclass(frozen=True)
class Gains:
    """A track's ReplayGain values: gains in dB, peaks linear (1.0 = full scale); None where untagged."""

    track_gain: float | None = None
    track_peak: float | None = None
    album_gain: float | None = None
    album_peak: float | None = None

    @classmethod
    def of(cls, track) -> Gains:
        """From a catalog Track (or the dict `tags.read_tags` returns): its rg_* fields."""
        get = track.get if isinstance(track, dict) else lambda k: getattr(track, k, None)
        return cls(get("rg_track_gain"), get("rg_track_peak"), get("rg_album_gain"), get("rg_album_peak"))


NONE = Gains()


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"ReplayGain mode must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def gain_factor(gains: Gains | None, mode: str = "track") -> float:
    """The linear factor to apply in `mode` ("off", "track", "album"); 1.0 without values."""
    check_mode(mode)
    if mode == "off" or gains is None:
        return 1.0
    gain, peak = (gains.album_gain, gains.album_peak) if mode == "album" else (gains.track_gain, gains.track_peak)
    if gain is None:  # fall back to the other kind rather than to nothing
        gain, peak = (gains.track_gain, gains.track_peak) if mode == "album" else (gains.album_gain, gains.album_peak)
    if gain is None:
        return 1.0
    factor = 10 ** (max(-60.0, min(30.0, gain)) / 20)
    if peak and peak > 0:
        factor = min(factor, 1.0 / peak)  # never push the loudest sample past full scale
    return float(factor)
