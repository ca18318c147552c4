"""The smaller faults of issue 16, each as the user meets it on the command line: one clear line, no traceback."""

import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from tests import audio
from tests.cli.test_cli import cli

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """4 tracks in two genre folders, indexed once (tests that change it take a copy)."""
    base = tmp_path_factory.mktemp("small")
    for i in range(4):
        genre = ("rock", "jazz")[i % 2]
        audio.write(base / "music" / genre / f"t{i}.flac", audio.render(["drums", "pad"][i % 2], 2.0, seed=i))
    out = cli("index", base / "music", "--embedder", "spectral", home=base / "home")
    assert out.returncode == 0, out.stderr
    return base / "home", base / "music"


def one_line_error(out, code=None):
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert out.returncode == code if code is not None else out.returncode != 0
    return out.stderr


def test_numbers_too_big_for_sqlite_are_not_overflow_tracebacks(library):
    home, _ = library
    assert "no track with id 999999999999999999999" in one_line_error(cli("similar", "999999999999999999999",
                                                                           home=home), 1)
    assert "-k must be between 1 and 10000" in one_line_error(cli("similar", "1", "-k", "99999999999999999999",
                                                                  home=home), 2)


@pytest.mark.parametrize("content, message", [
    ("[1, 2, 3]", "not a JSON object"),
    ('{"workers": "lots"}', "workers must be a whole number, got 'lots'"),
    ('{"device": null}', "device must be text, got null"),
    ('{"embedder": "magic"}', "unknown embedder 'magic'"),
])
def test_bad_config_json_names_config_json(tmp_path, content, message):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(content)
    err = one_line_error(cli("status", home=home), 1)
    assert f"{home / 'config.json'}:" in err and message in err


