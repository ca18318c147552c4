"""Sub-commands for listening by similarity: radio, path, playlist import, duplicates.

Registered by desktop/cli.py through `add_parsers`; each command opens the library, asks the core,
prints one line per track (or JSON with track_id/path/title/artist/score/reason) and can write the
result as a playlist (--m3u OUT: .m3u8 or .xspf by the extension).
"""

from __future__ import annotations

import json
import os
import sys

from desktop.cli_common import home_anywhere, open_library
from desktop.core.errors import SoundalikeError

PLAYLIST_EXTS = (".m3u", ".m3u8", ".xspf")


def add_parsers(sub) -> None:
    """Add the sub-parsers (their functions are in COMMANDS, merged into cli.COMMANDS)."""
    sp = sub.add_parser("radio", help="the first tracks a station from these seeds would play")
    sp.add_argument("seeds", nargs="+", metavar="SEED", help="track id, audio file, or playlist (.m3u8/.xspf)")
    sp.add_argument("-n", type=int, default=25, help="how many tracks (default 25)")
    sp.add_argument("--per-artist", type=int, default=2, metavar="M", help="at most M per artist in any 10 (default 2)")
    sp.add_argument("--per-album", type=int, default=2, metavar="M", help="at most M per album in any 10 (default 2)")
    sp.add_argument("--skip", action="append", default=[], metavar="TRACK",
                    help="simulate skipping this track early (repeatable): the station steers away from it")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.add_argument("--m3u", metavar="OUT", help="also write the tracks as a playlist (.m3u8 or .xspf)")

    sp = sub.add_parser("path", help="a path of tracks leading from track A to track B")
    sp.add_argument("start", metavar="A")
    sp.add_argument("end", metavar="B")
    sp.add_argument("--steps", type=int, default=12, help="tracks on the path, A and B included (default 12)")
    sp.add_argument("--per-artist", type=int, metavar="M", help="at most M tracks per artist")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--m3u", metavar="OUT", help="also write the path as a playlist (.m3u8 or .xspf)")

    sp = sub.add_parser("playlist", help="read a playlist into the library's terms, or expand it")
    psub = sp.add_subparsers(dest="playlist_command", metavar="ACTION", required=True)
    ip = psub.add_parser("import", parents=[home_anywhere()],
                         help="which entries the library holds; --expand N adds N tracks like it")
    ip.add_argument("file", metavar="FILE", help="an M3U, M3U8 or XSPF playlist")
    ip.add_argument("--expand", type=int, metavar="N", help="also list N more tracks like the playlist as a whole")
    ip.add_argument("--json", action="store_true")
    ip.add_argument("--m3u", metavar="OUT", help="write the playlist (and its expansion) as a playlist")

    sp = sub.add_parser("duplicates", help="groups of files that hold the same recording (nothing is deleted)")
    sp.add_argument("--json", action="store_true")
    hide = sp.add_mutually_exclusive_group()
    hide.add_argument("--show-copies", dest="hide", action="store_false", default=None,
                      help="from now on list the extra copies in similar lists and stations again")
    hide.add_argument("--hide-copies", dest="hide", action="store_true",
                      help="from now on leave the extra copies out of similar lists and stations (the default)")


def _open(args):
    return open_library(args, must_exist=True)  # read-only: a mistyped --home is an error, not a new library


def _track_ref(lib, ref: str):
    """A track id or a path, as the core's resolve() takes it; a path of the library becomes its id."""
    if ref.isdigit() and not os.path.exists(ref):
        return int(ref)
    t = lib.catalog.by_path(os.path.abspath(ref))
    return t.id if t is not None else ref


def seeds_of(lib, refs) -> list:
    from desktop.core.playlists import match_library, read_playlist

    seeds = []
    for ref in refs:
        if ref.lower().endswith(PLAYLIST_EXTS):
            found, missing = match_library(lib.catalog, read_playlist(ref))
            for e in missing:
                print(f"soundalike: notice: {ref}: not in the library: {e.path}", file=sys.stderr)
            if not found:
                raise SoundalikeError(f"{ref}: none of its {len(missing)} entries is in the library")
            seeds += found
        else:
            seeds.append(_track_ref(lib, ref))
    return seeds


def _row(item, key: str) -> dict:
    d = {"track_id": item.track_id, "path": item.path, "title": item.title, "artist": item.artist}
    d[key] = getattr(item, key)
    if key == "reason" and hasattr(item, "score"):
        d["score"] = round(float(item.score), 4)
    return d


