"""`soundalike index`, `status` and `check`: building the library, what it holds, and repairing it."""

from __future__ import annotations

import os
import sys

from desktop import cli_passages, cli_store
from desktop.cli_common import EXIT_ERROR, ProgressPrinter, embedder_flags, open_library, realtime_text
from desktop.core.errors import SoundalikeError
from desktop.core.paths import ABSENT, path_problem, shown


def add_parsers(sub) -> None:
    """Add the sub-parsers (their functions are in COMMANDS, merged into cli.COMMANDS)."""
    sp = sub.add_parser("index", help="add folders or files to the library and index what is missing")
    sp.add_argument("paths", nargs="+", metavar="DIR")
    embedder_flags(sp)
    sp.add_argument("--retry-failed", action="store_true", help="try files that failed before again")
    sp.add_argument("--workers", type=int, metavar="N", help="analysis processes for spectral (default: one per core)")
    cli_passages.add_index_flags(sp)

    sub.add_parser("status", help="what the library holds and how indexing stands")

    sp = sub.add_parser("check", help="compare the catalog with the vector store (and repair)")
    sp.add_argument("--repair", action="store_true", help="fix what differs (no re-decoding needed)")
    sp.add_argument("--prune", action="store_true", help="with --repair: also drop missing tracks and their vectors")


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
                rate = realtime_text(ev.audio_seconds, ev.seconds)
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


COMMANDS = {"index": cmd_index, "status": cmd_status, "check": cmd_check}
