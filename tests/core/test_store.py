"""Vector store tests against real Qdrant engines, never mocks.

The shared behaviour runs on both implementations: the embedded Edge store, and the server store
(`RemoteStore`) driven through qdrant-client's in-process local mode, which exercises all of
remote.py's request building without a server binary (none can be installed here). Durability,
locking and dimension checks are Edge-only; for a real URL only the failure modes can be tested
(a refused port and a socket that accepts but never answers).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from desktop.core.errors import LibraryInUse, StoreUnavailable
from desktop.core.store import Hit, open_store
from desktop.core.store.edge import POSTFILTER_MAX_IDS, EdgeStore
from tests.qdrant_grpc import QdrantGrpcServer
from tests.qdrant_http import QdrantHttpServer

REPO = Path(__file__).resolve().parents[2]
NAME, DIM = "test-v1-32", 32
GENRES, ARTISTS = ("rock", "jazz", "folk"), tuple(f"artist{i}" for i in range(6))

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*[Pp]ayload index.*:UserWarning"),  # local mode has none
    pytest.mark.filterwarnings("ignore:Local mode performs exact:UserWarning"),
]


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def payload(i: int) -> dict:
    return {
        "track_id": i,
        "path": f"/music/{i}.flac",
        "title": f"Track {i}",
        "artist": ARTISTS[i % len(ARTISTS)],
        "album": f"Album {i // 10}",
        "genre": GENRES[i % len(GENRES)],
        "year": 1960 + i % 60 if i % 7 else None,
        "duration": 180.0 + i,
    }


@pytest.fixture
def data(rng) -> np.ndarray:
    """300 unit vectors in 12 clusters; ids are 1..300 (row i-1)."""
    centers = rng.standard_normal((12, DIM))
    x = centers[rng.integers(0, 12, 300)] + 0.4 * rng.standard_normal((300, DIM))
    return unit(x).astype(np.float32)


def items(data: np.ndarray, ids=None) -> list:
    ids = range(1, len(data) + 1) if ids is None else ids
    return [(i, data[i - 1], payload(i)) for i in ids]


def exact_top(data: np.ndarray, q: np.ndarray, k: int, keep=lambda i: True) -> list[int]:
    scores = data @ unit(q)
    order = [int(j) + 1 for j in np.argsort(-scores)]
    return [i for i in order if keep(i)][:k]


@pytest.fixture(params=["edge", "edge-in-child", "remote-local", "remote-https", "remote-grpc"])
def make_store(request, tmp_path, test_ca):
    """The store under test. edge-in-child: the window's, the Edge shard served by a child process
    (store/in_child.py). remote-https: the server store over real HTTPS with an API key and a
    test CA, to a loopback server (tests/qdrant_http.py) that the in-process engine answers, with the
    size-based layout of a big library (scalar quantization with rescoring, HNSW m=32). remote-grpc: the
    same over gRPC (prefer_grpc) to a loopback gRPC server (tests/qdrant_grpc.py)."""
    opened = []
    server = None
    if request.param == "remote-https":
        server = QdrantHttpServer(api_key="k-123", tls=(test_ca["cert"], test_ca["key"])).__enter__()
    elif request.param == "remote-grpc":
        server = QdrantGrpcServer(api_key="k-123").__enter__()

    def make(name=NAME, dim=DIM):
        if request.param.startswith("edge"):
            store = open_store(str(tmp_path / "vectors"), name, dim, in_child=request.param == "edge-in-child")
        elif server is not None:
            from desktop.core.store.params import CollectionParams
            from desktop.core.store.server import ServerConfig

            if request.param == "remote-grpc":
                config = ServerConfig(url="http://127.0.0.1:9", api_key="k-123", prefer_grpc=True,
                                      grpc_port=server.port)
                store = open_store("", name, dim, server=config)
                opened.append(store)
                return store
            config = ServerConfig(url=server.url, api_key="k-123", ca_file=str(test_ca["ca"]))
            store = open_store("", name, dim, server=config, params=CollectionParams.choose(200_000, dim))
            assert store.quantization == "scalar"
        else:
            from qdrant_client import QdrantClient

            from desktop.core.store.remote import RemoteStore

            store = RemoteStore(QdrantClient(location=":memory:"), name, dim)
        opened.append(store)
        return store

    yield make
    for s in opened:
        s.close()
    if server is not None:
        server.__exit__()


@pytest.fixture
def filled(make_store, data):
    store = make_store()
    store.upsert(items(data))
    return store


# -- shared behaviour ---------------------------------------------------------------------------


def test_search_order_matches_exact_cosine(filled, data, rng):
    for _ in range(5):
        q = data[rng.integers(0, 300)] + 0.1 * rng.standard_normal(DIM).astype(np.float32)
        hits = filled.search(q, 10)
        assert [h.id for h in hits] == exact_top(data, q, 10)
        assert all(isinstance(h, Hit) for h in hits)
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)
        np.testing.assert_allclose(scores, np.sort(data @ unit(q))[::-1][:10], atol=1e-4)


def test_identical_vector_scores_one_and_carries_payload(filled, data):
    hits = filled.search(data[41] * 3.0, 3)  # cosine: the scale does not matter
    assert hits[0].id == 42
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert hits[0].payload == payload(42)


def test_exclude_ids_removes_self(filled, data):
    hits = filled.search(data[41], 5, exclude_ids=[42])
    assert 42 not in [h.id for h in hits]
    assert [h.id for h in hits] == exact_top(data, data[41], 5, keep=lambda i: i != 42)


def test_genre_filter(filled, data):
    hits = filled.search(data[0], 8, genre="jazz")
    assert len(hits) == 8 and {h.payload["genre"] for h in hits} == {"jazz"}
    assert [h.id for h in hits] == exact_top(data, data[0], 8, keep=lambda i: payload(i)["genre"] == "jazz")
    assert filled.search(data[0], 8, genre="polka") == []


def test_artist_not_in(filled, data):
    banned = {"artist0", "artist1", "artist2", "artist3"}
    hits = filled.search(data[5], 10, artist_not_in=banned, exclude_ids=[6])
    assert len(hits) == 10 and not banned & {h.payload["artist"] for h in hits}
    keep = lambda i: i != 6 and payload(i)["artist"] not in banned  # noqa: E731
    assert [h.id for h in hits] == exact_top(data, data[5], 10, keep=keep)
    one = filled.search(data[5], 10, artist_not_in="artist0")  # a lone name, not its letters
    assert len(one) == 10 and "artist0" not in {h.payload["artist"] for h in one}


def test_must_conditions(filled, data):
    must = {"year": {"gte": 1990, "lt": 2000}, "artist": ["artist1", "artist2"]}
    hits = filled.search(data[9], 50, must=must)
    assert hits
    for h in hits:
        assert 1990 <= h.payload["year"] < 2000 and h.payload["artist"] in ("artist1", "artist2")
    with pytest.raises(ValueError):
        filled.search(data[9], 5, must={"year": {"between": 3}})


def test_reupsert_overwrites_without_duplicating(filled, data):
    assert filled.count() == 300
    new_vec = -data[9]
    filled.upsert([(10, new_vec, {**payload(10), "title": "Renamed"})])
    assert filled.count() == 300
    hits = filled.search(new_vec, 1)
    assert hits[0].id == 10 and hits[0].payload["title"] == "Renamed"
    np.testing.assert_allclose(filled.get_vectors([10])[10], new_vec, atol=1e-5)


def test_delete(filled, data):
    filled.delete([1, 2, 3, 12345])
    assert filled.count() == 297
    assert filled.ids() == set(range(4, 301))
    assert 1 not in [h.id for h in filled.search(data[0], 5)]
    assert filled.get_vectors([1, 4]).keys() == {4}


def test_get_vectors_returns_unit_float32(filled, data):
    got = filled.get_vectors([5, 7, 999])
    assert got.keys() == {5, 7}
    assert got[5].dtype == np.float32 and got[5].shape == (DIM,)
    np.testing.assert_allclose(got[7], data[6], atol=1e-5)
    filled.upsert([(900, data[0] * 5.0, payload(900))])
    assert np.linalg.norm(filled.get_vectors([900])[900]) == pytest.approx(1.0, abs=1e-5)


def test_small_store_and_edge_cases(make_store, data):
    store = make_store()
    assert store.count() == 0 and store.ids() == set() and store.search(data[0], 5) == []
    store.upsert([])
    store.upsert(items(data[:3]))
    assert [h.id for h in store.search(data[0], 10)] == exact_top(data[:3], data[0], 10)
    assert store.search(data[0], 0) == []
    with pytest.raises(ValueError):
        store.upsert([(4, np.ones(DIM + 1, np.float32), {})])
    with pytest.raises(ValueError):
        store.upsert([(4, np.full(DIM, np.nan, np.float32), {})])
    with pytest.raises(ValueError):
        store.search(np.ones(DIM - 1), 3)
    store.flush()
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreUnavailable):
        store.count()


# -- Edge only: exactness at scale, persistence, locking, durability ------------------------------


def test_edge_matches_exact_search_with_every_filter_path(tmp_path, rng):
    """5,000 x 128: Turbo8 candidates + float32 rescore vs numpy, on both the post-filter and the
    Edge-filter (many exclusions / most artists banned) paths."""
    n, dim = 5000, 128
    x = unit(rng.standard_normal((60, dim))[rng.integers(0, 60, n)] + 0.5 * rng.standard_normal((n, dim)))
    x = x.astype(np.float32)
    store = open_store(str(tmp_path), "big-v1-128", dim)
    store.upsert([(i + 1, x[i], payload(i + 1)) for i in range(n)])
    many = set(range(1, POSTFILTER_MAX_IDS + 50))
    found = expected = 0
    for _ in range(20):
        q = x[rng.integers(0, n)] + 0.2 * rng.standard_normal(dim).astype(np.float32)
        for kw in ({}, {"exclude_ids": many}, {"artist_not_in": ARTISTS[:5]}, {"genre": "folk"}):
            keep = lambda i, kw=kw: (  # noqa: E731
                i not in kw.get("exclude_ids", ())
                and payload(i)["artist"] not in kw.get("artist_not_in", ())
                and payload(i)["genre"] == kw.get("genre", payload(i)["genre"])
            )
            want = exact_top(x, q, 10, keep)
            got = [h.id for h in store.search(q, 10, **kw)]
            assert all(keep(i) for i in got)
            found += len(set(got) & set(want))
            expected += len(want)
    assert found / expected >= 0.99
    store.close()


def test_edge_persists_across_reopen_with_indexes(tmp_path, data):
    store = open_store(str(tmp_path), NAME, DIM)
    store.upsert(items(data))
    store.delete([300])
    store.close()
    store = open_store(str(tmp_path), NAME, DIM)
    assert store.count() == 299
    assert store.search(data[41], 1)[0].payload == payload(42)
    assert set(store._s().info().payload_schema) >= {"genre", "artist", "year"}
    assert (tmp_path / NAME / "wal").is_dir()
    store.close()


def test_edge_count_is_the_live_points_through_rewrites_deletes_and_reopens(tmp_path, data):
    """count() reads Edge's unfiltered estimate (the exact count walks every point): it must stay exact."""
    store = open_store(str(tmp_path), NAME, DIM)
    store.upsert(items(data))
    store.upsert([(i, -data[i - 1], payload(i)) for i in range(1, 101)])  # the same ids again
    store.delete(range(50, 151, 2))
    assert store.count() == len(store.ids()) == 249
    store.close()
    store = open_store(str(tmp_path), NAME, DIM)
    store.upsert([(i, data[i - 1], payload(i)) for i in range(40, 61)])  # some were deleted, some not
    store.delete([1, 2, 3, 999])
    assert store.count() == len(store.ids()) == 252
    store.close()


