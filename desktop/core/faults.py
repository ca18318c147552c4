"""Fault injection for the crash tests: real kills and real segfaults at exact points, not timing guesses.

SOUNDALIKE_CRASH_AT="after-store:3" SIGKILLs the process the 3rd time it reaches that stage;
SOUNDALIKE_CRASH_ON="bad.flac" makes an analysis worker segfault on every file whose name contains it,
as a decoder with a native bug would. Both are no-ops unless the variable is set.
"""

from __future__ import annotations

import os
import signal

_crash_counts: dict[str, int] = {}


def crash_point(stage: str) -> None:
    spec = os.environ.get("SOUNDALIKE_CRASH_AT")
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name == stage:
        _crash_counts[stage] = _crash_counts.get(stage, 0) + 1
        if _crash_counts[stage] >= int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)


def crash_on_file(path: str) -> None:
    needle = os.environ.get("SOUNDALIKE_CRASH_ON")
    if needle and needle in os.path.basename(path):
        os.kill(os.getpid(), signal.SIGSEGV)
    crash_point("worker-analyze")
