"""ReplayGain: the loudness correction taggers store in files, as a factor for the player's volume.

Tracks are mastered at very different loudness; ReplayGain tags (REPLAYGAIN_TRACK_GAIN "-6.54 dB", and
the album's, plus the peaks) say how much to turn each one down or up so they play at one loudness.
"track" evens out every track; "album" keeps an album's own dynamics. The peak tag caps the factor so a
quiet track turned up never clips. Files without the tags play unchanged (factor 1). Reads tags only
(mutagen, a few milliseconds).
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)
MODES = ("off", "track", "album")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _tag_values(path: str) -> dict[str, str]:
    """replaygain_* tags of any container, keys lower-cased without their frame prefixes."""
    import mutagen

    try:
        f = mutagen.File(path)
    except Exception as e:  # damaged tags: play unchanged
        log.debug("%s: tags unreadable for ReplayGain: %s", path, e)
        return {}
    if f is None or f.tags is None:
        return {}
    out = {}
    for key, value in f.tags.items():
        name = str(key).lower().rsplit(":", 1)[-1]  # TXXX:REPLAYGAIN_TRACK_GAIN, ----:com.apple.iTunes:...
        if not name.startswith("replaygain_"):
            continue
        if isinstance(value, list):
            value = value[0] if value else ""
        if hasattr(value, "text"):  # ID3 TXXX frame
            value = value.text[0] if value.text else ""
        if isinstance(value, bytes):  # MP4 freeform
            value = value.decode("utf-8", "replace")
        out[name] = str(value)
    return out


def _number(text: str | None) -> float | None:
    m = _NUMBER.search(text or "")
    return float(m.group()) if m else None


def gain_factor(path: str, mode: str = "track") -> float:
    """The linear factor to apply to `path` in `mode` ("off", "track", "album"); 1.0 without tags."""
    if mode not in MODES:
        raise ValueError(f"ReplayGain mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "off":
        return 1.0
    tags = _tag_values(path)
    other = "track" if mode == "album" else "album"
    gain = _number(tags.get(f"replaygain_{mode}_gain"))
    peak = _number(tags.get(f"replaygain_{mode}_peak"))
    if gain is None:  # fall back to the other kind rather than to nothing
        gain, peak = _number(tags.get(f"replaygain_{other}_gain")), _number(tags.get(f"replaygain_{other}_peak"))
    if gain is None:
        return 1.0
    factor = 10 ** (max(-60.0, min(30.0, gain)) / 20)
    if peak and peak > 0:
        factor = min(factor, 1.0 / peak)  # never push the loudest sample past full scale
    return float(factor)