def test_edge_dimension_mismatch_is_clear(tmp_path, data):
    open_store(str(tmp_path), NAME, DIM).close()
    with pytest.raises(StoreUnavailable, match=r"(?i)dimension mismatch.*holds 32-dimensional.*64"):
        open_store(str(tmp_path), NAME, 64)
    open_store(str(tmp_path), NAME, DIM).close()  # the failed open left it intact


def test_edge_rejects_bad_names(tmp_path):
    for bad in ("../escape", "a/b", "", ".hidden"):
        with pytest.raises(ValueError):
            open_store(str(tmp_path), bad, DIM)


def test_edge_unusable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreUnavailable, match="Cannot create"):
        open_store(str(blocker), NAME, DIM)


def test_edge_second_open_in_process_is_library_in_use(tmp_path):
    first = open_store(str(tmp_path), NAME, DIM)
    with pytest.raises(LibraryInUse, match="already open"):
        open_store(str(tmp_path), NAME, DIM)
    assert first.count() == 0  # the holder is undisturbed
    first.close()
    open_store(str(tmp_path), NAME, DIM).close()  # and the lock is gone after close


def _run_py(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
    )


def test_edge_second_open_from_subprocess_is_library_in_use(tmp_path):
    first = open_store(str(tmp_path), NAME, DIM)
    r = _run_py(f"""
        from desktop.core.errors import LibraryInUse
        from desktop.core.store import open_store
        try:
            open_store({str(tmp_path)!r}, {NAME!r}, {DIM})
        except LibraryInUse as e:
            print("IN USE:", e)
        """)
    assert "IN USE: The vector store" in r.stdout, r.stdout + r.stderr
    first.close()


