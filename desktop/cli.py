"""The `soundalike` command: the window when run bare, sub-commands over the core otherwise.

Each sub-command is a few lines over the core. Every expected failure (bad argument, missing folder,
missing model, library in use) is one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys

from desktop import __version__, cli_library, cli_listen, cli_model, cli_passages, cli_store

# The commands import what they use inside their functions: `soundalike --help` and the window's start
# must not pay for numpy, Qdrant or torch (seconds) that another command needs.
from desktop.core.config import EMBEDDERS, resolve_home
from desktop.core.errors import SoundalikeError
from desktop.core.paths import ABSENT, path_problem, shown
from desktop.core.track import JSON_KEYS

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
MAX_K, MAX_ID = 10_000, 2**63 - 1  # SQLite integers are 64-bit: a larger "id" is no track, not an OverflowError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage dump
        self.exit(EXIT_USAGE, f"soundalike: error: {message} (see `soundalike --help`)\n")


def _wants_window(argv: list[str]) -> bool:
    """True when the first positional argument is not a sub-command: `soundalike song.flac`."""
    i = 0
    while i < len(argv):
        if argv[i] == "--home":
            i += 2
        elif argv[i].startswith("-"):
            i += 1
        else:
            return argv[i] not in COMMANDS
    return False


def _not_a_command_or_file(argv: list[str]) -> str:
    """The first argument for the window that is neither a command nor an existing file or folder
    (`soundalike simlar song.mp3`): an error naming the closest command, not a window with odd files."""
    import difflib

    i = 0
    while i < len(argv):
        if argv[i] == "--home":
            i += 2
            continue
        arg = argv[i]
        i += 1
        if arg.startswith("-") or os.path.lexists(arg):
            continue
        close = difflib.get_close_matches(arg, list(COMMANDS), n=1, cutoff=0.6)
        hint = f"did you mean `soundalike {close[0]}`?" if close else f"commands: {', '.join(COMMANDS)}"
        return f"{shown(arg)!r} is neither a command nor an existing file or folder ({hint})"
    return ""


def build_parser(with_files: bool = False) -> argparse.ArgumentParser:
    p = _Parser(prog="soundalike", description="A music player that knows which tracks sound alike.")
    p.add_argument("--version", action="version", version=f"soundalike {__version__}")
    p.add_argument("--home", metavar="DIR", help="library folder (default: $SOUNDALIKE_HOME or the user data dir)")
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    p.add_argument("--install-desktop-entry", action="store_true", help="add Soundalike to your desktop's menu")
    p.add_argument("--uninstall-desktop-entry", action="store_true", help="remove it from the menu again")
    p.add_argument("--self-test", action="store_true", help="check this installation end to end and exit")
    if with_files:
        p.add_argument("files", nargs="*", metavar="FILE", help="audio files or folders to open in the window")
        return p
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    home_anywhere = argparse.ArgumentParser(add_help=False)  # `soundalike status --home DIR` works too
    home_anywhere.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub.add_parser = functools.partial(sub.add_parser, parents=[home_anywhere])

    def embedder_flags(sp):
        sp.add_argument("--embedder", choices=EMBEDDERS,
                        help="default: wav2vec2 (spectral if its weights are missing)")
        sp.add_argument("--model", metavar="ID_OR_PATH", help="Wav2Vec2 hub id or local folder")
        sp.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="where wav2vec2 runs (default: auto)")
        sp.add_argument("--layer", metavar="N|A-B", help="neural model layer(s) to pool, e.g. 6 or 3-8")

    sp = sub.add_parser("index", help="add folders or files to the library and index what is missing")
    sp.add_argument("paths", nargs="+", metavar="DIR")
    embedder_flags(sp)
    sp.add_argument("--retry-failed", action="store_true", help="try files that failed before again")
    sp.add_argument("--workers", type=int, metavar="N", help="analysis processes for spectral (default: one per core)")
    cli_passages.add_index_flags(sp)

    sp = sub.add_parser("similar", help="tracks that sound like a track id or an audio file")
    sp.add_argument("query", metavar="PATH_OR_TRACK_ID", nargs="?")
    sp.add_argument("--text", metavar="DESCRIPTION", help='tracks matching a description, e.g. "slow piano with rain" '
                    "(needs a library indexed with a CLAP model)")
    sp.add_argument("-k", type=int, default=10, help="how many (default 10)")
    sp.add_argument("--per-artist", type=int, metavar="N", help="at most N tracks per artist")
    sp.add_argument("--genre", help="only tracks of this genre")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.add_argument("--m3u", metavar="OUT", help="also write the hits as a playlist (.m3u8 or .xspf)")

    sub.add_parser("status", help="what the library holds and how indexing stands")

    sp = sub.add_parser("check", help="compare the catalog with the vector store (and repair)")
    sp.add_argument("--repair", action="store_true", help="fix what differs (no re-decoding needed)")
    sp.add_argument("--prune", action="store_true", help="with --repair: also drop missing tracks and their vectors")

    sp = sub.add_parser("eval", help="measure similarity quality on labelled music (in a library of its own)")
    sp.add_argument("source", metavar="DIR_OR_LABELS_CSV", help="a folder (label = parent folder) or a path,label csv")
    embedder_flags(sp)
    sp.add_argument("-k", type=int, default=10, help="P@k cut-off (default 10)")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--sweep-layers", action="store_true", help="score every layer of the model (one pass each)")

    cli_store.add_parser(sub)
    cli_model.add_parser(sub)

    sp = sub.add_parser("tracks", help="list tracks")
    sp.add_argument("--failed", action="store_true", help="only tracks that failed, with the reason")
    sp.add_argument("--missing", action="store_true", help="only tracks whose file is gone (kept until `prune`)")
    sp.add_argument("--json", action="store_true")
    cli_listen.add_parsers(sub)
    cli_passages.add_parsers(sub)
    cli_library.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    window = _wants_window(argv)
    if window and (problem := _not_a_command_or_file(argv)):
        print(f"soundalike: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    args = build_parser(with_files=window).parse_args(argv)
    if not window:
        args.files = []
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.self_test:
        from desktop.selftest import run

        return run()
    if args.install_desktop_entry or args.uninstall_desktop_entry:
        from desktop import integration

        install = args.install_desktop_entry
        done = integration.install_desktop_entry() if install else integration.uninstall_desktop_entry()
        verb = "installed" if args.install_desktop_entry else "removed"
        print(f"{verb} {len(done)} files: " + (str(done[0]) if done else "nothing was installed"))
        return 0
    args.home = resolve_home(args.home)  # once: every command and the window get the same folder
    if window or args.command is None:
        from desktop.ui.app import main as app_main

        return app_main(args.files, home=args.home)
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows up here, not as a traceback at interpreter exit
        return code
    except BrokenPipeError:  # `soundalike status | head -3`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 141
    except SoundalikeError as e:
        print(f"soundalike: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except ValueError as e:  # bad values the core rejects (k < 1, ...)
        print(f"soundalike: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("soundalike: interrupted; run the same command again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED


def open_library(args, *, strict: bool = False, lock: bool = True, must_exist: bool = False, **overrides):
    """`must_exist`: a read-only command never creates a library (a mistyped --home is an error)."""
    from desktop.core.backup import backup_path
    from desktop.core.config import load_settings
    from desktop.core.library import Library

    settings = load_settings(args.home, **overrides)
    if must_exist and not settings.catalog_path.is_file() and backup_path(settings.catalog_path).is_file():
        raise SoundalikeError(f"{shown(str(settings.catalog_path))}: the catalog is missing; run `soundalike check "
                              "--repair` to restore its last good copy")
    if must_exist and not settings.catalog_path.is_file():
        raise SoundalikeError(f"no library at {shown(str(settings.home))} (index a folder first: "
                              "`soundalike index FOLDER`, or check --home)")
    return Library(settings, strict=strict, lock=lock)


class ProgressPrinter:
    """A tqdm bar per stage on stderr (silent when stderr is not a terminal)."""

    def __init__(self):
        self.bar, self.stage = None, None

    def update(self, ev) -> None:
        from tqdm import tqdm

        if self.bar is None or ev.stage != self.stage or (ev.total and self.bar.total != ev.total):
            self.close()
            self.stage = ev.stage
            self.bar = tqdm(total=ev.total or None, desc=ev.stage, unit="file", file=sys.stderr, disable=None,
                            leave=False)
        self.bar.n = ev.done
        if ev.path:
            self.bar.set_postfix_str(os.path.basename(ev.path)[-40:], refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def cmd_index(args) -> int:
    from desktop.core.events import IndexSummary, Progress, ScanSummary
    from desktop.core.indexer import scan_and_index

    strict = bool(args.embedder or args.model)
    if args.embedder == "wav2vec2" or (args.model and args.embedder != "spectral"):
        from desktop.cli_model import fetch_if_missing
        from desktop.core.config import load_settings

        fetch_if_missing(args.model or load_settings(args.home).model)
    with open_library(args, strict=strict, embedder=args.embedder, model=args.model, device=args.device,
                      layer=args.layer) as lib:
        known = set(lib.catalog.folders())
        for p in args.paths:  # a known folder that is away is "unavailable" (kept), anything else a typo
            why = path_problem(p)
            if why and not (why == ABSENT and os.path.realpath(p) in known):
                raise SoundalikeError(f"{shown(p)}: {why}")
        emb = lib.embedder
        if lib.notice:
            print(f"soundalike: notice: {lib.notice}", file=sys.stderr)
        print(f"embedder: {emb.label}", file=sys.stderr)
        if lib.active_key and lib.active_key != emb.key:
            print(f"soundalike: notice: the library's vectors were made by {lib.active_key}; tracks without a "
                  f"{emb.key} vector are indexed again (vectors of different embedders are never compared)",
                  file=sys.stderr)
        bar = ProgressPrinter()
        for ev in scan_and_index(lib, args.paths, retry_failed=args.retry_failed, workers=args.workers):
            if isinstance(ev, Progress):
                bar.update(ev)
            elif isinstance(ev, ScanSummary):
                bar.close()
                for path, why in ev.problems:
                    print(f"skipped {shown(path)}: {why}", file=sys.stderr)
                for root in ev.unavailable:
                    print(f"unavailable: {shown(root)} (absent, empty or every file gone: an unplugged drive? "
                          "nothing under it was changed)", file=sys.stderr)
                print(f"scan: {len(ev.added)} new, {len(ev.changed)} changed, {ev.unchanged} unchanged, "
                      f"{len(ev.moved)} moved, {len(ev.returned)} back, {len(ev.missing)} missing"
                      + (" (kept; `soundalike prune` drops them)" if ev.missing else ""))
            elif isinstance(ev, IndexSummary):
                bar.close()
                rate = f", {ev.audio_seconds / ev.seconds:.0f}x realtime" if ev.seconds and ev.audio_seconds else ""
                rate += f", {ev.workers} analysis processes" if ev.workers else ""
                print(f"index: {ev.indexed} indexed, {ev.unchanged} unchanged, {len(ev.failed)} failed "
                      f"({ev.seconds:.1f} s{rate})")
                if ev.restored:
                    print(f"store: {ev.restored} points restored from the catalog (no decoding)")
                for path, why in ev.failed:
                    print(f"  failed {shown(path)}: {why}")
                for path, note in ev.notes:
                    print(f"  {note}: {shown(path)}")
                for path, why in ev.pending:
                    print(f"  pending {shown(path)}: {why}")
        cli_passages.run_pass(lib, args, bar)
    return 0


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


def cmd_status(args) -> int:
    from desktop.core.formats import describe_skipped
    from desktop.core.scan import skipped_files

    with open_library(args, lock=False, must_exist=True) as lib:
        c = lib.catalog.counts()
        key = lib.active_key
        print(f"library: {lib.settings.home}")
        print(f"tracks: {c['total']} ({c['indexed']} indexed, {c['pending']} pending, {c['failed']} failed)"
              + (f"; {c['missing']} missing (kept; `soundalike tracks --missing`)" if c["missing"] else ""))
        print(f"vector space: {key or 'none yet'}" + (f" ({lib.catalog.vector_count(key)} vectors)" if key else ""))
        print("\n".join(cli_passages.status_lines(lib)) or "passage index: none yet")
        print(f"store: {lib.settings.qdrant_url or 'embedded Qdrant in ' + str(lib.settings.vectors_dir)}")
        s = lib.settings
        print(f"configured embedder: {s.embedder} (model {s.model}, device {s.device})")
        for folder in lib.catalog.folders():
            print(f"folder: {shown(folder)}")
        skipped = skipped_files(lib.catalog)
        if skipped:
            print(f"skipped (not audio, last scan): {describe_skipped(skipped)}")
        print("\n".join(cli_store.store_status_lines(lib)))
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


def cmd_check(args) -> int:
    from desktop.core.check import check

    if args.prune and not args.repair:
        raise ValueError("--prune drops tracks, so it goes with --repair: `soundalike check --repair --prune`")
    restored = check_catalog_file(args)
    with open_library(args, must_exist=not args.repair) as lib:
        report = check(lib, repair=args.repair, prune=args.prune)
    print("\n".join(([restored] if restored else []) + report.lines()))
    return 0 if report.ok or report.repaired else EXIT_ERROR


def check_catalog_file(args) -> str:
    """SQLite's quick_check on the catalog; with --repair a damaged or missing one is restored from its backup."""
    from desktop.core.backup import backup_path, catalog_problem, restore_backup
    from desktop.core.config import load_settings

    path = load_settings(args.home).catalog_path
    if not path.exists() and not backup_path(path).exists():
        return ""  # no library yet (check says so) or a new one (--repair creates it)
    problem = catalog_problem(path)
    if not problem:
        return ""
    if not args.repair:
        raise SoundalikeError(f"{shown(str(path))}: the catalog is damaged ({problem}); run `soundalike check "
                              "--repair` to restore its last good copy")
    done = restore_backup(path)
    if not done:
        raise SoundalikeError(f"{shown(str(path))}: the catalog is damaged ({problem}) and there is no backup "
                              "to restore; move it aside and run `soundalike index` on your folders again")
    return done


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
                       device=args.device, strict=bool(args.embedder or args.model), layer=args.layer):
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


COMMANDS = {"index": cmd_index, "similar": cmd_similar, "status": cmd_status, "tracks": cmd_tracks,
            "check": cmd_check, "eval": cmd_eval, "store": cli_store.cmd_store, "model": cli_model.cmd_model,
            **cli_listen.COMMANDS, "passages": cli_passages.cmd_passages,
            **cli_library.COMMANDS}
