"""The `soundalike` command: the window when run bare, sub-commands over the core otherwise.

Each sub-command is a few lines over the core, in a cli_* module of its own (cli_index, cli_similar,
cli_listen, ...) that adds its sub-parsers and lists its functions in COMMANDS. Every expected failure
(bad argument, missing folder, missing model, library in use) is one line on stderr and a non-zero
exit, never a traceback. The cli_* modules import the core inside each command function, on purpose:
a command loads only what it runs, so `soundalike --help` and the quick commands start without numpy,
Qdrant, PyAV or Qt.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys

from desktop import __version__, cli_index, cli_library, cli_listen, cli_model, cli_passages, cli_similar, cli_store
from desktop.cli_common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, ProgressPrinter, home_anywhere, open_library
from desktop.core.config import resolve_home
from desktop.core.errors import SoundalikeError
from desktop.core.paths import shown

# The commands import what they use inside their functions: `soundalike --help` and the window's start
# must not pay for numpy, Qdrant or torch (seconds) that another command needs.
# open_library and ProgressPrinter stay importable from here (the cli_* modules' way in until they move).
__all__ = ["COMMANDS", "ProgressPrinter", "build_parser", "main", "open_library"]


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
    # `soundalike status --home DIR` works too
    sub.add_parser = functools.partial(sub.add_parser, parents=[home_anywhere()])

    cli_index.add_parsers(sub)
    cli_similar.add_parsers(sub)
    cli_store.add_parser(sub)
    cli_model.add_parser(sub)
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


COMMANDS = {**cli_index.COMMANDS, **cli_similar.COMMANDS, "store": cli_store.cmd_store, "model": cli_model.cmd_model,
            **cli_listen.COMMANDS, "passages": cli_passages.cmd_passages,
            **cli_library.COMMANDS}
