"""'Describe a sound' in the Sounds-like pane: enabled only in a CLAP library (a tiny random CLAP saved to a
folder), the description searched in the library thread and the hits shown like similar hits; elsewhere
the field is disabled and says which model to get."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt

from desktop.core.config import load_settings
from desktop.core.indexer import scan_and_index
from desktop.core.library import Library
from desktop.core.text_search import SUGGESTED_CLAP, search_text
from tests import audio
from tests.tiny_models import build_family


@pytest.fixture(scope="module")
def clap_dir(tmp_path_factory):
    return build_family("clap", tmp_path_factory.mktemp("clap") / "tiny-clap")


@pytest.fixture
def clap_home(tmp_path, clap_dir):
    music = tmp_path / "music"
    for i, family in enumerate(("pad", "drums", "plucked")):
        audio.write(music / f"{family}.flac", audio.render(family, 3.0, seed=i), sr=48000)
    home = tmp_path / "clap-library"
    home.mkdir()
    replace(load_settings(home), embedder="wav2vec2", model=str(clap_dir), device="cpu").save()
    with Library.open(home, strict=True) as lib:
        list(scan_and_index(lib, [music]))
        assert lib.active_key.startswith("clap-")
    return home


def test_describe_a_sound_finds_tracks_in_a_clap_library(clap_home, make_window, qtbot):
    with Library.open(clap_home, lock=True) as lib:
        expected = [h.track_id for h in search_text(lib, "slow piano with rain", k=25)]
    w = make_window(clap_home)
    field = w.similar.describe
    assert field.isEnabled() and "slow piano" in field.placeholderText()
    qtbot.keyClicks(field, "slow piano with rain")
    qtbot.keyClick(field, Qt.Key_Return)
    assert "slow piano with rain" in w.similar.query_label.text()
    qtbot.waitUntil(lambda: len(w.similar.hits) == 3, timeout=60000)
    assert [h.track_id for h in w.similar.hits] == expected  # the core's ranking, shown as it came
    assert w.similar.play_all_button.isEnabled()
    w.similar.play_hit.emit(0)  # a hit plays like a similar hit
    assert w.playback.current.track_id == expected[0]


def test_without_a_clap_space_the_field_says_which_model_to_get(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    field = w.similar.describe
    assert not field.isEnabled()
    assert "CLAP" in field.placeholderText() and SUGGESTED_CLAP in field.toolTip()
    field.setText("slow piano")
    w.similar._describe()  # a disabled field asks nothing
    assert "slow piano" not in w.similar.query_label.text()
