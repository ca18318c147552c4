"""Downloading models into the Hugging Face cache, with progress, resume, cancel and a checksum (listing and
removing what the cache holds is model_cache.py).

Why it is shaped so:

* **The user's Hugging Face setup is honoured.** `HF_HOME`/`HF_HUB_CACHE` (where), `HF_ENDPOINT` (a
  mirror or a private hub) and `HF_TOKEN` (private or gated models) are read *at call time*, not at
  import, so a window that changes them, and tests that point them at a local hub, see the new values.
  Files land in the hub cache's own layout (blobs/, snapshots/<commit>/, refs/), so transformers,
  `hf` and every other tool find them.
* **Never hang on the network.** The first request is the model's file list with a 3 s timeout and no
  retry: an offline machine or an unreachable hub gives one clear line in about 3 s (huggingface_hub's
  own download path retries for 23-46 s). The app stays offline otherwise (`HF_HUB_OFFLINE` is set by
  the embedders); a pull lifts it for its own requests only, unless the *user* set it.
* **Resumable, cancellable, verified.** huggingface_hub 2.x deletes a partial file when a download
  fails, so we download each file ourselves into `blobs/<etag>.part`, continue it with an HTTP Range
  request after a cancel, a crash or a dropped connection, check it against the hub's checksum (sha256
  for weights, the git blob id for small files) before it becomes a blob, and finally load the model
  with transformers: a pull that says "done" left a model that loads.
* **Events, not callbacks.** `pull()` is a generator like the indexer: `DownloadProgress` (bytes, speed,
  time left) then `PullDone`; the CLI draws a bar from them, the window a status-bar item.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from desktop.core.errors import ModelUnavailable, SoundalikeError
from desktop.core.model_cache import (
    HUB_ID,
    SAFETENSORS,
    TORCH_BIN,
    CachedModel,
    atomic_write,
    hub_cache_dir,
    hub_endpoint,
    is_cached,
    is_hub_id,
    list_models,
    record_use,
    remove,
    repo_folder,
)

# The cache's names stay importable from here: `models.list_models()` is the CLI's and the tests' way in.
__all__ = ["DEFAULT_MODEL", "HUB_ID", "CachedModel", "CorruptDownload", "DownloadCancelled", "DownloadProgress",
           "HubUnreachable", "PullDone", "download_size", "hub_cache_dir", "hub_endpoint", "is_cached", "is_hub_id",
           "list_models", "pull", "record_use", "remove", "repo_folder", "select_files", "verify_loads"]

DEFAULT_MODEL = "facebook/wav2vec2-base"
PROBE_SECONDS = 3.0
# Config, tokenizer and processor files; weights are SAFETENSORS or TORCH_BIN (other formats are skipped).
_CONFIG_FILES = re.compile(r"^[^/]*\.(json|txt|model)$")


class HubUnreachable(ModelUnavailable):
    """The model hub did not answer (offline, DNS, firewall, wrong HF_ENDPOINT)."""


class CorruptDownload(ModelUnavailable):
    """A downloaded file does not match the hub's checksum, or the finished model does not load."""


class DownloadCancelled(SoundalikeError):
    """The user cancelled; what was downloaded stays and the next pull continues from there."""


@dataclass
class DownloadProgress:
    model: str
    file: str
    done: int  # bytes of the whole model present so far (resumed bytes included)
    total: int
    speed: float = 0.0  # bytes/s over the last few seconds
    eta: float | None = None  # seconds left, None while the speed is unknown

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


@dataclass
class PullDone:
    model: str
    revision: str  # the commit the files came from
    path: str  # snapshot folder: what from_pretrained loads
    downloaded: int  # bytes fetched by this pull
    reused: int  # bytes that were already there (cache or a resumed .part)
    seconds: float


# -- downloading ------------------------------------------------------------------------------------
_online_lock = threading.Lock()
_online_users = 0
_saved_offline = False


@contextlib.contextmanager
def _online():
    """Let huggingface_hub's session make requests while a pull runs, unless the user asked for offline."""
    global _online_users, _saved_offline
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") and not os.environ.get("SOUNDALIKE_SET_HF_OFFLINE"):
        raise HubUnreachable("HF_HUB_OFFLINE is set, so models are not downloaded; unset it to download "
                             "(the built-in analysis stays in use meanwhile)")
    from huggingface_hub import constants

    with _online_lock:
        if _online_users == 0:
            _saved_offline = constants.HF_HUB_OFFLINE
        _online_users += 1
        constants.HF_HUB_OFFLINE = False
    try:
        yield
    finally:
        with _online_lock:
            _online_users -= 1
            if _online_users == 0:
                constants.HF_HUB_OFFLINE = _saved_offline


def _session_and_headers():
    from huggingface_hub.utils import build_hf_headers, get_session

    headers = build_hf_headers(token=os.environ.get("HF_TOKEN") or None, library_name="soundalike")
    headers["Accept-Encoding"] = "identity"
    return get_session(), headers


