"""Getting a model from the window, for real, from the local hub (tests/hub.py) over HTTP on 127.0.0.1:
the Settings Download button, the status-bar download with progress and Cancel (a resumable partial
file stays), a plain sentence when the hub is unreachable, and the first-run choice."""

from __future__ import annotations

from dataclasses import replace

import pytest

from desktop.core.config import load_settings
from desktop.core.model_cache import is_cached, list_models, repo_folder
from desktop.ui.model_download import OFFER_KEY, format_bytes, needs_download
from desktop.ui.settings_dialog import SettingsDialog

REPO = "someone/tiny-w2v"


@pytest.fixture
def hub(local_hub, tiny_model_dir):
    local_hub.add_folder(REPO, tiny_model_dir)
    return local_hub


@pytest.fixture
def neural_home(indexed_home):
    """The indexed family library, now set to a neural model that is not downloaded (the fallback runs)."""
    replace(load_settings(indexed_home), embedder="wav2vec2", model=REPO).save()
    return indexed_home


def partial_bytes() -> int:
    """Bytes of the download's partial files; one renamed or removed between listing and reading counts 0
    (a full tests/ui run once failed with FileNotFoundError here)."""
    total = 0
    for part in (repo_folder(REPO) / "blobs").glob("*.part"):
        try:
            total += part.stat().st_size
        except FileNotFoundError:
            pass
    return total


def test_settings_offers_download_only_for_a_model_not_on_this_computer(hub, home, qtbot, tiny_model_dir):
    asked = []
    dlg = SettingsDialog(replace(load_settings(home), embedder="wav2vec2", model=REPO), download=asked.append)
    qtbot.addWidget(dlg)
    assert needs_download(REPO) and not dlg.download_button.isHidden()
    dlg.download_button.click()
    assert asked == [REPO] and not dlg.download_button.isEnabled()
    dlg.model.setText(str(tiny_model_dir))  # a folder: nothing to download
    assert dlg.download_button.isHidden()
    dlg.model.setText(REPO)
    dlg.embedder.setCurrentIndex(dlg.embedder.findData("spectral"))  # no model used: no button
    assert dlg.download_button.isHidden()
    plain = SettingsDialog(replace(load_settings(home), embedder="wav2vec2", model=REPO))
    qtbot.addWidget(plain)
    assert plain.download_button.isHidden()  # nobody to run a download: no button


def test_window_download_shows_progress_cancels_resumably_then_switches_and_indexes(hub, neural_home,
                                                                                   make_window, qtbot):
    w = make_window(neural_home)
    qtbot.waitUntil(lambda: not w.session.busy, timeout=30000)
    old_key = w.session.library.active_key
    assert old_key.startswith("spectral")
    hub.rate = 150_000  # bytes/s: slow enough to see progress and cancel
    view = w.models.view
    w.models.download(REPO)
    assert not view.isHidden() and w.models.downloader.busy
    qtbot.waitUntil(lambda: " of " in view.text and "/s" in view.text, timeout=15000)
    assert view.text.startswith(f"Downloading {REPO}")
    qtbot.waitUntil(lambda: partial_bytes() > 0, timeout=15000)
    view.cancel_button.click()
    qtbot.waitUntil(lambda: not w.models.downloader.busy, timeout=15000)
    assert view.isHidden() and "cancelled" in w.statusBar().currentMessage()
    kept = partial_bytes()
    assert kept > 0 and not is_cached(REPO)
    assert list_models()[0].partial == kept  # `model list` sees the resumable part
    assert load_settings(neural_home).model == REPO and w.session.library.active_key == old_key

    hub.rate = 0
    hub.requests.clear()
    w.models.download(REPO)
    qtbot.waitUntil(lambda: is_cached(REPO) and not w.models.downloader.busy, timeout=30000)
    assert any(m == "GET" and r == f"bytes={kept}-" for m, p, r in hub.requests)  # continued, not restarted
    assert w.session.busy and "downloaded" in w.statusBar().currentMessage()  # indexing with it, in the background
    searched, answers = [], []  # while it runs, the old space is the one searched, and similar answers
    w.session.track_done.connect(lambda ev: searched.append(w.session.library.active_key))
    w.session.similar_ready.connect(lambda token, hits: answers.append((w.session.busy, len(hits))))
    w.session.request_similar(w.model.track_id(0))
    qtbot.waitUntil(lambda: not w.session.busy, timeout=120000)
    assert searched and set(searched) == {old_key}
    assert answers and answers[0][1] > 0
    key = w.session.library.active_key
    assert key != old_key and "spectral" not in key
    assert w.session.catalog.counts()["indexed"] == 12
    qtbot.waitUntil(lambda: "loading" not in w.embedder_label.text(), timeout=30000)
    assert not w.fallback_label.isVisible()


