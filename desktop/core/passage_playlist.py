"""Playlists whose entries start at a passage: extended M3U with VLC's start/stop options.

Why `#EXTVLCOPT:start-time` in an M3U rather than a cue sheet: the M3U stays a playlist that every
player opens (one that does not know the option plays the whole track, nothing breaks), and VLC
starts and stops each entry at the passage. A cue sheet describes the tracks *inside one audio
file*: an entry can begin at an offset but only ends where the next one begins, players open
sheets that name several files unevenly, and many never load a .cue that is not beside its album
image. The offsets are written to 0.1 s; each entry also says where the passage is in its title.
"""

from __future__ import annotations

import os
from pathlib import Path

from desktop.core.errors import SoundalikeError
from desktop.core.passage_search import fmt_time


def m3u_text(passages, title: str = "") -> str:
    lines = ["#EXTM3U"]
    if title:
        lines.append(f"#PLAYLIST:{title}")
    for p in passages:
        name = p.label if hasattr(p, "label") else os.path.basename(p.path)
        lines.append(f"#EXTINF:{max(1, round(p.end - p.start))},{name} ({fmt_time(p.start)}-{fmt_time(p.end)})")
        lines.append(f"#EXTVLCOPT:start-time={p.start:.1f}")
        lines.append(f"#EXTVLCOPT:stop-time={p.end:.1f}")
        lines.append(str(p.path))
    return "\n".join(lines) + "\n"


def write_m3u(passages, out: str | os.PathLike, title: str = "") -> Path:
    """Write the playlist next to nothing else: a temporary file renamed over `out`, so a full disk
    never leaves half a playlist where the user's file was."""
    out = Path(out)
    tmp = out.with_name(out.name + ".part")
    try:
        tmp.write_text(m3u_text(passages, title), encoding="utf-8")
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise SoundalikeError(f"{out}: cannot write the playlist ({e.strerror or e})") from e
    return out