def _model_files(model: str, revision: str, timeout: float) -> tuple[str, list[dict]]:
    """(commit, siblings with size and checksums) in one request: this is also the connection probe."""
    import httpx2

    session, headers = _session_and_headers()
    url = f"{hub_endpoint()}/api/models/{model}/revision/{quote(revision, safe='')}"
    try:
        r = session.get(url, headers=headers, params={"blobs": "true"}, timeout=timeout)
    except (httpx2.ConnectError, httpx2.TimeoutException, httpx2.NetworkError) as e:
        raise HubUnreachable(f"cannot reach the model hub at {hub_endpoint()} (no answer within {timeout:.0f} s: "
                             f"{type(e).__name__}); check the connection or HF_ENDPOINT — the built-in "
                             f"analysis stays in use") from e
    if r.status_code in (401, 403):
        raise ModelUnavailable(f"model {model!r} needs permission: accept its terms on the hub and set HF_TOKEN")
    if r.status_code == 404:
        raise ModelUnavailable(f"no model {model!r} (revision {revision}) on {hub_endpoint()}")
    if r.status_code >= 400:
        raise HubUnreachable(f"the model hub at {hub_endpoint()} answered HTTP {r.status_code} for {model!r}; "
                             f"try later")
    try:
        info = r.json()
        return str(info["sha"]), list(info.get("siblings") or [])
    except (ValueError, KeyError, TypeError) as e:
        raise HubUnreachable(f"{hub_endpoint()} did not answer like a model hub ({e})") from e


def download_size(model: str, revision: str = "main", timeout: float = PROBE_SECONDS) -> int | None:
    """Bytes a pull of `model` fetches (the files `pull` would choose, from the hub's file list), or None
    when the hub does not answer within `timeout` or does not say: the first-run offer then names no size."""
    try:
        with _online():
            _, siblings = _model_files(model, revision, timeout)
    except Exception:  # offline, no such model, a proxy's odd answer: the size is only a courtesy
        return None
    sizes = {s["rfilename"]: int(s.get("size") or (s.get("lfs") or {}).get("size") or 0)
             for s in siblings if "rfilename" in s}
    total = sum(sizes[n] for n in select_files(list(sizes)))
    return total or None


def select_files(names: list[str]) -> list[str]:
    """Config, tokenizer and processor files plus one weights format (safetensors preferred)."""
    weights = [n for n in names if SAFETENSORS.match(n)] or [n for n in names if TORCH_BIN.match(n)]
    return sorted(set(weights) | {n for n in names if _CONFIG_FILES.match(n)})


def pull(model: str = DEFAULT_MODEL, revision: str = "main", *, cancel: threading.Event | None = None,
         timeout: float = PROBE_SECONDS, verify: bool = True) -> Iterator:
    """Download `model` into the hub cache, yielding `DownloadProgress` and finally `PullDone`.

    Raises HubUnreachable (in about `timeout` s), ModelUnavailable (no such model, no permission),
    DownloadCancelled (`cancel` set; the next pull resumes) or CorruptDownload (checksum or load failed).
    """
    model = str(model).strip()
    if os.path.isdir(os.path.expanduser(model)):
        raise ModelUnavailable(f"{model} is a folder on this computer: nothing to download, use it as the model")
    if not is_hub_id(model):
        raise ModelUnavailable(f"{model!r} is not a model id like facebook/wav2vec2-base")
    cancel = cancel or threading.Event()
    started = time.monotonic()
    with _online():
        commit, siblings = _model_files(model, revision, timeout)
        by_name = {s["rfilename"]: s for s in siblings if "rfilename" in s}
        wanted = select_files(list(by_name))
        if "config.json" not in wanted:
            raise ModelUnavailable(f"{model!r} on {hub_endpoint()} has no config.json: not a transformers model")
        root = repo_folder(model)
        blobs, snap = root / "blobs", root / "snapshots" / commit
        blobs.mkdir(parents=True, exist_ok=True)
        snap.mkdir(parents=True, exist_ok=True)
        total = sum(int(by_name[n].get("size") or 0) for n in wanted)
        meter = _Meter(model, total)
        for name in wanted:
            yield from _fetch(model, commit, name, by_name[name], blobs, snap, meter, cancel, timeout)
        if revision != commit:
            (root / "refs").mkdir(exist_ok=True)
            atomic_write(root / "refs" / revision, commit)
    seconds = time.monotonic() - started  # the download; loading below is the check
    if verify:
        verify_loads(str(snap), model)
    yield PullDone(model, commit, str(snap), meter.fetched, meter.reused, seconds)


class _Meter:
    """Bytes done, and speed over the last ~3 s (a resumed download's old bytes do not count as speed)."""

    def __init__(self, model: str, total: int):
        self.model, self.total, self.done, self.fetched, self.reused = model, total, 0, 0, 0
        self.samples: list[tuple[float, int]] = [(time.monotonic(), 0)]
        self.last_emit = 0.0

    def event(self, name: str, force: bool = False) -> DownloadProgress | None:
        now = time.monotonic()
        if not force and now - self.last_emit < 0.1:
            return None
        self.last_emit = now
        self.samples.append((now, self.fetched))
        while len(self.samples) > 2 and now - self.samples[0][0] > 3.0:
            self.samples.pop(0)
        t0, b0 = self.samples[0]
        speed = (self.fetched - b0) / (now - t0) if now > t0 else 0.0
        eta = max(0, self.total - self.done) / speed if speed > 0 else None
        return DownloadProgress(self.model, name, self.done, max(self.total, self.done), speed, eta)


