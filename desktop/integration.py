"""Desktop integration: where our resources are, and the per-user menu entry (XDG locations).

`soundalike --install-desktop-entry` copies `resources/soundalike.desktop` (with `Exec` pointing at
the program actually running, so it works from a venv or a PyInstaller bundle) and the icons into
`$XDG_DATA_HOME` (default `~/.local/share`); `--uninstall-desktop-entry` removes exactly those files.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from desktop.core.formats import desktop_mime_line

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def resources_dir() -> Path:
    """`resources/` beside the package in a checkout, or inside a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def launch_command() -> str:
    """The command that starts this very program (bundle executable, console script or module)."""
    if getattr(sys, "frozen", False):
        return shlex.quote(sys.executable)
    script = Path(sys.argv[0])
    if script.name == "soundalike" and script.exists():
        return shlex.quote(str(script.resolve()))
    return f"{shlex.quote(sys.executable)} -m desktop"


def entry_paths() -> list[Path]:
    base = data_home()
    paths = [base / "applications" / "soundalike.desktop",
             base / "icons" / "hicolor" / "scalable" / "apps" / "soundalike.svg"]
    paths += [base / "icons" / "hicolor" / f"{s}x{s}" / "apps" / "soundalike.png" for s in ICON_SIZES]
    return paths


def install_desktop_entry() -> list[Path]:
    res = resources_dir()
    entry, svg, *pngs = entry_paths()
    text = (res / "soundalike.desktop").read_text(encoding="utf-8")
    command = launch_command()
    lines = []
    for line in text.splitlines():
        if line.startswith("Exec="):
            line = f"Exec={command} %F"
        elif line.startswith("TryExec="):
            continue  # TryExec must be a bare path; Exec is already absolute
        elif line.startswith("MimeType="):
            line = desktop_mime_line()  # the formats table is the truth; a test keeps the shipped file in step
        lines.append(line)
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    svg.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(res / "icons" / "soundalike.svg", svg)
    for size, png in zip(ICON_SIZES, pngs):
        png.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(res / "icons" / f"soundalike-{size}.png", png)
    _refresh_caches()
    return entry_paths()


def uninstall_desktop_entry() -> list[Path]:
    removed = [p for p in entry_paths() if p.exists()]
    for p in removed:
        p.unlink()
    _refresh_caches()
    return removed


def _refresh_caches() -> None:
    """Let the menu notice at once where the tools exist; harmless where they don't."""
    for cmd in (["update-desktop-database", str(data_home() / "applications")],
                ["gtk-update-icon-cache", "-q", "-t", str(data_home() / "icons" / "hicolor")]):
        if shutil.which(cmd[0]):
            subprocess.run(cmd, capture_output=True, timeout=20, check=False)
