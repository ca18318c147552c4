"""`soundalike store ...`: where the library's vectors live. `status` describes the store's collections;
`migrate --to URL|embedded` moves them to a Qdrant server or back (desktop/core/migrate.py).

Kept out of cli.py so that file stays small; cli.py registers `add_parser` and `cmd_store`.
"""

from __future__ import annotations

import os
import sys

from desktop.cli_common import ProgressPrinter, home_anywhere, open_library
from desktop.core.errors import LibraryInUse, StoreUnavailable


def add_parser(sub) -> None:
    sp = sub.add_parser("store", help="where the vectors live: their status; move them to a Qdrant server and back")
    home = home_anywhere()
    ssub = sp.add_subparsers(dest="store_command", metavar="ACTION", parser_class=type(sp))
    ssub.required = True
    ssub.add_parser("status", parents=[home], help="each vector space's collection: points, segments, indexing")
    m = ssub.add_parser("migrate", parents=[home], help="copy every vector space to a server or back, then switch")
    m.add_argument("--to", required=True, metavar="URL|embedded",
                   help="a Qdrant server URL (key/CA from the settings) or 'embedded' (the library folder)")
    m.add_argument("--batch", type=int, default=512, metavar="N", help="points per request (default 512)")


def cmd_store(args) -> int:
    if args.store_command == "status":
        with open_library(args, lock=False, must_exist=True) as lib:
            print("\n".join(store_status_lines(lib)))
        return 0
    return _migrate(args)


def _migrate(args) -> int:
    from desktop.core.events import Progress
    from desktop.core.migrate import MigrationReport, migrate

    if args.batch < 1:
        raise ValueError("--batch must be at least 1")
    bar, report = ProgressPrinter(), None
    with open_library(args, must_exist=True) as lib:
        for ev in migrate(lib, args.to, batch=args.batch):
            if isinstance(ev, Progress):
                bar.update(ev)
            elif isinstance(ev, MigrationReport):
                report = ev
        bar.close()
        old = _old_store_text(lib, report.previous)
    rate = (report.vectors + report.windows) / report.seconds if report.seconds else 0.0
    windows = f" and {report.windows} passage windows" if report.windows else ""
    print(f"{'resumed and ' if report.resumed else ''}copied {report.vectors} vectors of {report.track_spaces} vector "
          f"space(s){windows} to {report.target} in {report.seconds:.1f} s ({rate:.0f} vectors/s)")
    print(f"verified: point counts equal the catalog's, {report.sampled} sampled vectors identical"
          + (f", {report.removed_stale} stale points removed" if report.removed_stale else ""))
    print(f"the library now uses {report.target}")
    print(f"the old store is kept: {old}")
    if os.environ.get("SOUNDALIKE_QDRANT_URL"):
        print("soundalike: notice: SOUNDALIKE_QDRANT_URL is set and overrides config.json; unset it to use "
              "the new store", file=sys.stderr)
    return 0


def _old_store_text(lib, previous: str) -> str:
    if previous == "embedded":
        return f"{lib.settings.vectors_dir} (delete that folder when you no longer need it)"
    from desktop.core.store import library_id

    return (f"collections soundalike-{library_id(lib.catalog)}-* on {previous} (delete them with "
            f"`curl -X DELETE {previous}/collections/NAME` when you no longer need them)")


def store_status_lines(lib) -> list[str]:
    """The active vector space's collection as its store reports it (one line if it cannot be opened)."""
    from desktop.core.library import key_dim
    from desktop.core.store import library_id, open_library_store

    key = lib.active_key
    lines = [f"library id: {library_id(lib.catalog)}"]
    if key is None:
        return lines + ["collection: none yet"]
    try:  # opened directly, not via lib.store(): a status must never resume writes it holds no lock for
        with open_library_store(lib.settings, lib.catalog, key, key_dim(key)) as store:
            d = store.describe()
    except (StoreUnavailable, LibraryInUse) as e:
        return lines + [f"collection: cannot be read now: {e}"]
    lines.append(f"collection: {d['collection']} in {d['where']}")
    lines.append(f"  {d['points']} points in {d['segments']} segments, {d['indexed_vectors']} vectors in the HNSW "
                 f"index; status {d['status']}" + (f", optimizer {d['optimizer']}" if "optimizer" in d else ""))
    if "shards" in d:
        lines.append(f"  layout: {d['shards']} shard(s) x {d['replication']} replica(s), vectors "
                     f"{'on disk' if d['on_disk'] else 'in RAM'}, quantization {d['quantization']}, hnsw {d['hnsw']}")
    return lines + _passage_lines(lib, key)


def _passage_lines(lib, key: str) -> list[str]:
    """The passage index beside the collection: its windows as the store counts them (only once it exists)."""
    from desktop.core.library import key_dim
    from desktop.core.passage_catalog import rows_of
    from desktop.core.store import open_library_passages

    windows = rows_of(lib.catalog).counts(key)["windows"]
    if not windows:
        return []
    try:
        store = open_library_passages(lib.settings, lib.catalog, key, key_dim(key), windows)
    except (StoreUnavailable, LibraryInUse) as e:
        return [f"passage index: cannot be read now: {e}"]
    try:
        if hasattr(store, "describe"):  # on a server: what the server says
            d = store.describe()
            return [f"passage index: {d['collection']} in {d['where']}: {d['points']} windows "
                    f"(the catalog has {windows}), {d['segments']} segments, status {d['status']}"]
        return [f"passage index: {store.path}: {store.count()} windows (the catalog has {windows})"]
    finally:
        store.close()
