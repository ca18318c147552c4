"""Shared fixtures: synthesized audio families written as real files, isolated library homes.

No audio is checked in: every clip is rendered here with numpy and written with soundfile or PyAV,
so each test decodes real files of real formats.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # must precede any Qt import
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no test may wait on the network
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests import audio  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own library home and never touches the user's real one."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("SOUNDALIKE_HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg-config"))
    yield home


@pytest.fixture
def home(_isolated_home) -> Path:
    return _isolated_home


@pytest.fixture(scope="session")
def family_dir(tmp_path_factory) -> Path:
    """3 families x 4 clips of 6 s, mixed formats, folders named after the family (= genre, label)."""
    root = tmp_path_factory.mktemp("families")
    audio.write_families(root, per_family=4, seconds=6.0)
    return root


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from tests.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-wav2vec2"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory) -> dict:
    """A throw-away CA (ca.pem) and a 127.0.0.1 certificate signed by it (cert, key), made with openssl."""
    from tests.qdrant_http import make_test_ca

    return make_test_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def listening_template(tmp_path_factory):
    """(home, info): the tests/listen_library.py library, indexed once per session; copy before writing."""
    from tests.listen_library import make_template

    home = tmp_path_factory.mktemp("listening-home")
    info = make_template(home, tmp_path_factory.mktemp("listening-music"))
    return home, info


@pytest.fixture
def listening(listening_template, tmp_path):
    """An open Library on a private copy of the listening library, and what it holds."""
    import shutil

    from desktop.core.library import Library

    home = tmp_path / "listening-home"
    shutil.copytree(listening_template[0], home)
    lib = Library.open(home)
    yield lib, listening_template[1]
    lib.close()


@pytest.fixture
def local_hub(tmp_path, monkeypatch):
    """A model hub on 127.0.0.1 (tests/hub.py) with HF_ENDPOINT at it, an empty HF_HOME, online allowed."""
    from tests.hub import LocalHub

    hub = LocalHub().start()
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield hub
    hub.stop()