def test_closed_pipe_is_not_a_traceback(library):
    home, _ = library
    env = {**os.environ, "SOUNDALIKE_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "tracks"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # like `| head -0`: the reader is gone before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) in (0, 141) and "Traceback" not in err and "BrokenPipe" not in err, err


def test_workers_are_capped_at_the_cores(library, tmp_path):
    home, music = library
    out = cli("index", music, "--workers", "30", "--retry-failed", home=tmp_path / "home2")
    assert out.returncode == 0 and f"{min(4, os.cpu_count())} analysis processes" in out.stdout, out.stdout


def test_per_artist_and_genre_values_are_checked(library):
    home, _ = library
    assert "--per-artist must be at least 1" in one_line_error(cli("similar", "1", "--per-artist", "-1",
                                                                   home=home), 2)
    err = one_line_error(cli("similar", "1", "--genre", "nosuchgenre", home=home), 1)
    assert "no track of genre 'nosuchgenre'" in err and "jazz, rock" in err
    out = cli("similar", "1", "--genre", "JAZZ", "--json", home=home)  # case does not matter
    assert out.returncode == 0 and {h["genre"] for h in json.loads(out.stdout)} == {"jazz"}


@pytest.mark.parametrize("command", [["status"], ["tracks"], ["similar", "1"], ["check"], ["prune"], ["radio", "1"],
                                     ["path", "1", "2"], ["duplicates"], ["passages", "1"], ["store", "status"]])
def test_read_only_commands_never_create_a_library(tmp_path, command):
    typo = tmp_path / "no-such-library"
    err = one_line_error(cli(*command, "--home", typo, home=typo), 1)
    assert f"no library at {typo}" in err and not typo.exists()


def test_a_folder_again_through_a_symlink_is_the_same_folder(library, tmp_path):
    home, music = library
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    link = tmp_path / "link-to-music"
    link.symlink_to(music)
    out = cli("index", link, home=copy)
    assert out.returncode == 0 and "0 new" in out.stdout and "4 unchanged" in out.stdout, out.stdout
    assert "4 indexed" in cli("status", home=copy).stdout



def test_a_wav_header_that_lies_about_its_length(tmp_path, home):
    path = tmp_path / "music" / "liar.wav"
    path.parent.mkdir()
    sf.write(path, (np.random.default_rng(0).standard_normal(22050 * 5) * 0.1).astype(np.float32), 22050,
             subtype="PCM_16")
    data = bytearray(path.read_bytes())
    at = data.find(b"data")
    claim = 22050 * 2 * 3600 * 10  # ten hours of 16-bit mono
    data[at + 4 : at + 8] = struct.pack("<I", claim)
    data[4:8] = struct.pack("<I", claim + 36)
    path.write_bytes(bytes(data))
    assert cli("index", path.parent, "--embedder", "spectral", home=home).returncode == 0
    (track,) = json.loads(cli("tracks", "--json", home=home).stdout)
    assert abs(track["duration"] - 5.0) < 0.1



def test_desktop_entry_passes_desktop_file_validate():
    if not shutil.which("desktop-file-validate"):
        pytest.skip("desktop-file-validate is not installed (apt install desktop-file-utils)")
    entry = os.path.join(REPO, "resources", "soundalike.desktop")
    out = subprocess.run(["desktop-file-validate", entry], capture_output=True, text=True)
    assert out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip(), out.stdout + out.stderr


def test_a_text_file_named_mp3_fails_in_plain_words_without_decoder_noise(tmp_path, home):
    music = tmp_path / "music"
    music.mkdir()
    (music / "notes.mp3").write_text("this is not music\n" * 2000)
    audio.write(music / "ok.flac", audio.render("pad", 1.0, seed=1))
    out = cli("index", music, "--embedder", "spectral", home=home)
    assert out.returncode == 0 and "1 failed" in out.stdout
    reason = out.stdout.split("notes.mp3:")[1].splitlines()[0]
    assert "not an audio file" in reason and "possibly a pipe" not in reason and "soundfile:" not in reason
    assert "Illegal Audio-MPEG-Header" not in out.stderr and "Note:" not in out.stderr, out.stderr


def test_a_mistyped_command_names_the_closest_command(tmp_path, home):
    err = one_line_error(cli("simlar", "song.mp3", home=home), 2)
    assert "'simlar' is neither a command nor an existing file" in err and "soundalike similar" in err
    assert not (home / "catalog.sqlite3").exists()


def test_an_unplugged_known_folder_is_unavailable_not_an_error(library, tmp_path):
    home, music = library
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    away = tmp_path / "away"
    shutil.copytree(music, away / "music")
    shutil.rmtree(music)
    try:
        out = cli("index", music, home=copy)
        assert out.returncode == 0 and "unavailable" in out.stderr and "0 missing" in out.stdout, out.stderr
        assert "4 indexed" in cli("status", home=copy).stdout
    finally:
        shutil.copytree(away / "music", music)


@pytest.mark.parametrize("command", [["index"], ["similar"], ["radio"], ["passages"], ["eval"],
                                     ["playlist", "import"]])
def test_a_device_or_pipe_given_as_a_file_is_not_a_regular_file(library, tmp_path, command):
    """A link to /dev/zero or a FIFO exists, so "no such file" is wrong, and reading it would never end."""
    home, _ = library
    zero = tmp_path / "zero.m3u" if command[0] in ("radio", "playlist") else tmp_path / "zero.mp3"
    zero.symlink_to("/dev/zero")
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    for path in (zero, fifo):
        err = one_line_error(cli(*command, path, home=home), 1)
        assert f"{path}: not a regular file" in err, err


def test_realtime_rate_below_one_is_not_shown_as_zero():
    from desktop.cli_common import realtime_text

    assert realtime_text(10.0, 25.0) == ", 0.4x realtime"  # a model on a slow CPU
    assert realtime_text(120.0, 10.0) == ", 12x realtime"
    assert realtime_text(0.0, 3.0) == "" and realtime_text(5.0, 0.0) == ""
