"""The player plays a CUE track from its first sample to its last, on real PortAudio (ALSA null device)."""

import time

import numpy as np
import pytest

from desktop.core.cue import track_path
from tests.core.test_playback import (  # noqa: F401 (events, null_alsa, player_factory, tap: fixtures)
    SR,
    events,
    null_alsa,
    player_factory,
    signal,
    tap,
    write,
)


def test_cue_track_starts_and_stops_at_its_boundaries(tmp_path, tap, events, player_factory):  # noqa: F811
    x = signal(6.0)
    album = write(tmp_path / "album.wav", x)
    p = player_factory(**events.kwargs())
    p.load(track_path(album, 2.0, 4.5))
    assert p.duration == pytest.approx(2.5)
    p.play()
    assert events.ended.wait(10)
    time.sleep(0.2)
    assert events.ends == 1 and events.errors == []
    np.testing.assert_allclose(tap.audio, x[2 * SR : int(4.5 * SR)], atol=1e-6)  # exactly the track, nothing else


def test_last_cue_track_runs_to_the_end_and_seeks_inside_the_track(tmp_path, tap, events, player_factory):  # noqa: F811
    x = signal(5.0)
    album = write(tmp_path / "album.wav", x)
    p = player_factory(**events.kwargs())
    p.load(track_path(album, 3.0, None))
    assert p.duration == pytest.approx(2.0)
    p.seek(1.0)
    p.play()
    assert events.ended.wait(10)
    time.sleep(0.2)
    np.testing.assert_allclose(tap.audio, x[4 * SR :], atol=1e-6)