def test_edge_point_survives_os_exit_right_after_upsert(tmp_path, data):
    r = _run_py(f"""
        import os, numpy as np
        from desktop.core.store import open_store
        s = open_store({str(tmp_path)!r}, {NAME!r}, {DIM})
        vec = np.array({data[6].tolist()!r}, dtype=np.float32)
        s.upsert([(7, vec, {{"title": "kept", "genre": "jazz"}})])
        os._exit(0)  # no flush, no close
        """)
    assert r.returncode == 0, r.stderr
    store = open_store(str(tmp_path), NAME, DIM)  # the dead process's lock is gone too
    hits = store.search(data[6], 1, genre="jazz")
    assert [h.id for h in hits] == [7] and hits[0].payload["title"] == "kept"
    store.close()


def test_edge_store_is_usable_from_worker_threads(tmp_path, data):
    import threading

    store = open_store(str(tmp_path), NAME, DIM)
    assert isinstance(store, EdgeStore)
    errors = []

    def writer():
        try:
            for i in range(1, 301, 30):
                store.upsert(items(data, range(i, i + 30)))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=writer)
    t.start()
    while t.is_alive():
        store.search(data[0], 5)
    t.join()
    assert not errors and store.count() == 300
    store.close()


# -- remote: failure modes on loopback ------------------------------------------------------------


