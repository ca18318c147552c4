"""The one vector-store interface the rest of Soundalike talks to, and the helpers both backends share.

Why an interface: the library normally keeps its vectors in an embedded Qdrant Edge shard
(`edge.py`), but a user may point Soundalike at a Qdrant server (`remote.py`). Catalog, UI and CLI
must not care which, so both implement `VectorStore` and pass the same behaviour tests.

Conventions every backend keeps:
- one collection per embedder key (`name`, e.g. "spectral-v3-256"); vectors of different keys are
  never mixed;
- the point id is the stable catalog track id; upserting an id again replaces its vector and payload;
- similarity is cosine; scores are cosine similarities in [-1, 1], best first. Vectors are stored
  unit-normalised (Qdrant normalises on insert for cosine), so `get_vectors` returns unit vectors;
- the payload is `Track.payload()`; the fields indexed for filtering are `PAYLOAD_INDEXES`, declared with
  the rest of a track in desktop/core/track.py;
- `must` is backend-neutral (no Qdrant types leak out): a mapping of payload field to
  a scalar (equality), a list/tuple/set (any of) or a dict with keys gte/gt/lte/lt (range), e.g.
  `{"year": {"gte": 1990, "lte": 1999}, "album": "Blue"}`;
- errors a user can act on are `StoreUnavailable` / `LibraryInUse`; bad arguments are `ValueError`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from desktop.core.track import PAYLOAD_INDEXES, PAYLOAD_TYPES

__all__ = ["PAYLOAD_INDEXES", "Hit", "VectorStore"]

RANGE_KEYS = ("gte", "gt", "lte", "lt")
# Candidates taken from the first (quantised) stage before the float32 rescore: max(PREFETCH_MIN, OVERSAMPLE * k).
PREFETCH_MIN, OVERSAMPLE = 100, 4
POOL_FACTOR = 4  # recommend: tracks near the positives' mean the best-score recommend chooses from
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


@dataclass
class Hit:
    id: int
    score: float
    payload: dict
    # recommend(with_vectors=True) fills it
    vector: np.ndarray | None = dataclasses.field(default=None, compare=False, repr=False)


class VectorStore:
    """A collection of (track id, unit vector, payload) with exact-or-near-exact cosine search."""

    dim: int
    name: str

    def upsert(self, items: list[tuple[int, np.ndarray, dict]]) -> None:
        """Insert or replace points. Re-upserting an id overwrites it, never duplicates it."""
        raise NotImplementedError

    def delete(self, ids: Iterable[int]) -> None:
        """Remove points; unknown ids are ignored."""
        raise NotImplementedError

    def search(
        self,
        vector,
        k: int,
        *,
        exclude_ids: Iterable[int] = (),
        genre: str | None = None,
        artist_not_in: Iterable[str] = (),
        must: Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        """The `k` most cosine-similar points passing the filters, best first, payload included."""
        raise NotImplementedError

    def search_each(self, queries: Iterable[tuple[Any, int, Mapping[str, Any]]]) -> list[list[Hit]]:
        """`search(vector, k, **filters)` for each (vector, k, filters) of `queries`, in order. A store in another
        process (the window's, in_child.py) answers them all in one round trip instead of one each."""
        return [self.search(vector, k, **filters) for vector, k, filters in queries]

    def recommend(
        self,
        positives,
        negatives=(),
        k: int = 10,
        *,
        around=None,
        diversity: float = 0.0,
        exclude_ids: Iterable[int] = (),
        must: Mapping[str, Any] | None = None,
        within: Iterable[int] | None = None,
        with_vectors: bool = False,
        with_payload: bool = True,
        prefix_of: int | None = None,
    ) -> list[Hit]:
        """Points nearer some positive example than any negative one (Qdrant's best-score recommend).

        With `around` and `diversity` > 0 the recommended candidates are re-ranked by maximal marginal
        relevance around that vector (0 = plain relevance, 1 = as varied as possible), so a refill does
        not bring five near-copies of one sound. Scores are the engine's: recommend scores (a point
        nearer a negative scores below 0), or with MMR the cosine to `around`.

        Without `within` the store takes one scan for a pool of points around the positives' mean and
        recommends from it; with `within` (ids from `nearest_ids`, kept by the caller across calls) it
        recommends among those ids only and scans nothing. `with_vectors`: each hit also carries its stored
        float32 vector (`Hit.vector`) where the store can return it in the same query (else None);
        `with_payload=False`: hits carry no payload (a caller that reads the catalog's rows anyway).
        `prefix_of` (at least k): rank the candidates a query for that many hits would rank, so the k hits are
        the first k of its answer (a caller that may need more asks again, and the order holds).
        """
        raise NotImplementedError

    def nearest_ids(self, vector, n: int) -> list[int]:
        """The ids of (about) the `n` points nearest `vector`, nearest first: a pool for `recommend(within=)`."""
        raise NotImplementedError

    def get_vectors(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """Stored (unit-normalised) float32 vectors of the ids that exist; missing ids are left out."""
        raise NotImplementedError

    def ids(self) -> set[int]:
        raise NotImplementedError

    def count(self) -> int:
        raise NotImplementedError

    def describe(self) -> dict:
        """What `soundalike status` shows: collection, where, status, points, segments, indexed_vectors
        (and, on a server, its layout: shards, replication, on_disk, quantization, hnsw)."""
        raise NotImplementedError

    def flush(self) -> None:
        """Make every acknowledged write durable in the main storage (the WAL already has it)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the store (and its folder lock). Idempotent."""
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"


def check_name(name: str) -> str:
    """Collection names become folder names: refuse anything that could escape `root_dir`."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
        raise ValueError(f"invalid vector collection name {name!r} (letters, digits, '.', '_', '-' only)")
    return name


def as_matrix(vectors: Iterable[np.ndarray], dim: int) -> np.ndarray:
    """Stack vectors into a C-contiguous float32 (n, dim) matrix; refuse wrong sizes and NaN/inf.

    Qdrant itself accepts NaN silently and it would then poison every score, hence the check.
    """
    vs = [np.asarray(v, dtype=np.float32).reshape(-1) for v in vectors]
    if not vs:
        return np.zeros((0, dim), np.float32)
    for v in vs:
        if v.shape[0] != dim:
            raise ValueError(f"vector has {v.shape[0]} dimensions, this collection holds {dim}")
    m = np.ascontiguousarray(np.stack(vs))
    if not np.isfinite(m).all():
        raise ValueError("vector contains NaN or infinity")
    return m


def as_query(vector, dim: int) -> np.ndarray:
    return as_matrix([vector], dim)[0]


def recommend_args(positives, negatives, k, diversity: float, dim: int):
    """`recommend`'s arguments checked the same way by every backend: (positive and negative examples as
    lists, k), or None when k asks for nothing."""
    pos = [as_query(v, dim).tolist() for v in positives]
    neg = [as_query(v, dim).tolist() for v in negatives]
    if not pos:
        raise ValueError("a recommendation needs at least one positive example")
    if int(k) <= 0:
        return None
    if not 0.0 <= diversity <= 1.0:
        raise ValueError(f"diversity is between 0 and 1, got {diversity}")
    return pos, neg, int(k)


def clean_payload(track_id: int, payload: dict | None) -> dict:
    """Copy the payload, fill `track_id`, and coerce the numbers to their declared types (a value that is
    not a number becomes None rather than breaking an index)."""
    p = dict(payload or {})
    p.setdefault("track_id", int(track_id))
    for key, kind in PAYLOAD_TYPES.items():
        if kind in (int, float) and p.get(key) is not None:
            try:
                p[key] = kind(p[key])
            except (TypeError, ValueError):
                p[key] = None
    return p


def as_ids(ids: Iterable[int]) -> list[int]:
    given = list(ids)
    if not given or (set(map(type, given)) == {int} and min(given) >= 0):
        return given  # plain ints, the usual case (a station's pool of 1000 ids each refill): checked at C speed
    out = []
    for i in given:
        if isinstance(i, bool) or int(i) != i or int(i) < 0:
            raise ValueError(f"point ids are non-negative integers, got {i!r}")
        out.append(int(i))
    return out


def as_names(values: Iterable[str] | str | None) -> set[str]:
    """`artist_not_in` as a set; a lone string means one artist, not its letters."""
    if values is None:
        return set()
    if isinstance(values, str):
        return {values}
    return {v for v in values if v is not None}


def parse_must(must: Mapping[str, Any] | None) -> list[tuple[str, str, Any]]:
    """Normalise `must` into (field, kind, value) with kind in {"eq", "any", "range"}."""
    out: list[tuple[str, str, Any]] = []
    for field, value in (must or {}).items():
        if isinstance(value, Mapping):
            bad = set(value) - set(RANGE_KEYS)
            if bad or not value:
                raise ValueError(f"range condition on {field!r} takes keys {RANGE_KEYS}, got {sorted(value)}")
            out.append((field, "range", {k: float(v) for k, v in value.items()}))
        elif isinstance(value, (list, tuple, set, frozenset)):
            out.append((field, "any", list(value)))
        elif isinstance(value, (str, int)):
            out.append((field, "eq", value))
        else:
            raise ValueError(
                f"unsupported condition on {field!r}: {value!r} (use str/int, a list, or a range dict)"
            )
    return out

