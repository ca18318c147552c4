"""A Qdrant server reached over real HTTP(S) on 127.0.0.1: API key, TLS, collection layout, shared servers.

The server is tests/qdrant_http.py (real sockets, real TLS with a CA made by openssl, answered by
qdrant-client's in-process engine), because no Qdrant server binary can be obtained here.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
from dataclasses import replace

import numpy as np
import pytest

from desktop.core.config import load_settings
from desktop.core.errors import SoundalikeError, StoreUnavailable
from desktop.core.library import Library
from desktop.core.store import open_library_store, open_store
from desktop.core.store.params import CollectionParams
from desktop.core.store.server import ServerConfig
from tests.qdrant_http import QdrantHttpServer
from tests.vector_library import DIM, KEY, make_library, top_ids

KEY_VALUE = "sk-test-5f1e2d9c"
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*[Pp]ayload index.*:UserWarning"),
    pytest.mark.filterwarnings("ignore:Local mode performs exact:UserWarning"),
]


@pytest.fixture
def server():
    with QdrantHttpServer(api_key=KEY_VALUE) as srv:
        yield srv


@pytest.fixture
def tls_server(test_ca):
    with QdrantHttpServer(api_key=KEY_VALUE, tls=(test_ca["cert"], test_ca["key"])) as srv:
        yield srv


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_api_key_goes_in_every_request_and_nowhere_else(tmp_path, tls_server, test_ca, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    home = tmp_path / "lib"
    make_library(home, 40, qdrant_url=tls_server.url, qdrant_api_key=KEY_VALUE, qdrant_ca_file=str(test_ca["ca"]))
    assert [hits[0][0] for hits in top_ids(home, [1, 2])]  # the library searches on the server
    assert len(tls_server.requests) > 5
    assert all(headers.get("api-key") == KEY_VALUE for _, _, headers, _ in tls_server.requests)
    settings = load_settings(home)
    assert settings.qdrant_api_key == KEY_VALUE and KEY_VALUE not in repr(settings)
    assert KEY_VALUE not in repr(ServerConfig.from_settings(settings))
    with pytest.raises(StoreUnavailable) as wrong:
        open_store("", "x-v1-4", 4, server=replace(ServerConfig.from_settings(settings), api_key="sk-wrong-0000"))
    assert "rejected the API key (HTTP 401)" in str(wrong.value) and "sk-wrong" not in str(wrong.value)
    out, err = capfd.readouterr()
    for text in (caplog.text, out, err):
        assert KEY_VALUE not in text and "sk-wrong" not in text
    assert stat.S_IMODE(os.stat(home / "config.json").st_mode) == 0o600  # the file holding the key


def test_missing_key_says_which_setting_to_fill(server):
    with pytest.raises(StoreUnavailable, match=r"rejected the API key \(HTTP 401\): it needs one; set qdrant_api_key"):
        open_store("", "x-v1-4", 4, server=ServerConfig(url=server.url))


def test_key_from_the_environment_is_not_written_to_config(home, monkeypatch):
    monkeypatch.setenv("SOUNDALIKE_QDRANT_API_KEY", KEY_VALUE)
    settings = load_settings(home)
    assert settings.qdrant_api_key == KEY_VALUE
    replace(settings, qdrant_url="https://qdrant.example:6333").save()
    saved = json.loads((home / "config.json").read_text())
    assert saved["qdrant_url"] == "https://qdrant.example:6333" and saved["qdrant_api_key"] == ""
    replace(settings, qdrant_api_key="typed-in-dialog").save()  # a key the user typed is kept
    assert json.loads((home / "config.json").read_text())["qdrant_api_key"] == "typed-in-dialog"


def test_tls_trusts_the_ca_file_and_says_so_when_untrusted(tls_server, test_ca, tmp_path):
    good = ServerConfig(url=tls_server.url, api_key=KEY_VALUE, ca_file=str(test_ca["ca"]))
    with open_store("", "x-v1-4", 4, server=good) as store:
        store.upsert([(1, np.ones(4), {})])
        assert store.count() == 1
    untrusted = r"TLS certificate is not trusted by the system's CAs \(set qdrant_ca_file\)"
    with pytest.raises(StoreUnavailable, match=untrusted):
        open_store("", "x-v1-4", 4, server=replace(good, ca_file=""))
    missing = tmp_path / "nope.pem"
    with pytest.raises(StoreUnavailable, match=rf"{missing}: cannot use it as the Qdrant server's CA file"):
        open_store("", "x-v1-4", 4, server=replace(good, ca_file=str(missing)))


def test_prefer_grpc_says_clearly_that_a_closed_port_is_unreachable():
    port = closed_port()
    config = ServerConfig(url=f"http://127.0.0.1:{closed_port()}", prefer_grpc=True, grpc_port=port, timeout=2)
    with pytest.raises(StoreUnavailable, match=rf"at http://127.0.0.1:\d+ \(gRPC port {port}\) is unreachable: "):
        open_store("", "x-v1-4", 4, server=config)


def test_grpc_sends_the_key_as_metadata_and_a_wrong_one_is_one_line():
    from tests.qdrant_grpc import QdrantGrpcServer

    with QdrantGrpcServer(api_key=KEY_VALUE) as srv:
        config = ServerConfig(url="http://127.0.0.1:9", api_key=KEY_VALUE, prefer_grpc=True, grpc_port=srv.port)
        with open_store("", "x-v1-4", 4, server=config) as store:
            store.upsert([(1, np.ones(4), {})])
            assert store.search(np.ones(4), 1)[0].id == 1
        assert srv.keys_seen and set(srv.keys_seen) == {KEY_VALUE}
        with pytest.raises(StoreUnavailable) as wrong:
            open_store("", "x-v1-4", 4, server=replace(config, api_key="sk-wrong-1"))
        assert str(wrong.value) == (f"Qdrant server at http://127.0.0.1:9 (gRPC port {srv.port}) rejected the API "
                                    "key (HTTP 401): check qdrant_api_key (config.json) or SOUNDALIKE_QDRANT_API_KEY")


def test_layout_settings_go_over_the_wire_and_status_reports_them(tmp_path, server):
    home = tmp_path / "lib"
    make_library(home, 30, qdrant_url=server.url, qdrant_api_key=KEY_VALUE, qdrant_shards=3, qdrant_replication=2,
                 qdrant_on_disk=True, qdrant_quantization="binary", qdrant_hnsw_m=48, qdrant_hnsw_ef_construct=300)
    (name, body), = server.created.items()
    assert body["shard_number"] == 3 and body["replication_factor"] == 2
    assert body["vectors"] == {**body["vectors"], "size": DIM, "distance": "Cosine", "on_disk": True}
    assert body["hnsw_config"]["m"] == 48 and body["hnsw_config"]["ef_construct"] == 300
    assert body["quantization_config"]["binary"]["always_ram"] is True
    top_ids(home, [3])
    query = [b for method, path, _, b in server.requests if path.startswith(f"/collections/{name}/points/query")][-1]
    assert query["params"]["quantization"] == {**query["params"]["quantization"], "rescore": True, "oversampling": 3.0}
    with Library.open(home) as lib:
        d = lib.store().describe()
    assert (d["points"], d["shards"], d["replication"], d["on_disk"], d["quantization"]) == (30, 3, 2, True, "binary")
    assert d["status"] == "green" and d["segments"] >= 1 and d["hnsw"] == "m=48 ef_construct=300"


def test_layout_defaults_follow_library_size():
    small, mid, big = (CollectionParams.choose(n, 768) for n in (5_000, 60_000, 400_000))
    assert (small.quantization, small.on_disk, small.hnsw_m) == ("none", False, 16)
    assert (small.shards, small.replication) == (None, 1)
    assert (mid.quantization, mid.on_disk, mid.hnsw_m) == ("scalar", False, 16)
    assert (big.quantization, big.on_disk, big.hnsw_m, big.hnsw_ef_construct) == ("scalar", True, 32, 256)
    settings = replace(load_settings(), qdrant_quantization="none", qdrant_on_disk=False, qdrant_shards=4)
    forced = CollectionParams.choose(400_000, 768, settings)
    assert (forced.quantization, forced.on_disk, forced.shards, forced.hnsw_m) == ("none", False, 4, 32)
    with pytest.raises(SoundalikeError, match="qdrant_quantization"):
        replace(load_settings(), qdrant_quantization="pq8").validated()


def test_two_libraries_on_one_server_never_see_each_others_tracks(tmp_path, server):
    homes = [tmp_path / "anna", tmp_path / "ben"]
    for seed, home in enumerate(homes):  # both number their tracks 1..n, with the same vector space key
        make_library(home, 60 + 20 * seed, seed=seed, qdrant_url=server.url, qdrant_api_key=KEY_VALUE)
    assert len(server.created) == 2
    for home in homes:
        with Library.open(home) as lib:
            store = lib.store()
            assert store.count() == 60 + 20 * homes.index(home)
            for tid in (1, 5, 17):
                vec = store.get_vectors([tid])[tid]
                hits = store.search(vec, 200)
                assert hits[0].id == tid and hits[0].score == pytest.approx(1.0, abs=1e-4)
                assert {h.payload["path"].split("/")[2] for h in hits} == {home.name}
    with Library.open(homes[0]) as a, Library.open(homes[1]) as b:
        assert a.catalog.meta("library_id") != b.catalog.meta("library_id")
        a.remove_tracks([1, 2, 3])  # one library forgetting tracks leaves the other's alone
        assert b.store().count() == 80 and a.store().count() == 57


def test_library_id_is_stable_and_names_the_collection(tmp_path, server):
    home = tmp_path / "lib"
    make_library(home, 10, qdrant_url=server.url, qdrant_api_key=KEY_VALUE)
    with Library.open(home) as lib:
        lid = lib.catalog.meta("library_id")
        assert len(lid) == 32 and lib.store().name == f"soundalike-{lid}-{KEY}"
    with Library.open(home) as lib:
        assert lib.catalog.meta("library_id") == lid
        with open_library_store(lib.settings, lib.catalog, KEY, DIM) as again:
            assert again.name == f"soundalike-{lid}-{KEY}" and again.count() == 10


def test_a_library_built_on_the_server_is_laid_out_for_all_its_tracks(tmp_path, server):
    """The first index run scans before it embeds: the collection is sized by every known track."""
    from desktop.core.catalog import Catalog, Track
    from desktop.core.config import load_settings as load

    home = tmp_path / "big"
    cat = Catalog(home / "catalog.sqlite3")
    with cat.transaction():
        for i in range(60_000):
            cat.add_track(Track(id=0, path=f"/music/{i}.flac"))
    replace(load(home), qdrant_url=server.url, qdrant_api_key=KEY_VALUE).save()
    with open_library_store(load(home), cat, KEY, DIM) as store:
        assert store.count() == 0 and store.quantization == "scalar"
    cat.close()
    (body,) = server.created.values()
    assert body["quantization_config"]["scalar"]["type"] == "int8"


def test_recommend_on_a_server_scans_once_for_a_pool(server):
    """Like the embedded store: one nearest search around the positives' mean (a pool), the server's
    best-score recommend with the negatives over that pool, MMR last; a best-score recommend over the whole
    collection would search once per example."""
    store = open_store("", "pooled", 8, server=ServerConfig(url=server.url, api_key=KEY_VALUE))
    try:
        rng = np.random.default_rng(5)
        vecs = rng.standard_normal((120, 8)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        store.upsert([(i + 1, v, {"title": f"t{i}"}) for i, v in enumerate(vecs)])
        pos, neg = [vecs[0], vecs[1]], [vecs[2]]
        hits = store.recommend(pos, neg, 10, around=vecs[0], diversity=0.3, exclude_ids=[1, 2, 3])
        assert len(hits) == 10 and not {1, 2, 3} & {h.id for h in hits}
        body = [b for m, p, _, b in server.requests if p.endswith("/points/query")][-1]
        assert body["query"]["mmr"]["diversity"] == pytest.approx(0.3)
        stage = body["prefetch"]
        assert stage["query"]["recommend"]["strategy"] == "best_score" and stage["limit"] == 100
        pool = stage["prefetch"]
        assert pool["limit"] == 400 and not pool.get("prefetch")
        assert np.allclose(pool["query"]["nearest"], np.mean(pos, axis=0), atol=1e-5)
        within = store.recommend(pos, neg, 5, within=range(10, 40), exclude_ids=[11])
        assert {h.id for h in within} <= set(range(10, 40)) - {11}
        stage = [b for m, p, _, b in server.requests if p.endswith("/points/query")][-1]["prefetch"]
        assert not stage.get("prefetch")  # within a pool the caller holds: no search for one
        assert sorted(store.nearest_ids(vecs[7], 5))[0] >= 1 and store.nearest_ids(vecs[7], 5)[0] == 8
    finally:
        store.close()
