"""`soundalike similar`, `tracks` and `eval`: what the library answers, and how well (quality on labelled music)."""

from __future__ import annotations

import json
import os

from desktop import cli_listen, cli_model
from desktop.cli_common import MAX_ID, MAX_K, ProgressPrinter, embedder_flags, open_library
from desktop.core.errors import SoundalikeError
from desktop.core.paths import shown
from desktop.core.track import JSON_KEYS


def add_parsers(sub) -> None:
    """Add the sub-parsers (their functions are in COMMANDS, merged into cli.COMMANDS)."""
    sp = sub.add_parser("similar", help="tracks that sound like a track id or an audio file")
    sp.add_argument("query", metavar="PATH_OR_TRACK_ID", nargs="?")
    sp.add_argument("--text", metavar="DESCRIPTION", help='tracks matching a description, e.g. "slow piano with rain" '
                    "(needs a library indexed with a CLAP model)")
    sp.add_argument("-k", type=int, default=10, help="how many (default 10)")
    sp.add_argument("--per-artist", type=int, metavar="N", help="at most N tracks per artist")
    sp.add_argument("--genre", help="only tracks of this genre")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.add_argument("--m3u", metavar="OUT", help="also write the hits as a playlist (.m3u8 or .xspf)")

    sp = sub.add_parser("tracks", help="list tracks")
    sp.add_argument("--failed", action="store_true", help="only tracks that failed, with the reason")
    sp.add_argument("--missing", action="store_true", help="only tracks whose file is gone (kept until `prune`)")
    sp.add_argument("--json", action="store_true")
    sp = sub.add_parser("eval", help="measure similarity quality on labelled music (in a library of its own)")
    sp.add_argument("source", metavar="DIR_OR_LABELS_CSV", help="a folder (label = parent folder) or a path,label csv")
    embedder_flags(sp)
    sp.add_argument("-k", type=int, default=10, help="P@k cut-off (default 10)")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--sweep-layers", action="store_true", help="score every layer of the model (one pass each)")
    sp.add_argument("--passages", action="store_true",
                    help="also read every track whole, as the window's passage pass does, and rank as the window then "
                         "does (late interaction over whole-track parts; slower)")


def cmd_similar(args) -> int:
    from desktop.core.similarity import similar

    if args.k < 1 or args.k > MAX_K:
        raise ValueError(f"-k must be between 1 and {MAX_K}")
    if args.per_artist is not None and args.per_artist < 1:
        raise ValueError("--per-artist must be at least 1")
    if (args.query is None) == (args.text is None):
        raise ValueError("give a track id or file, or --text \"a description\" (one of them)")
    if args.query and args.query.isdigit() and int(args.query) > MAX_ID and not os.path.exists(args.query):
        raise SoundalikeError(f"no track with id {args.query} in the library")
    with open_library(args, must_exist=True) as lib:
        genres = lib.catalog.genres()
        if args.genre and args.genre not in genres:
            same = [g for g in genres if g.casefold() == args.genre.casefold()]
            if not same:
                known = ", ".join(sorted(genres, key=str.casefold)[:12])
                raise SoundalikeError(f"no track of genre {args.genre!r} in the library (genres: {known or 'none'})")
            args.genre = same[0]
        if args.text is not None:
            from desktop.core.text_search import search_text

            hits = search_text(lib, args.text, args.k, genre=args.genre)
        else:
            hits = similar(lib, args.query, args.k, per_artist=args.per_artist, genre=args.genre)
    if args.m3u:
        cli_listen.write_hits(args.m3u, hits)
    if args.json:
        print(json.dumps([{**h.to_dict(), "path": shown(h.path)} for h in hits], indent=2, ensure_ascii=False))
        return 0
    if not hits:
        print("no similar tracks (is the library indexed?)")
    for i, h in enumerate(hits, 1):
        artist = h.artist + ("*" if h.artist_generated else "")
        closeness = f"{h.closeness:3.0f} {h.words:<10}" if h.closeness is not None else ""
        album = f" [{h.album}]" if h.album else ""
        print(f"{i:3d}  {closeness}  {h.score:6.3f}  [{h.track_id}] {artist} - {h.title}{album}  ({shown(h.path)})")
        if h.why:
            print(f"       {h.why}")
    if any(h.artist_generated for h in hits):
        print("(* artist name made up: the file has no artist tag)")
    return 0


def cmd_tracks(args) -> int:
    with open_library(args, lock=False, must_exist=True) as lib:
        tracks = lib.catalog.tracks(status="failed" if args.failed else None, missing=True if args.missing else False)
    if args.json:
        print(json.dumps([track_json(t) for t in tracks], indent=2, ensure_ascii=False))
        return 0
    for t in tracks:
        if args.failed:
            print(f"[{t.id}] {shown(t.path)}: {t.error}")
        else:
            note = f"  [{t.error}]" if t.error and t.status == "indexed" else ""
            print(f"[{t.id}] {'missing' if t.missing else t.status:8s} {t.artist} - {t.title}  ({shown(t.path)}){note}")
    if not tracks:
        print("no failed tracks" if args.failed else "no missing tracks" if args.missing else "the library is empty")
    return 0


def track_json(t) -> dict:
    """A track for `tracks --json`: every tag field, and which values were made up or derived, not tagged."""
    out = {k: getattr(t, k) for k in JSON_KEYS}
    out["generated"] = [g for g in t.generated.split(",") if g]
    out["artist_made_up"] = t.artist_generated
    out["path"], out["missing"] = shown(t.path), t.missing  # JSON text: undecodable bytes shown as U+FFFD
    return out


def cmd_eval(args) -> int:
    from desktop.core.evaluate import EvalReport, run_eval
    from desktop.core.events import Progress

    if args.k < 1:
        raise ValueError("-k must be at least 1")
    base = args.home
    if args.sweep_layers:
        return cli_model.sweep_layers(args, base, ProgressPrinter())
    bar = ProgressPrinter()
    report = None
    for ev in run_eval(args.source, base_home=base, k=args.k, embedder=args.embedder, model=args.model,
                       device=args.device, strict=bool(args.embedder or args.model), layer=args.layer,
                       passages=args.passages):
        if isinstance(ev, Progress):
            bar.update(ev)
        elif isinstance(ev, EvalReport):
            report = ev
    bar.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return 0
    k = report.k
    print(f"embedder: {report.embedder}; {report.tracks} tracks, {len(report.failed)} failed")
    print(f"P@1 {report.p_at_1:.3f}   P@{k} {report.p_at_k:.3f}   mAP {report.map:.3f}")
    print(f"\n{'label':24s} {'n':>4s} {'P@1':>6s} {'P@' + str(k):>6s} {'mAP':>6s}")
    for label, m in report.per_label.items():
        print(f"{label[:24]:24s} {m['n']:4d} {m['p_at_1']:6.3f} {m['p_at_k']:6.3f} {m['map']:6.3f}")
    if report.confusions:
        print("\nmost confused (share of top-k neighbours):")
        for c in report.confusions[:5]:
            print(f"  {c['label']} -> {c['confused_with']}: {c['share']:.2f}")
    for f in report.failed:
        print(f"failed {f['path']}: {f['error']}")
    return 0


COMMANDS = {"similar": cmd_similar, "tracks": cmd_tracks, "eval": cmd_eval}
