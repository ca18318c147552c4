"""The player plays a CUE track from its first sample to its last, on real PortAudio (ALSA null device)."""

import time

import numpy as np
import pytest

from desktop.core.cue import track_path
from desktop.core.replaygain import Gains
from tests.core.test_playback import (  # noqa: F401 (events, null_alsa, player_factory, tap: fixtures)
    SR,
    events,
    null_alsa,
    player_factory,
    signal,
    tap,
    wait_until,
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


def gapless_player(player_factory, events, advances):  # noqa: F811
    """A player that decodes the whole test album before its output starts: the null ALSA device runs
    thousands of times real time, so only then does silence in the capture mean a gap in the stream."""
    p = player_factory(**events.kwargs(), on_advance=advances.append)
    p.BUFFER_SECONDS = p.PREFILL_SECONDS = 30.0
    return p


def stream_of(capture) -> np.ndarray:
    """What the output played, from its first audible frame to its last, silence inside included."""
    raw = np.concatenate(capture.raw)
    audible = np.flatnonzero(np.any(raw != 0, axis=1))
    return raw[audible[0] : audible[-1] + 1]


def test_next_cue_track_of_the_same_file_follows_without_a_gap(tmp_path, tap, events, player_factory):  # noqa: F811
    x = signal(5.0)
    album = write(tmp_path / "album.wav", x)
    first, second = track_path(album, 0.0, 1.733), track_path(album, 1.733, None)
    boundary = round(1.733 * SR)
    advances = []
    p = gapless_player(player_factory, events, advances)
    seen = []  # (frames played, the player's path and position) after each output block
    for n in range(500, len(x), 500):
        tap.at(n, lambda: seen.append((tap.count, p.path, p.position)))
    p.load(first)
    p.queue_next(second)
    p.play()
    assert events.ended.wait(10)
    time.sleep(0.2)
    np.testing.assert_array_equal(stream_of(tap), x)  # every frame once, in order, no silence between
    assert tap.rates == [SR]  # one output stream throughout: never stopped or re-opened
    assert advances == [second] and events.ends == 1 and events.errors == []
    assert events.states == ["playing", "stopped"]
    assert seen and any(c < boundary for c, _, _ in seen) and any(c >= boundary for c, _, _ in seen)
    for count, path, position in seen:  # the loaded track switches at the index, its clock restarts there
        if count < boundary:
            assert path == first and position == pytest.approx(count / SR)
        elif count < len(x):
            assert path == second and position == pytest.approx((count - boundary) / SR)
    assert p.duration == pytest.approx(5.0 - 1.733)


def test_next_file_follows_without_a_gap_and_a_changed_next_replaces_it(tmp_path, tap, events,  # noqa: F811
                                                                       player_factory):  # noqa: F811
    a, b, c = signal(1.2), signal(0.7)[::-1].copy(), signal(0.9) * 0.5
    paths = [write(tmp_path / f"{n}.flac", x) for n, x in (("a", a), ("b", b), ("c", c))]
    advances = []
    p = gapless_player(player_factory, events, advances)
    p.load(paths[0])
    p.queue_next(paths[1])
    assert wait_until(lambda: p._mark is not None)  # b is decoded into the buffer behind a...
    p.queue_next(paths[2], Gains(track_gain=-6.02))  # ...when the queue changes: c plays after a instead,
    p.play()  # still without a gap, at its own ReplayGain from its first frame
    assert events.ended.wait(10)
    time.sleep(0.2)
    np.testing.assert_allclose(stream_of(tap), np.concatenate([a, c * 0.5]), atol=1e-3)  # FLAC is 16-bit
    assert tap.rates == [SR] and advances == [paths[2]] and events.ends == 1
    assert p.path == paths[2] and p.gain == pytest.approx(0.5, rel=1e-3)


def test_a_next_track_at_another_rate_starts_after_the_end_as_before(tmp_path, tap, events, player_factory):  # noqa: F811
    a = write(tmp_path / "a.wav", signal(0.5))
    b = write(tmp_path / "b.wav", signal(0.5, sr=44100), sr=44100)
    advances = []
    p = gapless_player(player_factory, events, advances)
    p.load(a)
    p.queue_next(b)  # the output runs at a's rate: b needs its own, so a just ends (the queue loads b)
    p.play()
    assert events.ended.wait(10)
    time.sleep(0.2)
    assert advances == [] and events.ends == 1 and len(tap.audio) == len(signal(0.5))


def test_seeking_in_the_track_it_went_on_into_stays_in_that_track(tmp_path, tap, events, player_factory):  # noqa: F811
    x = signal(4.0)
    album = write(tmp_path / "album.wav", x)
    second = track_path(album, 1.5, 3.0)
    advances = []
    p = gapless_player(player_factory, events, advances)
    p.load(track_path(album, 0.0, 1.5))
    p.queue_next(second)
    tap.at(int(1.8 * SR), lambda: p.seek(1.0))  # 0.3 s into the second track: on to 1.0 s into it
    p.play()
    assert events.ended.wait(10)
    time.sleep(0.2)
    assert advances == [second] and p.path == second and events.errors == []
    heard = tap.audio
    tail = x[int(2.5 * SR) : 3 * SR]  # after the seek: 2.5 s into the file up to the track's end, then nothing
    np.testing.assert_array_equal(heard[-len(tail) :], tail)
    np.testing.assert_array_equal(heard[: int(1.8 * SR)], x[: int(1.8 * SR)])