def test_unreachable_hub_is_one_sentence_in_the_status_bar(hub, neural_home, make_window, qtbot, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    w = make_window(neural_home)
    w.models.download(REPO)
    qtbot.waitUntil(lambda: not w.models.downloader.busy, timeout=15000)
    msg = w.statusBar().currentMessage()
    assert msg.startswith("Cannot reach the model hub") and msg.endswith(".") and "\n" not in msg
    assert w.models.view.isHidden() and load_settings(neural_home).embedder == "wav2vec2"


def test_first_run_offer_is_asked_once_and_builtin_is_remembered(hub, neural_home, make_window, qtbot):
    w = make_window(neural_home)
    qtbot.waitUntil(lambda: w.models.offer is not None, timeout=10000)
    offer = w.models.offer
    assert "Better matches with a neural model" in offer.label.text() and not offer.isHidden()
    size = format_bytes(sum(len(f.data) for f in hub.repos[REPO].files.values()))  # asked of the hub, off the GUI
    qtbot.waitUntil(lambda: f"download {size}?" in offer.label.text(), timeout=15000)
    assert offer.download_button.text() == f"Download ({size})"
    offer.builtin_button.click()
    assert load_settings(neural_home).embedder == "spectral"
    assert w.ui_settings.value(OFFER_KEY) == "builtin"
    w.close()  # hidden and shut down: nothing of it repaints from a closed catalog
    replace(load_settings(neural_home), embedder="wav2vec2").save()  # still missing, but already answered
    again = make_window(neural_home)
    qtbot.wait(200)
    assert again.models.offer is None


def test_first_run_offer_download_starts_the_status_bar_download(hub, neural_home, make_window, qtbot):
    hub.rate = 100_000
    w = make_window(neural_home)
    qtbot.waitUntil(lambda: w.models.offer is not None, timeout=10000)
    w.models.offer.download_button.click()
    assert w.models.offer is None and w.models.downloader.busy and not w.models.view.isHidden()
    assert w.ui_settings.value(OFFER_KEY) == "download"
    qtbot.waitUntil(lambda: " of " in w.models.view.text, timeout=15000)
    w.models.downloader.cancel()
    qtbot.waitUntil(lambda: not w.models.downloader.busy, timeout=15000)


def settings_of(w) -> SettingsDialog:
    """Settings as the window opens it: Download starts the window's download, whose end the dialog hears."""
    return SettingsDialog(w.session.library.settings, w, download=w.models.download, downloader=w.models.downloader)


def test_settings_download_button_recovers_after_a_damaged_download(hub, neural_home, make_window, qtbot):
    hub.corrupt.add("model.safetensors")  # the right checksum, flipped bytes: the pull refuses the file
    w = make_window(neural_home)
    dlg = settings_of(w)
    dlg.download_button.click()
    assert dlg.download_button.text() == "Downloading…" and not dlg.download_button.isEnabled()
    qtbot.waitUntil(lambda: not w.models.downloader.busy, timeout=30000)
    assert dlg.download_button.text() == "Download" and dlg.download_button.isEnabled()
    assert not dlg.download_button.isHidden() and not is_cached(REPO)
    why = dlg.download_error.text()
    assert not dlg.download_error.isHidden() and "model.safetensors" in why and "damaged" in why
    assert why.endswith(".") and "\n" not in why and why.startswith("model.safetensors")
    assert dlg.save_button.isEnabled()  # a failed download blocks nothing else in the dialog
    dlg.model.setText(REPO + "-other")  # another model: the old failure is not its story
    assert dlg.download_error.isHidden()


def test_settings_reopened_during_a_download_shows_it_and_a_cancel_restores_the_button(hub, neural_home,
                                                                                      make_window, qtbot):
    hub.rate = 100_000  # bytes/s: the download is still running when the dialog opens again
    w = make_window(neural_home)
    first = settings_of(w)
    first.download_button.click()
    first.reject()
    again = settings_of(w)  # opened again while the download runs: it says so, no second download
    assert again.download_button.text() == "Downloading…" and not again.download_button.isEnabled()
    qtbot.waitUntil(lambda: partial_bytes() > 0, timeout=15000)
    w.models.downloader.cancel()
    qtbot.waitUntil(lambda: again.download_button.isEnabled(), timeout=15000)
    assert again.download_button.text() == "Download" and "cancelled" in again.download_error.text()
