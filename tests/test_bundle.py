"""Smoke test of the PyInstaller bundle (skipped unless `.ci/bundle` or pyinstaller built dist/soundalike)."""

import os
import subprocess
from pathlib import Path

import pytest

BUNDLE = Path(__file__).resolve().parent.parent / "dist" / "soundalike" / "soundalike"


@pytest.mark.skipif(not BUNDLE.exists(), reason="no bundle built (run .ci/bundle)")
def test_bundle_self_test_passes(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SOUNDALIKE_HOME": str(tmp_path / "home")}
    out = subprocess.run([str(BUNDLE), "--self-test"], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "spectral: indexed" in out.stdout and "wav2vec2 (tiny local model): indexed" in out.stdout


@pytest.mark.skipif(not BUNDLE.exists(), reason="no bundle built (run .ci/bundle)")
def test_bundle_cli_errors_cleanly(tmp_path):
    out = subprocess.run([str(BUNDLE), "index", str(tmp_path / "missing")], capture_output=True, text=True,
                         env={**os.environ, "SOUNDALIKE_HOME": str(tmp_path / "home")}, timeout=120)
    assert out.returncode == 1 and "no such file or folder" in out.stderr
