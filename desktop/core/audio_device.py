"""The audio output device, through sounddevice (PortAudio): is there one, and open a stream on it.

Kept apart from the player's buffering and state: this is the system edge (a missing libportaudio2,
no sound card, a device that refuses a sample rate), and every answer here is a plain value the
player can act on. Nothing here is opened at import time.
"""

from __future__ import annotations

try:
    import sounddevice as sd
except OSError as _e:  # libportaudio2 missing: sounddevice cannot even be imported
    sd = None
    _SD_MISSING = str(_e)

NO_DEVICE = "no audio output device found"

CallbackAbort = getattr(sd, "CallbackAbort", RuntimeError)  # raised by the callback to abort the stream


def probe_output(device=None) -> tuple[bool, str, int]:
    """(available, error, output channels) of `device` (None: the default), without opening it."""
    if sd is None:
        return False, f"{NO_DEVICE} (PortAudio is missing: {_SD_MISSING})", 2
    try:
        info = sd.query_devices(device, kind="output")
    except ValueError as e:  # no device matching a name
        return False, f"{NO_DEVICE} ({e})", 2
    except sd.PortAudioError:
        detail = f" (no device {device!r})" if device is not None else ""
        return False, NO_DEVICE + detail, 2
    if info["max_output_channels"] < 1:
        return False, f"{NO_DEVICE} ({info['name']} has no outputs)", 2
    return True, "", min(2, int(info["max_output_channels"]))


def default_rate(device=None) -> int:
    """The device's own sample rate (what to retry with when it refuses ours)."""
    return int(sd.query_devices(device, kind="output")["default_samplerate"])


def open_stream(device, rate: int, channels: int, latency: float, callback, finished_callback):
    """A float32 OutputStream (not started) that PortAudio drains through `callback`."""
    return sd.OutputStream(
        samplerate=rate, channels=channels, dtype="float32", device=device,
        latency=latency, callback=callback, finished_callback=finished_callback,
    )
