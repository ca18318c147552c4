"""What a track is, declared once: the field table everything else is derived from.

Each `Field` row says where a track's value lives and shows (beets' `Model._fields` idea). From the
table come: the catalog's `tracks` table and its migration (catalog.py), the `Track` dataclass and its
store payload (below), the vector store's payload indexes (store/base.py), the text `read_tags`
returns (tags.py), the library table's columns (ui/library_model.py), the sort and filter columns, and
the keys of `soundalike tracks --json` (cli.py).

How to add a field (e.g. a track number)
---------------------------------------
Add one `Field(...)` row to `FIELDS`; its position is its column position in the library table.
- Existing catalogs get the column on their next open (the catalog compares its table with this
  table and migrates by itself); no schema version to bump.
- `source="tags"` makes `tags.read_tags` return it: list the names tagging tools write it under in
  `tag_fields.ALIASES` (a text field is then read from every container with no more code; numbers
  need a line in tags.py). `tag` is kept for reference only;
  `source="file"` / `"tags"` fields are refreshed when the file changes.
- `payload=True` stores it beside the vector (similar-track hits carry it; points already stored get
  it when they are next written: re-indexed, or rewritten by a standardisation refit);
  `index="keyword" | "integer" | "float" | "bool"` also indexes it in the store for filtering.
- `header="..."` shows it as a library-table column; `sortable`, `search` and `json` do what they say.
A value that needs formatting in the table gets a line in `LibraryModel._display`.
"""

from __future__ import annotations

from dataclasses import dataclass, make_dataclass
from dataclasses import field as dc_field

from desktop.core.paths import shown

SOURCES = ("key", "file", "tags", "index", "library")


@dataclass(frozen=True)
class Field:
    name: str
    type: type  # str, int or float: the Python value (None allowed where `default` is None)
    default: object = None  # a new track's value (and the SQL DEFAULT); `REQUIRED` for id and path
    sql: str = ""  # the column declaration after the name; derived from type and default when empty
    source: str = "library"  # key | file (stat, hash) | tags (read_tags) | index (indexer) | library
    tag: str = ""  # easy-mutagen tag a text field is read from (source="tags")
    sortable: bool = False  # the library can be sorted by it (guards ORDER BY)
    search: bool = False  # the filter box matches it
    payload: bool = False  # kept beside the vector in the store (and so in similar-track hits)
    index: str = ""  # store payload index kind: "keyword", "integer", "float" or "bool"; "" = not indexed
    header: str = ""  # library table column header; "" = not a column
    json: bool = False  # a key of `soundalike tracks --json`
    db_index: bool = False  # an SQLite index on the column

    @property
    def declaration(self) -> str:
        """The SQL column definition, e.g. "title TEXT NOT NULL DEFAULT ''"."""
        if self.sql:
            return f"{self.name} {self.sql}"
        sql_type = {str: "TEXT", int: "INTEGER", float: "REAL"}[self.type]
        if self.default is None:
            return f"{self.name} {sql_type}"
        default = f"'{self.default}'" if self.type is str else format(self.default, "g")
        return f"{self.name} {sql_type} NOT NULL DEFAULT {default}"


REQUIRED = object()  # no default: every Track must be given one

STATUSES = ("pending", "indexed", "failed")

FIELDS: tuple[Field, ...] = (
    Field("id", int, REQUIRED, "INTEGER PRIMARY KEY AUTOINCREMENT", source="key", sortable=True, payload=True,
          json=True),
    # search: the filter matches folder names too
    Field("path", str, REQUIRED, "TEXT NOT NULL UNIQUE", source="key", sortable=True, search=True, payload=True,
          json=True),
    Field("size", int, 0, source="file"),
    Field("mtime", float, 0.0, source="file"),
    Field("file_hash", str, "", source="file", payload=True),
    Field("track_number", int, None, source="tags", sortable=True, payload=True, header="#", json=True),
    Field("title", str, "", source="tags", tag="title", sortable=True, search=True, payload=True, header="Title",
          json=True),
    Field("artist", str, "", source="tags", tag="artist", sortable=True, search=True, payload=True, index="keyword",
          header="Artist", json=True),
    # Shown as the track artist where untagged (players do the same); sorts albums: album artist, album, disc, track.
    Field("album_artist", str, "", source="tags", sortable=True, search=True, payload=True, header="Album artist",
          json=True),
    Field("album", str, "", source="tags", tag="album", sortable=True, search=True, payload=True, header="Album",
          json=True),
    Field("genre", str, "", source="tags", tag="genre", sortable=True, search=True, payload=True, index="keyword",
          header="Genre", json=True),
    Field("year", int, None, source="tags", sortable=True, payload=True, index="integer", header="Year", json=True),
    Field("duration", float, 0.0, source="tags", sortable=True, payload=True, index="float", header="Time", json=True),
    # comma-separated names of the fields not read from tags ("title,album,artist"; see tags.py): shown
    # differently, never written back
    Field("generated", str, "", source="tags"),
    # Read like tagging tools write them (tags.py, tag_fields.ALIASES); players sort, group and play by them.
    Field("track_total", int, None, source="tags", json=True),
    Field("disc_number", int, None, source="tags", sortable=True, payload=True, json=True),
    Field("disc_total", int, None, source="tags", json=True),
    Field("date", str, "", source="tags", sortable=True, json=True),  # as tagged; "" when it held no year
    Field("compilation", int, 0, source="tags", json=True),  # 1: part of a various-artists compilation
    # the same MusicBrainz recording id is the same recording: a copy, never a similar-track hit
    Field("mb_recording_id", str, "", source="tags", payload=True, json=True),
    Field("mb_release_id", str, "", source="tags", json=True),
    Field("rg_track_gain", float, None, source="tags", json=True),  # ReplayGain: dB, and linear peaks
    Field("rg_track_peak", float, None, source="tags", json=True),
    Field("rg_album_gain", float, None, source="tags", json=True),
    Field("rg_album_peak", float, None, source="tags", json=True),
    Field("has_cover", int, 0, source="tags", json=True),  # 1: a picture is embedded
    Field("status", str, "pending",
          "TEXT NOT NULL DEFAULT 'pending' CHECK (status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + "))",
          source="index", sortable=True, header="Index", json=True, db_index=True),
    Field("error", str, "", source="index", json=True),
    Field("embedder", str, "", source="index"),
    Field("added_at", float, 0.0, sortable=True),
    Field("indexed_at", float, None, source="index"),
    # not None: the file was gone at the last scan; the track keeps its vector, hidden until it is back
    # or `soundalike prune` drops it
    Field("missing_since", float, None),
)

