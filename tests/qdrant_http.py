"""A real HTTP(S) server on 127.0.0.1 that speaks the part of Qdrant's REST API Soundalike uses.

No Qdrant server binary can be obtained on these machines, so this stands at the system edge where
the server would be: qdrant-client sends its real requests over a real socket (TLS when asked), and the
server answers them with qdrant-client's in-process engine (`QdrantClient(":memory:")`) behind it.
What goes over the wire is recorded (`requests`: method, path, headers, JSON body) so tests can check the API key
header and the request bodies, and the collection layout the client asked for (`created`) is reported back by
GET /collections/{name} the way a server would (the in-process engine ignores shards, quantization and
HNSW settings). `api_key`: requests without the right `api-key` header get 401, as Qdrant answers.
"""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from qdrant_client import QdrantClient, models

_ROUTES: list[tuple[str, re.Pattern, str]] = []


def route(method: str, pattern: str):
    def add(fn):
        _ROUTES.append((method, re.compile("^" + pattern + "$"), fn.__name__))
        return fn

    return add


def _dump(value):
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=False)
    return value


class QdrantHttpServer:
    def __init__(self, api_key: str | None = None, tls: tuple[Path, Path] | None = None):
        self.api_key = api_key
        self.engine = QdrantClient(location=":memory:")
        self.requests: list[tuple[str, str, dict, object]] = []
        self.created: dict[str, dict] = {}
        self._lock = threading.Lock()  # the in-process engine is not thread-safe
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One segment per answer and no Nagle: otherwise headers and body go out as two writes and the
            # client's delayed ACK adds ~40 ms to every request, which no real server does.
            wbufsize = -1
            disable_nagle_algorithm = True

            def log_message(self, *args):  # keep test output clean
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null") if length else None
                outer.requests.append((self.command, self.path, dict(self.headers), body))
                if outer.api_key is not None and self.headers.get("api-key") != outer.api_key:
                    return self._send(401, {"status": {"error": "Invalid API key or JWT"}})
                url = urlparse(self.path)
                for method, pattern, name in _ROUTES:
                    m = pattern.match(url.path)
                    if m and method == self.command:
                        try:
                            with outer._lock:
                                result = getattr(outer, name)(*m.groups(), body=body, query=parse_qs(url.query))
                        except Exception as e:  # answered like a server: an error status, not a dropped socket
                            code = 404 if "not found" in str(e).lower() else 400
                            return self._send(code, {"status": {"error": f"{type(e).__name__}: {e}"}})
                        return self._send(200, {"result": _dump(result), "status": "ok", "time": 0.0})
                return self._send(404, {"status": {"error": f"no route {self.command} {url.path}"}})

            def _send(self, code: int, payload: dict):
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> QdrantHttpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.engine.close()

    # -- the REST endpoints qdrant-client calls for Soundalike ---------------------------------------
    @route("GET", "/")
    def root(self, body, query):
        return {"title": "qdrant - vector search engine (test double)", "version": "1.16.0"}

    @route("GET", "/collections")
    def collections(self, body, query):
        return self.engine.get_collections()

    @route("GET", "/collections/([^/]+)/exists")
    def exists(self, name, body, query):
        return {"exists": self.engine.collection_exists(name)}

    @route("PUT", "/collections/([^/]+)")
    def create(self, name, body, query):
        req = models.CreateCollection.model_validate(body)
        self.created[name] = body
        return self.engine.create_collection(name, vectors_config=req.vectors)

    @route("DELETE", "/collections/([^/]+)")
    def drop(self, name, body, query):
        self.created.pop(name, None)
        return self.engine.delete_collection(name)

    @route("GET", "/collections/([^/]+)")
    def info(self, name, body, query):
        if not self.engine.collection_exists(name):
            raise KeyError(f"Collection `{name}` not found")
        info = self.engine.get_collection(name).model_dump(mode="json")
        asked = self.created.get(name) or {}
        params = info["config"]["params"]
        for key in ("shard_number", "replication_factor"):
            params[key] = asked.get(key) or 1
        params["vectors"] = asked.get("vectors", params["vectors"])
        info["config"]["hnsw_config"].update({k: v for k, v in (asked.get("hnsw_config") or {}).items() if v})
        info["config"]["quantization_config"] = asked.get("quantization_config")
        return info

    @route("PUT", "/collections/([^/]+)/index")
    def index(self, name, body, query):
        return models.UpdateResult(operation_id=0, status=models.UpdateStatus.COMPLETED)

    @route("PUT", "/collections/([^/]+)/points")
    def upsert(self, name, body, query):
        points = models.PointsList.model_validate(body).points
        return self.engine.upsert(name, points=points)

    @route("POST", "/collections/([^/]+)/points/delete")
    def delete(self, name, body, query):
        kind = models.FilterSelector if "filter" in body else models.PointIdsList
        return self.engine.delete(name, points_selector=kind.model_validate(body))

    @route("POST", "/collections/([^/]+)/points/count")
    def count(self, name, body, query):
        req = models.CountRequest.model_validate(body)
        return self.engine.count(name, count_filter=req.filter, exact=req.exact)

    @route("POST", "/collections/([^/]+)/points/scroll")
    def scroll(self, name, body, query):
        req = models.ScrollRequest.model_validate(body)
        points, offset = self.engine.scroll(name, scroll_filter=req.filter, limit=req.limit, offset=req.offset,
                                            with_payload=req.with_payload, with_vectors=req.with_vector)
        return {"points": _dump(points), "next_page_offset": offset}

    @route("POST", "/collections/([^/]+)/points")
    def retrieve(self, name, body, query):
        req = models.PointRequest.model_validate(body)
        return self.engine.retrieve(name, req.ids, with_payload=req.with_payload, with_vectors=req.with_vector)

    @route("POST", "/collections/([^/]+)/points/query")
    def query(self, name, body, query):
        return self._query(name, models.QueryRequest.model_validate(body))

    @route("POST", "/collections/([^/]+)/points/query/batch")
    def query_batch(self, name, body, query):
        return [self._query(name, models.QueryRequest.model_validate(r)) for r in body["searches"]]

    def _query(self, name, req):
        return self.engine.query_points(name, query=req.query, prefetch=req.prefetch, query_filter=req.filter,
                                        limit=req.limit, search_params=req.params, with_payload=req.with_payload,
                                        with_vectors=req.with_vector or False)


def make_test_ca(folder: Path) -> dict[str, Path]:
    """A throw-away CA and a certificate for 127.0.0.1 signed by it (openssl, no network)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_pem = folder / "ca.key", folder / "ca.pem"
    key, csr, cert = folder / "server.key", folder / "server.csr", folder / "server.pem"
    ext = folder / "san.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca_pem),
        "-days", "2", "-subj", "/CN=Soundalike test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return {"ca": ca_pem, "cert": cert, "key": key}
