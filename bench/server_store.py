"""Qdrant server store numbers (issue 22): migration throughput, query latency with and without
quantization, and one collection per library vs a shared collection with a library-id filter.

No Qdrant server binary can be obtained here, so "the server" is qdrant-client's in-process engine,
either called directly (`QdrantClient(":memory:")`) or behind the loopback HTTP server of the tests
(tests/qdrant_http.py: real HTTP + JSON, what the client really sends). The in-process engine scans
every vector with numpy and ignores quantization and HNSW settings, so its query figures say nothing
about a real server's HNSW; they are the floor this machine gives, printed as context.

    .venv/bin/python bench/server_store.py [--n 100000] [--dim 768] [--queries 40]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from desktop.core.catalog import Catalog  # noqa: E402
from desktop.core.events import Progress  # noqa: E402
from desktop.core.library import ACTIVE_KEY, Library  # noqa: E402
from desktop.core.migrate import migrate  # noqa: E402
from desktop.core.passage_catalog import PassageRows  # noqa: E402
from desktop.core.standardize import Standardizer  # noqa: E402


def make_catalog(home: Path, n: int, dim: int, key: str, rng, window_tracks: int = 0, per_track: int = 100
                 ) -> np.ndarray:
    """`n` tracks with raw vectors; the first `window_tracks` also get `per_track` passage windows each."""
    cat = Catalog(home / "catalog.sqlite3")
    centers = rng.standard_normal((64, dim)).astype(np.float32) * 2
    raws = centers[rng.integers(0, 64, n)] + rng.standard_normal((n, dim)).astype(np.float32)
    t = time.monotonic()
    with cat.transaction():
        for i in range(n):
            cat._run("INSERT INTO tracks(path, title, artist, genre, status, embedder) VALUES(?,?,?,?,?,?)",
                     (f"/music/{i}.flac", f"t{i}", f"a{i % 500}", ("rock", "jazz", "folk")[i % 3], "indexed", key))
            cat._run("INSERT INTO vectors(track_id, embedder, raw) VALUES(?,?,?)", (i + 1, key, raws[i].tobytes()))
    fit = Standardizer.fit(raws)
    cat.set_standardizer(key, fit.n, fit.mean, fit.scale)
    cat.set_meta(ACTIVE_KEY, key)
    rows, starts = PassageRows(cat), np.arange(per_track) * 2.0
    for tid in range(1, min(window_tracks, n) + 1):
        windows = raws[tid - 1] + 0.5 * rng.standard_normal((per_track, dim)).astype(np.float32)
        rows.save(tid, key, 0, 0.0, starts, starts + 4.0, windows)
    cat.close()
    print(f"catalog of {n} x {dim}, {min(window_tracks, n) * per_track} passage windows: "
          f"{time.monotonic() - t:.1f} s", flush=True)
    return raws


def timed_migration(home: Path, to: str, label: str, open_target=None, open_passage_target=None) -> None:
    """Track vectors and passage windows timed apart (the first passage progress event splits them)."""
    split = None
    with Library.open(home) as lib:
        for ev in migrate(lib, to, batch=512, open_target=open_target, open_passage_target=open_passage_target):
            if split is None and isinstance(ev, Progress) and ev.stage.startswith("copy passages"):
                split = time.monotonic()
            report = ev
        end = time.monotonic()
    tracks_s = report.seconds - (end - split if split else 0.0)
    print(f"migrate -> {label}: {report.vectors} vectors in {tracks_s:.1f} s = "
          f"{report.vectors / tracks_s:,.0f} vectors/s (copy + verify, {report.sampled} sampled)", flush=True)
    if split:
        print(f"    and {report.windows} passage windows in {end - split:.1f} s = "
              f"{report.windows / (end - split):,.0f} windows/s", flush=True)


def latency(fn, queries) -> tuple[float, float]:
    times = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def query_latency(n: int, dim: int, nq: int, rng, quants=("none", "scalar", "binary")) -> None:
    from qdrant_client import QdrantClient

    from desktop.core.store.params import CollectionParams
    from desktop.core.store.remote import RemoteStore

    x = rng.standard_normal((n, dim)).astype(np.float32)
    queries = x[rng.integers(0, n, nq)] + 0.1 * rng.standard_normal((nq, dim)).astype(np.float32)
    for quant in quants:
        params = CollectionParams(quantization=quant)
        store = RemoteStore(QdrantClient(location=":memory:"), f"q-{quant}-{dim}", dim, params=params)
        t = time.monotonic()
        for i in range(0, n, 2048):
            store.upsert([(j + 1, x[j], {"genre": "rock"}) for j in range(i, min(n, i + 2048))])
        up = time.monotonic() - t
        p50, p99 = latency(lambda q, s=store: s.search(q, 10), queries)
        print(f"in-process engine, {n} x {dim}, quantization {quant:6s}: upsert {n / up:,.0f} pts/s, "
              f"query k=10 p50 {p50:.0f} ms / p99 {p99:.0f} ms", flush=True)
        store.close()


def transports(n: int, dim: int, nq: int, rng) -> None:
    """REST (JSON) vs gRPC (protobuf) with prefer_grpc, each to a loopback test server in this process
    backed by the in-process engine: client encoding + loopback wire + a Python server's decoding."""
    from desktop.core.store import open_store
    from desktop.core.store.server import ServerConfig
    from tests.qdrant_grpc import QdrantGrpcServer
    from tests.qdrant_http import QdrantHttpServer

    x = rng.standard_normal((n, dim)).astype(np.float32)
    queries = x[rng.integers(0, n, nq)]
    with QdrantHttpServer() as rest, QdrantGrpcServer() as grpc_server:
        for label, config in (("REST", ServerConfig(url=rest.url, timeout=60)),
                              ("gRPC", ServerConfig(url="http://127.0.0.1:9", prefer_grpc=True,
                                                    grpc_port=grpc_server.port, timeout=60))):
            store = open_store("", f"t-{label.lower()}-{dim}", dim, server=config)
            t = time.monotonic()
            for i in range(0, n, 512):
                store.upsert([(j + 1, x[j], {"genre": "rock", "title": f"t{j}"}) for j in range(i, min(n, i + 512))])
            up = time.monotonic() - t
            p50, p99 = latency(lambda q, s=store: s.search(q, 10), queries)
            print(f"{label} to a loopback test server, {n} x {dim}: upsert {n / up:,.0f} pts/s, "
                  f"query k=10 p50 {p50:.1f} ms / p99 {p99:.1f} ms", flush=True)
            store.close()


