"""Track metadata from tags (mutagen), with the fallbacks of the tutorial this project grew from.

When a tag is missing: title from the file name, genre from the parent folder's name, artist a
made-up (faker) name seeded by the path so it is the same on every scan. Made-up fields are listed in
`generated` so clients can show them differently and never write them back as if they were real.
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import lru_cache

from desktop.core.track import TAG_FIELDS, tags_defaults

# Text fields read straight from an easy-mutagen tag of the same meaning (track.py declares them).
_TEXT_TAGS = tuple((f.name, f.tag) for f in TAG_FIELDS if f.tag and f.type is str)

_YEAR = re.compile(r"(\d{4})")


def read_tags(path: str) -> dict:
    """The track fields whose source is "tags" (track.py), by name — never raises for a bad file."""
    info: dict = tags_defaults()
    try:
        import mutagen

        f = mutagen.File(path, easy=True)
    except Exception:  # mutagen raises many types for broken files; the decoder will say what is wrong
        f = None
    if f is not None:
        tags = f.tags or {}
        for name, key in _TEXT_TAGS:
            try:
                value = tags.get(key)
            except Exception:
                value = None
            if value:
                info[name] = str(value[0] if isinstance(value, list) else value).strip()
        try:
            date = tags.get("date") or tags.get("year")
        except Exception:
            date = None
        m = _YEAR.search(str(date[0] if isinstance(date, list) and date else date or ""))
        info["year"] = int(m.group(1)) if m else None
        length = getattr(getattr(f, "info", None), "length", 0) or 0
        info["duration"] = float(length) if length and length < 1e7 else 0.0
    generated = []
    if not info["title"]:
        info["title"] = title_from_filename(path)
        generated.append("title")
    if not info["genre"]:
        info["genre"] = os.path.basename(os.path.dirname(path)).replace("_", " ").strip()
        generated.append("genre")
    if not info["artist"]:
        info["artist"] = generated_artist(path)
        generated.append("artist")
    info["generated"] = ",".join(generated)
    return info


def title_from_filename(path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    return re.sub(r"[_]+", " ", stem).strip() or stem


@lru_cache(maxsize=1)
def _faker():
    from faker import Faker

    return Faker()


def generated_artist(path: str) -> str:
    """A plausible person's name, the same for the same path on every machine and run."""
    fake = _faker()
    fake.seed_instance(int.from_bytes(hashlib.sha1(path.encode("utf-8", "surrogatepass")).digest()[:8], "big"))
    return fake.name()
