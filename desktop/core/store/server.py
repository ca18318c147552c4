"""How Soundalike connects to a Qdrant server: URL, API key, TLS trust, REST or gRPC; and what a failure says.

Why a module of its own: the same connection is opened by the store (`remote.py`), by the window's
"is the server there?" probe and by `store migrate`, and each must send the key, trust the same CA and
turn the same failures into the same one-line messages.

Secrets: the API key travels only in the `api-key` header (REST) or metadata (gRPC). It is kept out of
`repr` (tracebacks, logs), and no message built here contains it: messages name the setting
(`qdrant_api_key` / SOUNDALIKE_QDRANT_API_KEY), never the value. `scrub()` removes it from any text that
came back from a lower layer, in case a server or library ever echoes it.

TLS: `https://` URLs verify the server's certificate against the system CAs, or against `ca_file`
(a PEM bundle, for a NAS or a company CA). gRPC gets the same CA as root certificates.
"""

from __future__ import annotations

import logging
import ssl
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.errors import StoreUnavailable

log = logging.getLogger(__name__)
# Per-request timeout once the server has answered the short reachability probe (`timeout`): a busy server
# (optimizing after a bulk write, a 512-point batch of 768-d vectors under load) can take several seconds
# per request, which must not fail a migration; a server that is down was already caught by the probe.
OPERATION_TIMEOUT = 60.0
KEY_SETTING = "qdrant_api_key (config.json) or SOUNDALIKE_QDRANT_API_KEY"


@dataclass(frozen=True)
class ServerConfig:
    url: str
    api_key: str = field(default="", repr=False)
    ca_file: str = ""
    prefer_grpc: bool = False
    grpc_port: int = 6334
    timeout: float = 3.0

    @classmethod
    def from_settings(cls, settings, timeout: float = 3.0) -> ServerConfig:
        return cls(url=settings.qdrant_url, api_key=settings.qdrant_api_key, ca_file=settings.qdrant_ca_file,
                   prefer_grpc=settings.qdrant_prefer_grpc, grpc_port=settings.qdrant_grpc_port, timeout=timeout)

    @property
    def https(self) -> bool:
        return self.url.lower().startswith("https://")

    @property
    def where(self) -> str:
        """The server as messages name it (with the gRPC port when that is what is used)."""
        return f"{self.url} (gRPC port {self.grpc_port})" if self.prefer_grpc else self.url

    def scrub(self, text: str) -> str:
        return text.replace(self.api_key, "***") if self.api_key else text

    def ssl_context(self) -> ssl.SSLContext | bool:
        """What httpx verifies the server with: the CA file's context, or True (system CAs)."""
        if not self.ca_file:
            return True
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as e:
            raise StoreUnavailable(
                f"{self.ca_file}: cannot use it as the Qdrant server's CA file ({e.strerror or e})"
            ) from e

    def client(self, timeout: float | None = None):
        """A qdrant-client for this server (requests time out after `timeout`, default: the probe's).
        Its constructor does not contact the server."""
        from qdrant_client import QdrantClient

        kwargs: dict = {}
        if self.https:
            kwargs["verify"] = self.ssl_context()
            if self.prefer_grpc and self.ca_file:
                kwargs["grpc_options"] = {"root_certificates": Path(self.ca_file).read_bytes()}
        if self.api_key and not self.https and not _loopback(self.url):
            log.warning("the Qdrant API key goes to %s unencrypted (http://); use https:// beyond this machine",
                        self.url)
        try:
            with warnings.catch_warnings():  # qdrant-client's own "insecure connection" warning: said above
                warnings.filterwarnings("ignore", "Api key is used with an insecure connection")
                return QdrantClient(url=self.url, api_key=self.api_key or None, prefer_grpc=self.prefer_grpc,
                                    grpc_port=self.grpc_port, timeout=timeout or self.timeout,
                                    check_compatibility=False, **kwargs)
        except Exception as e:  # malformed URL and the like
            raise StoreUnavailable(f"Qdrant server at {self.where} is unreachable: {self.scrub(cause(e))}") from e

    def failure(self, e: BaseException) -> StoreUnavailable:
        """One clear line for a failed call: wrong key, untrusted certificate, refused request, unreachable."""
        status = http_status(e)
        if status in (401, 403):
            return StoreUnavailable(
                f"Qdrant server at {self.where} rejected the API key (HTTP {status}): "
                + (f"check {KEY_SETTING}" if self.api_key else f"it needs one; set {KEY_SETTING}")
            )
        text = self.scrub(cause(e))
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text.lower():
            where = f"the CA file {self.ca_file}" if self.ca_file else "the system's CAs (set qdrant_ca_file)"
            return StoreUnavailable(
                f"Qdrant server at {self.where}: its TLS certificate is not trusted by {where} ({text})"
            )
        if status is not None:
            reason = getattr(e, "reason_phrase", "") or ""
            said = self.scrub(server_error(e))
            text = f"Qdrant server at {self.where} refused the request: HTTP {status} {reason}".rstrip()
            return StoreUnavailable(text + (f" ({said})" if said else ""))
        return StoreUnavailable(f"Qdrant server at {self.where} is unreachable: {text}")


def _loopback(url: str) -> bool:
    from urllib.parse import urlparse

    return (urlparse(url).hostname or "") in ("localhost", "127.0.0.1", "::1")


def http_status(e: BaseException) -> int | None:
    """The HTTP status of a refused REST call, or the one a gRPC status code stands for."""
    code = getattr(e, "status_code", None)
    if isinstance(code, int):
        return code
    grpc_code = getattr(e, "code", None)
    if callable(grpc_code):
        try:
            name = getattr(grpc_code(), "name", "")
        except Exception:  # noqa: BLE001 - not a gRPC error after all
            return None
        return {"UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404,
                "INVALID_ARGUMENT": 400}.get(name)
    return None


def server_error(e: BaseException) -> str:
    """The server's own one-line reason from a refused REST call's JSON body ('' if none)."""
    import json

    try:
        body = json.loads(getattr(e, "content", b"") or b"{}")
        return str(body.get("status", {}).get("error", ""))[:300]
    except (ValueError, AttributeError):
        return ""


def cause(e: BaseException) -> str:
    """The innermost meaningful message: 'Connection refused', 'timed out', ..."""
    seen = e
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__
    text = str(seen) or type(seen).__name__
    if hasattr(seen, "details") and callable(seen.details):  # grpc._channel._InactiveRpcError
        text = seen.details() or text
    return text if seen is e else f"{text} ({type(e).__name__})"