def _print(items, as_json: bool, key: str = "reason") -> None:
    if as_json:
        print(json.dumps([_row(i, key) for i in items], indent=2, ensure_ascii=False))
        return
    for n, p in enumerate(items, 1):
        print(f"{n:3d}  [{p.track_id}] {p.artist} - {p.title}  ({p.path})\n     {p.reason}")


def write_hits(out: str, items) -> None:
    """`similar --m3u OUT`: the hits as a playlist."""
    _export(out, items)


def _export(out: str | None, items) -> None:
    if out:
        from desktop.core.playlists import write_playlist

        write_playlist(out, items)
        print(f"wrote {out}", file=sys.stderr)


def cmd_radio(args) -> int:
    from desktop.core.radio import RadioRules, Station

    if args.n < 1:
        raise ValueError("-n must be at least 1")
    rules = RadioRules(per_artist=args.per_artist, per_album=args.per_album)
    with _open(args) as lib:
        station = Station(lib, seeds_of(lib, args.seeds), rules)
        for ref in args.skip:
            tid = _track_ref(lib, ref)
            if not isinstance(tid, int):
                raise SoundalikeError(f"--skip {ref}: only tracks of the library can be skipped")
            station.skipped(tid, 0.0)
        picks = station.take(args.n)
    _print(picks, args.json)
    _export(args.m3u, picks)
    return 0


def cmd_path(args) -> int:
    from desktop.core.songpath import song_path

    with _open(args) as lib:
        path = song_path(lib, _track_ref(lib, args.start), _track_ref(lib, args.end), args.steps, args.per_artist)
    if args.json:
        print(json.dumps({"steps": [_row(p, "reason") for p in path.steps], "largest_jump": path.largest_jump,
                          "largest_jump_at": path.largest_jump_at}, indent=2, ensure_ascii=False))
    else:
        _print(path.steps, False)
        print(f"largest jump: {path.largest_jump:.3f} into step {path.largest_jump_at + 1}")
    _export(args.m3u, path.steps)
    return 0


def cmd_playlist(args) -> int:
    from desktop.core.playlists import match_library, read_playlist
    from desktop.core.radio import Station

    entries = read_playlist(args.file)
    with _open(args) as lib:
        found, missing = match_library(lib.catalog, entries)
        tracks = lib.catalog.many(found)
        rows = [{"track_id": t, "path": tracks[t].path, "title": tracks[t].title, "artist": tracks[t].artist,
                 "reason": "in the playlist"} for t in found]
        more = []
        if args.expand:
            if args.expand < 1:
                raise ValueError("--expand must be at least 1")
            if not found:
                raise SoundalikeError(f"{args.file}: none of its entries is in the library, nothing to expand")
            more = Station(lib, found).take(args.expand)
    if args.json:
        print(json.dumps({"tracks": rows, "not_in_library": [e.path for e in missing],
                          "expansion": [_row(p, "reason") for p in more]}, indent=2, ensure_ascii=False))
    else:
        print(f"{args.file}: {len(entries)} entries, {len(found)} in the library, {len(missing)} not")
        for e in missing:
            print(f"  not in the library: {e.path}")
        if more:
            print(f"{len(more)} more like it:")
            _print(more, False)
    _export(args.m3u, [*(tracks[t] for t in found), *more])
    return 0


def cmd_duplicates(args) -> int:
    from desktop.core.duplicates import KnownCopies, find_duplicates

    with _open(args) as lib:
        if args.hide is not None:
            KnownCopies.set_hidden(lib.catalog, args.hide)
        groups = find_duplicates(lib)
        hidden = KnownCopies.load(lib.catalog).hide
    if args.json:
        print(json.dumps([g.to_dict() for g in groups], indent=2, ensure_ascii=False))
        return 0
    if not groups:
        print("no duplicates found")
    for n, g in enumerate(groups, 1):
        print(f"group {n}: {g.best.artist} - {g.best.title}")
        for c in g.copies:
            mark = "best" if c.best else "    "
            rate = f"{c.bitrate} kbps" if c.bitrate else "? kbps"
            print(f"  {mark} [{c.track_id}] {c.format:4s} {rate:>9s} {c.sample_rate} Hz {c.size / 1e6:6.1f} MB "
                  f"{c.tags} tags  {c.score:.3f}  {c.path}")
    print(f"{len(groups)} groups, {sum(len(g.extras) for g in groups)} extra copies (nothing was deleted)")
    if groups:
        print("the extra copies are left out of similar lists and stations (--show-copies lists them)" if hidden
              else "the extra copies are listed in similar lists and stations (--hide-copies leaves them out)")
    return 0


COMMANDS = {"radio": cmd_radio, "path": cmd_path, "playlist": cmd_playlist, "duplicates": cmd_duplicates}
