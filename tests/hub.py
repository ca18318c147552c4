"""A small Hugging Face model hub served over real HTTP on 127.0.0.1, for download tests.

It answers the calls `desktop.core.models` (and huggingface_hub) make, in the hub's layout:

* `GET /api/models/{repo}[/revision/{rev}]` -> JSON with `sha` and `siblings` (with `size`, `blobId`
  and `lfs.sha256` when `?blobs=true`), 404 for an unknown repo or revision;
* `HEAD`/`GET /{repo}/resolve/{rev}/{file}` with `X-Repo-Commit`, `ETag` (sha256 for weights, the git
  blob id otherwise), `Content-Length`, and `Range: bytes=N-` answered with 206.

Knobs for the tests: `rate` (bytes/s per response, to have time to cancel), `cut_after[file] = n`
(the first GET of that file stops after n bytes and drops the connection: an interrupted download),
`corrupt.add(file)` (serve flipped bytes under the right checksum) and `requests` (what was asked,
with the Range header). Every repo is a folder of real files (tiny random models built by the tests).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".h5", ".onnx", ".msgpack")


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class HubFile:
    data: bytes
    lfs: bool

    @cached_property  # hashed once: a 380 MB weights file takes seconds, longer than the client's 3 s probe
    def etag(self) -> str:
        return hashlib.sha256(self.data).hexdigest() if self.lfs else self.blob_id

    @cached_property
    def blob_id(self) -> str:
        return git_blob_id(self.data)


@dataclass
class Repo:
    sha: str
    files: dict[str, HubFile] = field(default_factory=dict)


class LocalHub:
    def __init__(self):
        self.repos: dict[str, Repo] = {}
        self.rate: float = 0.0  # bytes/s per response; 0 = as fast as possible
        self.cut_after: dict[str, int] = {}
        self.corrupt: set[str] = set()
        self.requests: list[tuple[str, str, str]] = []  # (method, path, Range header)
        self._server: ThreadingHTTPServer | None = None

    # -- content ---------------------------------------------------------------------------------
    def add_folder(self, repo_id: str, folder: str | Path) -> Repo:
        """Publish every file of `folder` as `repo_id` at a commit derived from the content."""
        paths = sorted(p for p in Path(folder).rglob("*") if p.is_file())
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in paths}
        digest = hashlib.sha1()
        for name, data in files.items():
            digest.update(name.encode() + data)
        repo = Repo(digest.hexdigest(), {n: HubFile(d, n.endswith(LFS_SUFFIXES)) for n, d in files.items()})
        self.repos[repo_id] = repo
        return repo

    # -- server ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_HEAD(self):
                hub._answer(self, body=False)

            def do_GET(self):
                hub._answer(self, body=True)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="local-hub").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- requests --------------------------------------------------------------------------------
    def _answer(self, h: BaseHTTPRequestHandler, body: bool) -> None:
        url = urlparse(h.path)
        path = unquote(url.path)
        self.requests.append((h.command, path, h.headers.get("Range", "")))
        if path.startswith("/api/models/"):
            return self._api(h, path[len("/api/models/"):], parse_qs(url.query))
        if "/resolve/" in path:
            repo_id, _, rest = path.lstrip("/").partition("/resolve/")
            rev, _, name = rest.partition("/")
            return self._file(h, repo_id, rev, name, body)
        self._send(h, 404, b'{"error": "not found"}')

    def _find(self, repo_id: str, rev: str) -> Repo | None:
        repo = self.repos.get(repo_id)
        if repo is None or rev not in ("main", repo.sha):
            return None
        return repo

    def _api(self, h, rest: str, query: dict) -> None:
        repo_id, _, rev = rest.partition("/revision/")
        repo = self._find(repo_id, rev or "main")
        if repo is None:
            return self._send(h, 404, json.dumps({"error": f"Repository {repo_id} not found"}).encode(),
                              {"X-Error-Code": "RepoNotFound"})
        siblings = []
        for name, f in repo.files.items():
            s = {"rfilename": name}
            if query.get("blobs") == ["true"] or query.get("blobs") == ["True"]:
                s.update(size=len(f.data), blobId=f.blob_id)
                if f.lfs:
                    s["lfs"] = {"sha256": f.etag, "size": len(f.data), "pointerSize": 134}
            siblings.append(s)
        info = {"id": repo_id, "modelId": repo_id, "sha": repo.sha, "private": False, "siblings": siblings}
        self._send(h, 200, json.dumps(info).encode(), {"Content-Type": "application/json"})

    def _file(self, h, repo_id: str, rev: str, name: str, body: bool) -> None:
        repo = self._find(repo_id, rev)
        f = repo.files.get(name) if repo else None
        if f is None:
            return self._send(h, 404, b"Entry not found", {"X-Error-Code": "EntryNotFound"})
        data = f.data
        if name in self.corrupt:
            data = bytes(b ^ 0xFF for b in data[:64]) + data[64:]
        start, status = 0, 200
        rng = h.headers.get("Range", "")
        if rng.startswith("bytes=") and rng[6:].split("-")[0].isdigit():
            start, status = min(int(rng[6:].split("-")[0]), len(data)), 206
        chunk = data[start:]
        headers = {"X-Repo-Commit": repo.sha, "ETag": f'"{f.etag}"', "Accept-Ranges": "bytes",
                   "Content-Length": str(len(chunk))}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        if not body:
            return
        cut = self.cut_after.pop(name, None) if h.command == "GET" else None
        sent, step = 0, 16384
        try:
            while sent < len(chunk):
                piece = chunk[sent:sent + step]
                if cut is not None and sent + len(piece) >= cut:
                    h.wfile.write(piece[: max(0, cut - sent)])
                    h.wfile.flush()
                    h.close_connection = True
                    h.connection.shutdown(2)  # the connection drops mid-file
                    return
                h.wfile.write(piece)
                sent += len(piece)
                if self.rate:
                    time.sleep(len(piece) / self.rate)
        except (BrokenPipeError, ConnectionResetError, OSError):
            h.close_connection = True

    @staticmethod
    def _send(h, status: int, payload: bytes, headers: dict | None = None) -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(payload)
