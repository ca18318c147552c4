"""`soundalike prune`: the one command that drops tracks whose files are gone, with their vectors.

Scans never delete (an unplugged drive would otherwise cost hours of analysis); this says what it drops
and then drops it, or only says it with `--dry-run`.
"""

from __future__ import annotations

from desktop.cli_common import open_library


def add_parsers(sub) -> None:
    sp = sub.add_parser("prune", help="forget tracks whose files are missing, with their vectors")
    sp.add_argument("--dry-run", action="store_true", help="only list what would be dropped")


def cmd_prune(args) -> int:
    from desktop.core.check import describe_missing, prune_missing

    with open_library(args, must_exist=True) as lib:
        lines = describe_missing(lib)
        if not lines:
            print("no missing tracks: nothing to prune")
            return 0
        count = lib.catalog.counts()["missing"]
        print(f"{'would drop' if args.dry_run else 'dropping'} {count} missing tracks and their vectors:")
        print("\n".join("  " + line for line in lines))
        if not args.dry_run:
            prune_missing(lib)
            print(f"pruned {count} tracks")
    return 0


COMMANDS = {"prune": cmd_prune}
