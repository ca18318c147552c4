"""Model downloads for real, over HTTP, from the local hub in tests/hub.py: progress, resume, cancel,
unreachable hub, damaged files, list and remove. No network beyond 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import threading

import numpy as np
import pytest

from desktop.core import models
from desktop.core.decode import ArraySource
from desktop.core.embedders import create
from desktop.core.errors import ModelUnavailable
from desktop.core.models import (
    CorruptDownload,
    DownloadCancelled,
    DownloadProgress,
    HubUnreachable,
    PullDone,
    is_cached,
    list_models,
    pull,
    record_use,
    remove,
)

REPO = "someone/tiny-w2v"


@pytest.fixture
def hub(local_hub, tiny_model_dir):
    local_hub.add_folder(REPO, tiny_model_dir)
    return local_hub


def weights_size(hub) -> int:
    return len(hub.repos[REPO].files["model.safetensors"].data)


def test_pull_reports_progress_and_leaves_a_model_that_loads(hub, tiny_model_dir):
    hub.rate = 400_000  # bytes/s: a few tenths of a second, so progress has something to report
    events = list(pull(REPO))
    progress = [e for e in events if isinstance(e, DownloadProgress)]
    done = events[-1]
    total = sum(len(f.data) for f in hub.repos[REPO].files.values())
    assert isinstance(done, PullDone) and done.downloaded == total and done.reused == 0
    assert done.revision == hub.repos[REPO].sha
    assert len(progress) >= 3 and progress[-1].done == progress[-1].total == total
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert any(p.speed > 0 and p.eta is not None for p in progress)
    assert is_cached(REPO)
    # The files are the hub's files, in the hub cache layout that transformers reads.
    snap = models.repo_folder(REPO) / "snapshots" / done.revision
    assert (snap / "model.safetensors").read_bytes() == (tiny_model_dir / "model.safetensors").read_bytes()
    assert (models.repo_folder(REPO) / "refs" / "main").read_text() == done.revision
    emb = create("wav2vec2", model=REPO, device="cpu", windows=1, window_seconds=1.0, precision="fp32")
    assert emb.dim == 32 and f"_r{done.revision[:8]}-" in emb.key
    assert np.isfinite(emb.embed(ArraySource(np.random.default_rng(0).standard_normal(16000) * 0.1))).all()
    # A second pull finds everything in place: nothing is fetched again.
    again = list(pull(REPO))[-1]
    assert again.downloaded == 0 and again.reused == total


def test_a_dropped_connection_resumes_where_it_stopped(hub):
    cut = weights_size(hub) // 3
    hub.cut_after["model.safetensors"] = cut
    with pytest.raises(HubUnreachable, match="continues where it stopped"):
        list(pull(REPO))
    parts = list((models.repo_folder(REPO) / "blobs").glob("*.part"))
    assert len(parts) == 1 and parts[0].stat().st_size == cut
    done = list(pull(REPO))[-1]
    ranges = [r for m, p, r in hub.requests if m == "GET" and p.endswith("/model.safetensors") and r]
    assert ranges == [f"bytes={cut}-"]
    assert done.reused >= cut and is_cached(REPO)


def test_cancel_keeps_the_partial_file_and_the_next_pull_continues(hub):
    hub.rate = 200_000
    cancel = threading.Event()
    seen = []
    with pytest.raises(DownloadCancelled, match="continues where it stopped"):
        for ev in pull(REPO, cancel=cancel):
            seen.append(ev)
            if isinstance(ev, DownloadProgress) and ev.file == "model.safetensors" and ev.done > 0:
                cancel.set()
    assert not is_cached(REPO)
    part = next((models.repo_folder(REPO) / "blobs").glob("*.part"))
    kept = part.stat().st_size
    assert 0 < kept < weights_size(hub)
    hub.rate = 0
    done = list(pull(REPO))[-1]
    assert any(m == "GET" and r == f"bytes={kept}-" for m, p, r in hub.requests)
    assert isinstance(done, PullDone) and is_cached(REPO)


def test_unreachable_hub_fails_after_one_short_attempt(monkeypatch, local_hub):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers: a black hole
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
    try:
        with pytest.raises(HubUnreachable, match="no answer within 1 s"):
            list(pull(REPO, timeout=1.0))
        silent.settimeout(0.5)
        conn, _ = silent.accept()  # exactly one connection was made: no retry loop
        conn.close()
        with pytest.raises(socket.timeout):
            silent.accept()
    finally:
        silent.close()
    # A port nobody listens on is refused at once, with the same clear error.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(HubUnreachable, match="cannot reach the model hub"):
        list(pull(REPO))


def test_a_damaged_file_is_detected_and_never_used(hub):
    hub.corrupt.add("model.safetensors")
    with pytest.raises(CorruptDownload, match="model.safetensors .* arrived damaged"):
        list(pull(REPO))
    blobs = models.repo_folder(REPO) / "blobs"
    assert not list(blobs.glob("*.part")) and not is_cached(REPO)
    with pytest.raises(ModelUnavailable, match="soundalike model pull"):
        create("wav2vec2", model=REPO, device="cpu")
    hub.corrupt.clear()
    assert isinstance(list(pull(REPO))[-1], PullDone)


def test_unknown_model_and_user_offline_setting(hub, monkeypatch):
    with pytest.raises(ModelUnavailable, match="no model 'someone/nothing'"):
        list(pull("someone/nothing"))
    with pytest.raises(ModelUnavailable, match="not a model id"):
        list(pull("../etc"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("SOUNDALIKE_SET_HF_OFFLINE", raising=False)
    hub.requests.clear()
    with pytest.raises(HubUnreachable, match="HF_HUB_OFFLINE"):
        list(pull(REPO))
    assert hub.requests == []


def test_list_shows_size_and_users_and_remove_frees_the_space(hub, tmp_path):
    assert list_models() == []
    list(pull(REPO))
    library = tmp_path / "my library"
    library.mkdir()
    record_use(REPO, library)
    record_use(REPO, library)  # once is enough
    (cached,) = list_models()
    total = sum(len(f.data) for f in hub.repos[REPO].files.values())
    assert cached.model == REPO and cached.size == total and cached.users == [str(library.resolve())]
    assert cached.revisions == [hub.repos[REPO].sha] and cached.partial == 0
    assert remove(REPO) == total
    assert list_models() == [] and not is_cached(REPO)
    with pytest.raises(ModelUnavailable, match="not in the cache"):
        remove(REPO)


def test_download_size_is_what_a_pull_fetches_or_none_when_the_hub_does_not_say(hub, tiny_model_dir, tmp_path,
                                                                                 monkeypatch):
    folder = shutil.copytree(tiny_model_dir, tmp_path / "with-other-weights")
    (folder / "tf_model.h5").write_bytes(b"\0" * 50_000)  # another framework's weights: never fetched
    (folder / "README.md").write_text("# a model card\n")
    hub.add_folder("someone/other", folder)
    pulled = sum(p.stat().st_size for p in tiny_model_dir.iterdir() if p.is_file())
    assert models.download_size(REPO) == pulled == models.download_size("someone/other")
    assert not any("/resolve/" in path for _, path, _ in hub.requests)  # the file list only: nothing downloaded
    assert models.download_size("someone/missing") is None
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: no size, no error
    assert models.download_size(REPO) is None