def encoding(dim: int, batch: int = 512, rounds: int = 5) -> None:
    """Client-side cost of one upsert batch: REST JSON (what qdrant-client sends) vs gRPC protobuf."""
    from qdrant_client import models
    from qdrant_client.conversions.conversion import RestToGrpc

    rng = np.random.default_rng(1)
    points = [models.PointStruct(id=i, vector=rng.standard_normal(dim).astype(np.float32).tolist(),
                                 payload={"title": f"t{i}", "genre": "rock", "year": 1999}) for i in range(batch)]
    t = time.perf_counter()
    for _ in range(rounds):
        body = models.PointsList(points=points).model_dump_json(exclude_none=True).encode()
    rest_ms = (time.perf_counter() - t) / rounds * 1000
    t = time.perf_counter()
    for _ in range(rounds):
        wire = b"".join(RestToGrpc.convert_point_struct(p).SerializeToString() for p in points)
    grpc_ms = (time.perf_counter() - t) / rounds * 1000
    print(f"one {batch}-point batch of {dim}-d: REST JSON {len(body) / 1e6:.2f} MB encoded in {rest_ms:.0f} ms; "
          f"gRPC protobuf {len(wire) / 1e6:.2f} MB encoded in {grpc_ms:.0f} ms", flush=True)


