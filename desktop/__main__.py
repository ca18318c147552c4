"""`python -m desktop` (and the PyInstaller bundle) run the same entry point as the `soundalike` script."""

import multiprocessing

from desktop.cli import main

if __name__ == "__main__":
    # The indexer's worker processes are spawned: in a frozen bundle they re-run this executable,
    # and freeze_support() turns such a child into a worker instead of a second app.
    multiprocessing.freeze_support()
    raise SystemExit(main())
