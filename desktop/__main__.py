"""`python -m desktop` runs the same entry point as the `soundalike` console script."""

from desktop.cli import main

raise SystemExit(main())
