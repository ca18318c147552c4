"""`soundalike passages`: the places in the library that sound like a stretch of a track or a clip.

Also the passage pass's part of `soundalike index` (it runs after the first pass, so the library is
searchable first) and of `soundalike status`. Registered in cli.py with a line or two.
"""

from __future__ import annotations

import json
import sys

from desktop.cli_common import open_library, realtime_text


def add_parsers(sub) -> None:
    sp = sub.add_parser("passages", help="passages (start-end) of tracks that sound like part of a track or a clip")
    sp.add_argument("query", metavar="TRACK_OR_FILE", help="a track id or path in the library, or any audio file")
    sp.add_argument("--start", type=float, metavar="S", help="where the passage starts, seconds (default 0)")
    sp.add_argument("--end", type=float, metavar="E", help="where it ends (default: 60 s after the start)")
    sp.add_argument("-k", type=int, default=10, help="how many tracks (default 10)")
    sp.add_argument("--include-self", action="store_true",
                    help="also other places inside the query track (a chorus that comes back)")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.add_argument("--m3u", metavar="OUT",
                    help="write a playlist (.m3u8 or .xspf) whose entries play just the passages")


def passage_entries(hits) -> list:
    """Playlist entries that play just the passages: each a stretch of its file, which the playlist writer
    (playlists.py) turns into VLC's start/stop options like any CUE track. A passage's times count from
    its track's start, which for a CUE track is a point inside the album file."""
    from desktop.core.cue import split_track_path, track_path
    from desktop.core.passage_search import fmt_time
    from desktop.core.playlists import Entry

    entries = []
    for h in hits:
        file, offset, _ = split_track_path(h.path) or (h.path, 0.0, None)
        entries.append(Entry(track_path(file, offset + h.start, offset + h.end),
                             f"{h.label} ({fmt_time(h.start)}-{fmt_time(h.end)})", "", "", h.end - h.start,
                             h.track_id))
    return entries


def add_index_flags(sp) -> None:
    sp.add_argument("--no-passages", action="store_true",
                    help="skip the second pass that builds the passage index (passage search)")


def cmd_passages(args) -> int:
    from desktop.core.passage_search import find_passages, fmt_time, passage_query

    if args.k < 1:
        raise ValueError("-k must be at least 1")
    if args.start is not None and args.start < 0:
        raise ValueError("--start must not be negative")
    if args.end is not None and args.end <= (args.start or 0):
        raise ValueError("--end must be after --start")
    with open_library(args, must_exist=True) as lib:
        query = passage_query(lib, args.query, args.start, args.end)
        hits = find_passages(lib, query, args.k, include_self=args.include_self)
    if args.m3u:
        from desktop.core.playlists import write_playlist

        out = write_playlist(args.m3u, passage_entries(hits), title=f"passages like {query.label}")
        print(f"wrote {len(hits)} passages to {out}", file=sys.stderr)
    if args.json:
        keys = ("track_id", "path", "start", "end", "score")
        print(json.dumps([{k: getattr(h, k) for k in keys} for h in hits], indent=2, ensure_ascii=False))
        return 0
    print(f"passages like {query.label}")
    if not hits:
        print("no passages found (has the passage pass of `soundalike index` run? see `soundalike status`)")
    for i, h in enumerate(hits, 1):
        print(f"{i:3d}  {h.score:6.3f}  {fmt_time(h.start)}-{fmt_time(h.end)}  [{h.track_id}] {h.label}  ({h.path})")
    return 0


def run_pass(lib, args, bar) -> None:
    """The passage pass after `soundalike index`'s first pass (skipped with --no-passages)."""
    if getattr(args, "no_passages", False):
        return
    from desktop.core.events import Progress
    from desktop.core.passages import PassageSummary, index_passages

    for ev in index_passages(lib, workers=args.workers):
        if isinstance(ev, Progress):
            bar.update(ev)
        elif isinstance(ev, PassageSummary):
            bar.close()
            if ev.skipped:
                print(f"passages: skipped ({ev.skipped})")
                continue
            rate = realtime_text(ev.audio_seconds, ev.seconds)
            rebuilt = f", {ev.rebuilt} rewritten from stored windows" if ev.rebuilt else ""
            print(f"passages: {ev.tracks} tracks ({ev.windows} windows), {len(ev.failed)} failed{rebuilt} "
                  f"({ev.seconds:.1f} s{rate})")
            for path, why in ev.failed:
                print(f"  failed {path}: {why}")
            if ev.graph:
                print(f"passages: {ev.graph}")


def status_lines(lib) -> list[str]:
    from desktop.core.passages import status

    s = status(lib)
    if s is None:
        return []
    line = (f"passage index: {s['tracks']} of {s['indexed']} indexed tracks ({s['windows']} windows, "
            f"{s['bytes'] / 2**20:.1f} MB raw), {s['pending']} to do")
    line += f", {s['failed']} failed" if s["failed"] else ""
    if s["graphed"] is not None:
        from desktop.core.passage_graph import GRAPH_MIN_PLAIN

        line += (f"; search graph over {s['graphed']} windows" if s["graphed"] else
                 f"; no search graph (queries scan every window; one is built from {GRAPH_MIN_PLAIN:,} windows on)")
    return [line]