def _fetch(model, commit, name, info, blobs: Path, snap: Path, meter: _Meter, cancel, timeout) -> Iterator:
    lfs = info.get("lfs") or {}
    want_sha256 = lfs.get("sha256")
    etag = want_sha256 or info.get("blobId") or hashlib.sha1(f"{commit}/{name}".encode()).hexdigest()
    size = int(info.get("size") or lfs.get("size") or 0)
    blob, part = blobs / etag, blobs / (etag + ".part")
    link = snap / name
    if blob.is_file() and (not size or blob.stat().st_size == size):
        meter.done += blob.stat().st_size
        meter.reused += blob.stat().st_size
        _link(blob, link)
        return
    with _file_lock(blobs / (etag + ".lock"), model):
        have = part.stat().st_size if part.is_file() else 0
        if size and have > size:
            part.unlink()
            have = 0
        meter.done += have
        meter.reused += have
        if not size or have < size:
            yield from _stream(model, commit, name, part, have, meter, cancel, timeout)
        ev = meter.event(name, force=True)
        if ev:
            yield ev
        _check(model, name, part, want_sha256, None if want_sha256 else info.get("blobId"), size)
        os.replace(part, blob)
    _link(blob, link)


def _stream(model, commit, name, part: Path, have: int, meter: _Meter, cancel, timeout) -> Iterator:
    import httpx2

    session, headers = _session_and_headers()
    if have:
        headers["Range"] = f"bytes={have}-"
    url = f"{hub_endpoint()}/{model}/resolve/{commit}/{quote(name)}"
    try:
        with session.stream("GET", url, headers=headers, timeout=max(timeout, 10.0), follow_redirects=True) as r:
            if r.status_code == 416:  # the part is already complete
                return
            if r.status_code >= 400:
                raise HubUnreachable(f"{name} of {model!r}: the hub answered HTTP {r.status_code}; try again later")
            mode = "ab" if have and r.status_code == 206 else "wb"
            if mode == "wb" and have:  # the server ignored our Range: start over
                meter.done -= have
                meter.reused -= have
            with open(part, mode) as f:
                for chunk in r.iter_bytes():  # as received: a dropped connection keeps every byte that arrived
                    f.write(chunk)
                    meter.done += len(chunk)
                    meter.fetched += len(chunk)
                    if cancel.is_set():
                        raise DownloadCancelled(f"download of {model} cancelled; pulling it again continues "
                                                f"where it stopped")
                    ev = meter.event(name)
                    if ev:
                        yield ev
    except (httpx2.TransportError, httpx2.StreamError) as e:
        raise HubUnreachable(f"the download of {model!r} was interrupted ({type(e).__name__}) after "
                             f"{meter.done / 1e6:.1f} MB; pulling it again continues where it stopped") from e


def _check(model: str, name: str, part: Path, sha256: str | None, blob_id: str | None, size: int) -> None:
    """The finished part must have the hub's size and checksum; a damaged one is deleted, never used."""
    got_size = part.stat().st_size if part.is_file() else 0
    problem = ""
    if size and got_size != size:
        problem = f"{got_size} bytes instead of {size}"
    elif sha256 or blob_id:
        h = hashlib.sha256() if sha256 else hashlib.sha1(b"blob %d\0" % got_size)
        with open(part, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        if h.hexdigest() != (sha256 or blob_id):
            problem = f"checksum {h.hexdigest()[:12]}… instead of {(sha256 or blob_id)[:12]}…"
    if problem:
        part.unlink(missing_ok=True)
        raise CorruptDownload(f"{name} of {model!r} arrived damaged ({problem}) and was deleted; downloading "
                              f"it again fetches it anew")


def verify_loads(path: str, model: str) -> None:
    """Load the downloaded model with transformers: the last proof that the files are whole and usable."""
    # lazy: the model code only to verify a download
    from desktop.core.embedders.audio_encoder import load_encoder_parts

    try:
        load_encoder_parts(path)
    except ModelUnavailable as e:
        raise CorruptDownload(f"{model!r} was downloaded but does not load ({e}); `soundalike model remove "
                              f"{model}` frees the space") from e


@contextlib.contextmanager
def _file_lock(path: Path, model: str):
    """One downloader per file: a second pull of the same model (window and CLI) is refused, not mixed in."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock; the .part is still checked before use
        yield
        return
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            raise ModelUnavailable(f"{model!r} is being downloaded by another Soundalike process") from e
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _link(blob: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    try:
        link.symlink_to(os.path.relpath(blob, link.parent))
    except OSError:  # no symlinks (some Windows setups): a copy, as huggingface_hub does
        shutil.copy2(blob, link)


