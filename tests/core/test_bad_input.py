"""A messy folder indexes to the end: every valid file indexed, every broken one failed with its cause."""

import os
import subprocess
import sys

import numpy as np
import pytest

from desktop.core.events import IndexSummary
from desktop.core.indexer import index, scan_and_index
from desktop.core.library import Library
from desktop.core.scan import scan
from tests.badfiles import make_bad_corpus, write_long


def run(lib, roots):
    events = list(scan_and_index(lib, roots))
    return events[-1]


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    return root, make_bad_corpus(root)


def test_messy_folder_indexes_every_valid_file_and_records_every_failure(home, bad_corpus):
    root, corpus = bad_corpus
    with Library.open(home, embedder="spectral") as lib:
        summary = run(lib, [root])
        assert isinstance(summary, IndexSummary)
        tracks = {t.path: t for t in lib.catalog.tracks()}
        for name, (path, expect) in corpus.items():
            if name in ("symlink loop",):
                continue
            if name == "no read permission" and os.geteuid() == 0:
                continue  # root reads anything; covered as an unprivileged user below
            t = tracks[str(path)]
            if expect == "ok":
                assert t.status == "indexed", f"{name}: {t.error}"
            elif expect.startswith("damaged"):  # the decodable part is indexed, with a visible note
                assert t.status == "indexed" and t.error == expect, f"{name}: {t.status} {t.error!r}"
            else:
                assert t.status == "failed" and expect in t.error, f"{name}: {t.status} {t.error!r}"
        # no NaN or zero vectors ever reach the store
        store = lib.store()
        vectors = store.get_vectors(store.ids())
        assert len(vectors) == lib.catalog.counts()["indexed"]
        for v in vectors.values():
            assert np.isfinite(v).all() and abs(np.linalg.norm(v) - 1) < 1e-3


def test_silent_tracks_embed_alike_and_dc_is_finite(home, bad_corpus, tmp_path):
    """Decision: silence has one vector (whatever its length or rate), so silent tracks match each other;
    pure DC gets a finite unit vector like any other file."""
    import soundfile as sf

    root, corpus = bad_corpus
    other_silence = tmp_path / "quiet" / "long-silence.wav"
    other_silence.parent.mkdir()
    sf.write(other_silence, np.zeros(8000 * 40, np.float32), 8000)
    with Library.open(home, embedder="spectral") as lib:
        run(lib, [corpus["silence"][0], other_silence, corpus["pure DC"][0], corpus["m4a/AAC"][0]])
        ids = {t.path: t.id for t in lib.catalog.tracks()}
        v = lib.store().get_vectors(ids.values())
        a, b = v[ids[str(corpus["silence"][0])]], v[ids[str(other_silence)]]
        assert float(a @ b) > 0.99
        assert np.isfinite(v[ids[str(corpus["pure DC"][0])]]).all()


def test_file_deleted_between_scan_and_decode(home, tmp_path):
    from tests import audio

    a = audio.write(tmp_path / "m" / "a.wav", audio.render("pad", 2.0, seed=1))
    b = audio.write(tmp_path / "m" / "b.wav", audio.render("pad", 2.0, seed=2))
    with Library.open(home, embedder="spectral") as lib:
        list(scan(lib.catalog, [tmp_path / "m"]))
        b.unlink()
        summary = list(index(lib))[-1]
        assert summary.indexed == 1 and len(summary.failed) == 1
        assert "file not found" in lib.catalog.by_path(str(b)).error
        assert lib.catalog.by_path(str(a)).status == "indexed"


def test_one_hour_file_is_decoded_streaming_with_bounded_memory(tmp_path):
    """Peak memory of embedding a one-hour file stays far below the 230 MB the decoded signal would take."""
    path = write_long(tmp_path / "hour.flac", 3600)
    code = (
        "import resource, sys\n"
        "from desktop.core.embedders import create\n"
        "from desktop.core.decode import open_audio\n"
        "e = create('spectral')\n"
        "with open_audio(sys.argv[1]) as s: e.embed(s)\n"  # warm-up: imports and caches
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "with open_audio(sys.argv[1]) as s:\n"
        "    assert s.duration > 3590\n"
        "    n = sum(len(b) for b in s.blocks())\n"
        "    v = e.embed(s)\n"
        "print(n, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    samples, growth_mb = map(int, out.stdout.split())
    assert samples == pytest.approx(3600 * 16000, rel=0.001)
    assert growth_mb < 100, f"peak RSS grew {growth_mb} MB while decoding one hour"


def test_unreadable_file_and_folder_as_an_unprivileged_user():
    """Root reads everything, so the check drops to an unprivileged user (after the imports) when root."""
    import shutil
    import tempfile
    from pathlib import Path

    from tests import audio

    tmp_path = Path(tempfile.mkdtemp(prefix="sa-perm-"))  # pytest's tmp dirs are private to root
    music = tmp_path / "music"
    audio.write(music / "ok.wav", audio.render("pad", 2.0, seed=1))
    locked = audio.write(music / "locked.wav", audio.render("pad", 2.0, seed=2))
    audio.write(music / "private" / "hidden.wav", audio.render("pad", 2.0, seed=3))
    locked.chmod(0)
    (music / "private").chmod(0)
    for p in (tmp_path, music):
        p.chmod(0o755)
    code = (
        "import os, sys\n"
        "from desktop.core.embedders import create\n"
        "from desktop.core.analysis import analyze_file\n"
        "from desktop.core.scan import walk_audio\n"
        "e = create('spectral')\n"
        "analyze_file(e, os.path.join(sys.argv[1], 'ok.wav'))\n"  # imports everything while we still can
        "if os.geteuid() == 0: os.setgid(65534); os.setuid(65534)\n"
        "problems = []\n"
        "found = sorted(p for p, _ in walk_audio([sys.argv[1]], problems))\n"
        "print([os.path.basename(p) for p in found])\n"
        "print(problems)\n"
        "print(analyze_file(e, os.path.join(sys.argv[1], 'locked.wav'))[1])\n"
        "print(analyze_file(e, os.path.join(sys.argv[1], 'ok.wav'))[1] or 'ok')\n"
    )
    try:
        out = subprocess.run([sys.executable, "-c", code, str(music)], capture_output=True, text=True, timeout=120)
    finally:
        (music / "private").chmod(0o755)
        shutil.rmtree(tmp_path)
    assert out.returncode == 0, out.stderr
    found, problems, locked_reason, ok_reason = out.stdout.strip().splitlines()
    assert found == "['locked.wav', 'ok.wav']"
    assert "private" in problems and "cannot read folder" in problems
    assert locked_reason.startswith("permission denied")
    assert ok_reason == "ok"