BY_NAME = {f.name: f for f in FIELDS}
NAMES = tuple(f.name for f in FIELDS)
SORTABLE = tuple(f.name for f in FIELDS if f.sortable)
SEARCHABLE = tuple(f.name for f in FIELDS if f.search)
FROM_FILE = tuple(f.name for f in FIELDS if f.source in ("file", "tags"))  # refreshed when the file changes
TAG_FIELDS = tuple(f for f in FIELDS if f.source == "tags")
FROM_TAGS = tuple(f.name for f in TAG_FIELDS)
JSON_KEYS = tuple(f.name for f in FIELDS if f.json)
PAYLOAD_KEYS = {f.name: "track_id" if f.name == "id" else f.name for f in FIELDS if f.payload}
# Derived payload values (not columns): name -> function of the Track.
COMPUTED_PAYLOAD = {"artist_generated": lambda t: t.artist_generated}
PAYLOAD_TYPES = {**{PAYLOAD_KEYS[f.name]: f.type for f in FIELDS if f.payload}, "artist_generated": bool}
# (payload key, kind) of the indexes every store collection gets.
PAYLOAD_INDEXES = tuple((PAYLOAD_KEYS[f.name], f.index) for f in FIELDS if f.index)


# The catalog's tracks table and its indexes, as SQL (catalog.py creates and migrates it from these).
TRACKS_TABLE = "CREATE TABLE tracks (\n    " + ",\n    ".join(f.declaration for f in FIELDS) + "\n)"
TRACKS_INDEXES = tuple(f"CREATE INDEX IF NOT EXISTS tracks_{f.name} ON tracks({f.name})" for f in FIELDS if f.db_index)


def declarations(create_sql: str) -> set[str]:
    """The column definitions of a CREATE TABLE statement, whitespace-normalised, in any order."""
    body = create_sql[create_sql.index("(") + 1 : create_sql.rindex(")")]
    out, depth, start = set(), 0, 0
    for i, ch in enumerate(body + ","):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            out.add(" ".join(body[start:i].split()))
            start = i + 1
    return out


def tags_defaults() -> dict:
    """What `read_tags` starts from: every tag field at its default."""
    return {f.name: f.default for f in TAG_FIELDS}


def _artist_generated(self) -> bool:
    return "artist" in self.generated.split(",")


def _missing(self) -> bool:
    return self.missing_since is not None


def _payload(self) -> dict:
    """What the vector store keeps beside the vector (enough to show and filter a hit). Payloads are
    JSON: a path that is not UTF-8 is stored as shown (hits take the exact path from the catalog)."""
    out = {key: getattr(self, name) for name, key in PAYLOAD_KEYS.items()}
    out["path"] = shown(out["path"])
    out.update({key: fn(self) for key, fn in COMPUTED_PAYLOAD.items()})
    return out


def _annotation(f: Field):
    return f.type if f.default is not None else f.type | None


Track = make_dataclass(
    "Track",
    [(f.name, _annotation(f)) if f.default is REQUIRED else (f.name, _annotation(f), dc_field(default=f.default))
     for f in FIELDS],
    namespace={"artist_generated": property(_artist_generated), "missing": property(_missing), "payload": _payload,
               "__doc__": "One catalog row; its fields are `FIELDS` (desktop/core/track.py)."},
)
Track.__module__ = __name__  # make_dataclass takes `module=` only from Python 3.12