@pytest.fixture
def remote_imported():
    """Import qdrant-client (about 1 s) before the clock starts: the tests time the network part."""
    import desktop.core.store.remote  # noqa: F401


def test_remote_refused_port_fails_fast(tmp_path, remote_imported):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        with pytest.raises(StoreUnavailable, match=rf"Qdrant server at {url} is unreachable: .*refused"):
            open_store(str(tmp_path), NAME, DIM, url=url, timeout=2.0)  # how fast: bench/timeouts.py


def test_remote_silent_server_fails_within_timeout(tmp_path, remote_imported):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)  # the kernel completes the handshake; nobody ever answers
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        with pytest.raises(StoreUnavailable, match=rf"Qdrant server at {url} is unreachable"):
            open_store(str(tmp_path), NAME, DIM, url=url, timeout=1.0)  # how fast: bench/timeouts.py


def test_remote_trickling_server_hits_the_hard_deadline(tmp_path, remote_imported):
    """A peer that sends a byte now and then resets httpx's read timeout forever; the probe's
    wall-clock deadline (timeout rounded up + 1 s) still ends the wait."""
    import threading

    stop = threading.Event()
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        srv.settimeout(5)

        def trickle():
            conn, _ = srv.accept()
            with conn:
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                while not stop.wait(0.3):
                    conn.sendall(b"X-Slow: 1\r\n")

        threading.Thread(target=trickle, daemon=True).start()
        url = f"http://127.0.0.1:{srv.getsockname()[1]}"
        try:
            with pytest.raises(StoreUnavailable, match=rf"Qdrant server at {url} is unreachable: no answer"):
                open_store(str(tmp_path), NAME, DIM, url=url, timeout=1.0)  # how fast: bench/timeouts.py
        finally:
            stop.set()