def tenancy(n_each: int, dim: int, nq: int, rng) -> None:
    """Two libraries of n_each: their own collections vs one collection with a library_id filter."""
    from qdrant_client import QdrantClient, models

    c = QdrantClient(location=":memory:")
    a, b = (rng.standard_normal((n_each, dim)).astype(np.float32) for _ in range(2))
    vp = models.VectorParams(size=dim, distance=models.Distance.COSINE)
    for name in ("lib-a", "lib-b", "shared"):
        c.create_collection(name, vectors_config=vp)
    for i in range(0, n_each, 2048):
        rows = range(i, min(n_each, i + 2048))
        c.upsert("lib-a", [models.PointStruct(id=j + 1, vector=a[j].tolist(), payload={}) for j in rows])
        c.upsert("lib-b", [models.PointStruct(id=j + 1, vector=b[j].tolist(), payload={}) for j in rows])
        c.upsert("shared", [models.PointStruct(id=2 * j + 1, vector=a[j].tolist(), payload={"lib": "a"}) for j in rows]
                 + [models.PointStruct(id=2 * j + 2, vector=b[j].tolist(), payload={"lib": "b"}) for j in rows])
    queries = a[rng.integers(0, n_each, nq)]
    only_a = models.Filter(must=[models.FieldCondition(key="lib", match=models.MatchValue(value="a"))])
    own = latency(lambda q: c.query_points("lib-a", query=q.tolist(), limit=10), queries)
    shared = latency(lambda q: c.query_points("shared", query=q.tolist(), query_filter=only_a, limit=10), queries)
    print(f"two libraries of {n_each} x {dim}: own collection p50 {own[0]:.0f} / p99 {own[1]:.0f} ms; "
          f"shared collection + library filter p50 {shared[0]:.0f} / p99 {shared[1]:.0f} ms", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--skip", nargs="*", default=(), choices=("migrate", "query", "transport", "tenancy"))
    ap.add_argument("--quant", nargs="+", default=["none", "scalar", "binary"], choices=("none", "scalar", "binary"))
    ap.add_argument("--tenancy-n", type=int, default=0, help="points per library (default: n/2)")
    ap.add_argument("--transport-n", type=int, default=20_000, help="points for the REST vs gRPC comparison")
    ap.add_argument("--window-tracks", type=int, default=1000,
                    help="tracks that also get 100 passage windows each (migrated after the track vectors)")
    ap.add_argument("--rest-migration", type=int, default=0, metavar="N",
                    help="also migrate N points through the loopback REST test server (slow: Python JSON server)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    if "migrate" not in args.skip:
        from qdrant_client import QdrantClient

        from desktop.core.store.remote import RemoteStore
        from desktop.core.store.remote_passages import RemotePassageStore

        engine = QdrantClient(location=":memory:")
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            make_catalog(home, args.n, args.dim, f"bench-v1-{args.dim}", rng, args.window_tracks)
            timed_migration(home, "http://in-process.invalid:6333", "qdrant-client's in-process engine",
                            open_target=lambda key, dim: RemoteStore(engine, f"bench-{key}", dim),
                            open_passage_target=lambda key, dim, w: RemotePassageStore(
                                QdrantClient(location=":memory:"), f"bench-p-{key}", dim))
            timed_migration(home, "embedded", "embedded Qdrant Edge")
        if args.rest_migration:
            from tests.qdrant_http import QdrantHttpServer

            with tempfile.TemporaryDirectory() as tmp, QdrantHttpServer() as server:
                home = Path(tmp)
                make_catalog(home, args.rest_migration, args.dim, f"bench-v1-{args.dim}", rng)
                timed_migration(home, server.url, "the in-process engine behind the loopback REST test server")
    if "query" not in args.skip:
        query_latency(args.n, args.dim, args.queries, rng, args.quant)
    if "transport" not in args.skip:
        encoding(args.dim)
        transports(args.transport_n, args.dim, args.queries, rng)
    if "tenancy" not in args.skip:
        tenancy(args.tenancy_n or args.n // 2, args.dim, args.queries, rng)


if __name__ == "__main__":
    main()