def test_remote_dimension_mismatch_is_clear():
    from qdrant_client import QdrantClient

    from desktop.core.store.remote import RemoteStore

    client = QdrantClient(location=":memory:")
    RemoteStore(client, NAME, DIM)
    with pytest.raises(StoreUnavailable, match="holds 32-dimensional"):
        RemoteStore(client, NAME, 64)


# -- recommend (station refills): positives, negatives, MMR diversity ------------------------------


def test_recommend_with_one_positive_ranks_like_nearest(filled, data):
    q = data[0]
    got = [h.id for h in filled.recommend([q], [], 10)]
    assert got == exact_top(data, q, 10)


def test_recommend_drops_points_nearer_a_negative(filled, data):
    q = data[0]
    near = exact_top(data, q, 30)
    neg_id = near[1]  # a close neighbour of the query, disliked
    hits = filled.recommend([q], [data[neg_id - 1]], 30, exclude_ids=[1])
    kept = [h.id for h in hits if h.score > 0]
    assert neg_id not in kept
    pos_s, neg_s = data @ q, data @ data[neg_id - 1]
    for i in kept:  # every positively scored point is nearer the positive than the negative
        assert pos_s[i - 1] >= neg_s[i - 1] - 1e-3
    assert 1 not in [h.id for h in hits]


def test_recommend_with_mmr_spreads_results(filled, data):
    q = data[0]
    plain = filled.recommend([q], [], 10, exclude_ids=[1])
    varied = filled.recommend([q], [], 10, around=q, diversity=0.7, exclude_ids=[1])
    assert 1 not in [h.id for h in varied] and len(varied) == 10

    def mean_pairwise(ids):
        m = data[[i - 1 for i in ids]]
        s = m @ m.T
        return (s.sum() - len(ids)) / (len(ids) * (len(ids) - 1))

    assert mean_pairwise([h.id for h in varied]) < mean_pairwise([h.id for h in plain])


def test_recommend_within_a_pool_ranks_only_its_members(filled, data):
    """A station fetches a pool once (nearest_ids) and recommends within it for a few refills."""
    q = data[0]
    pool = filled.nearest_ids(q, 60)
    assert len(pool) == 60 and pool[0] == 1
    assert len(set(pool) & set(exact_top(data, q, 60))) >= 54  # Edge's pool is its Turbo8 scan, unrescored
    within = set(pool[::2])
    got = [h.id for h in filled.recommend([q], [], 10, within=within, exclude_ids=[1, pool[2]])]
    assert got == exact_top(data, q, 10, keep=lambda i: i in within and i not in (1, pool[2]))
    neg = data[pool[4] - 1]
    varied = filled.recommend([q], [neg], 20, within=within, around=q, diversity=0.5, exclude_ids=[1])
    assert varied and {h.id for h in varied} <= within - {1}
    assert filled.recommend([q], [], 10, within=[1], exclude_ids=[1]) == []


def test_recommend_can_bring_the_stored_vectors_in_the_same_answer(filled, data):
    """A station scores its candidates on their vectors: with_vectors spares it a get_vectors call."""
    q, neg = data[0], data[7]
    within = set(filled.nearest_ids(q, 60))
    for pool in (None, within):
        plain = filled.recommend([q], [neg], 12, within=pool, around=q, diversity=0.3, exclude_ids=[1])
        hits = filled.recommend([q], [neg], 12, within=pool, around=q, diversity=0.3, exclude_ids=[1],
                                with_vectors=True)
        assert [h.id for h in hits] == [h.id for h in plain] and all(h.vector is None for h in plain)
        bare = filled.recommend([q], [neg], 12, within=pool, around=q, diversity=0.3, exclude_ids=[1],
                                with_payload=False)
        assert [h.id for h in bare] == [h.id for h in plain] and all(h.payload == {} for h in bare)
        assert all(h.payload["track_id"] == h.id for h in plain)
        stored = filled.get_vectors([h.id for h in hits])
        for h in hits:
            assert h.vector.dtype == np.float32
            np.testing.assert_allclose(h.vector, stored[h.id], atol=1e-6)


def test_recommend_refuses_no_positive(filled, data):
    with pytest.raises(ValueError):
        filled.recommend([], [data[0]], 5)
