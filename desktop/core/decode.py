"""Streamed decode of any audio file to mono float32 at 16 kHz.

Why streamed: a one-hour file is 230 MB as 16 kHz floats and far more at its native rate; every
consumer (embedders, waveform, playback) reads blocks or excerpts instead.

Two decoders behind one `AudioSource` interface (audio_source.py): soundfile (libsndfile: wav, flac, aiff; exact,
cheap seeks) and PyAV (FFmpeg: compressed formats, notably m4a/AAC/ALAC, and ~3x faster on Vorbis);
each is the other's fallback. Both mix down to the channel average and resample with soxr, so one file
gives the same signal whichever decoder opened it (a test checks this). Every failure is a
`DecodeError` naming the file and the cause. One module per backend (decode_soundfile.py,
decode_pyav.py); this one picks which opens a file.
"""

from __future__ import annotations

import os
import stat

from desktop.core.audio_source import TARGET_SR, TRUNCATION_TOLERANCE, ArraySource, AudioSource
from desktop.core.decode_pyav import PyAVSource
from desktop.core.decode_soundfile import SoundFileSource
from desktop.core.errors import DecodeError
from desktop.core.formats import soundfile_first

__all__ = ["TARGET_SR", "TRUNCATION_TOLERANCE", "ArraySource", "AudioSource", "open_audio"]


# Uncompressed and FLAC files: libsndfile first (exact frame counts, sample-accurate seeks).
# Everything else: PyAV first. Decoding Ogg Vorbis measured ~1,100x realtime with PyAV against ~390x
# with libsndfile on one core here, and libsndfile cannot read m4a/AAC/ALAC at all.
# Which formats go to libsndfile first is in the formats table (desktop/data/formats.json).


def _open_track_range(path: str) -> AudioSource | None:
    # Imported here: ranged.py builds on this module (RangedSource wraps what open_audio returns).
    from desktop.core.cue import split_track_path
    from desktop.core.ranged import RangedSource

    parts = split_track_path(path)
    if parts is None:
        return None
    source = open_audio(parts[0])
    return RangedSource(source, parts[1], parts[2], path=path)


def open_audio(path: str | os.PathLike) -> AudioSource:
    """Open `path` with the first decoder that recognises it; raise DecodeError with the cause otherwise."""
    path = os.fspath(path)
    if "#t=" in path:  # a CUE track: a time range of its album file (see cue.py)
        ranged = _open_track_range(path)
        if ranged is not None:
            return ranged
    try:
        st = os.stat(path)
    except FileNotFoundError as e:
        raise DecodeError(path, "file not found", "it was moved or deleted") from e
    except OSError as e:
        raise DecodeError(path, "cannot read file", e.strerror or str(e)) from e
    if not stat.S_ISREG(st.st_mode):
        raise DecodeError(path, "not a regular file", "a device, pipe or socket, not an audio file")
    if st.st_size == 0:
        raise DecodeError(path, "empty file", "0 bytes")
    if not os.access(path, os.R_OK):
        raise DecodeError(path, "permission denied", "the file is not readable by this user")
    errors = []
    ext = os.path.splitext(path)[1].lower()
    # libsndfile only for its own formats: for anything else FFmpeg already tried harder, and libsndfile's
    # mp3 reader (mpg123) writes "Illegal Audio-MPEG-Header" notes straight onto the terminal.
    openers = [SoundFileSource, PyAVSource] if ext in soundfile_first() else [PyAVSource]
    for opener in openers:
        try:
            src = opener(path)
        except DecodeError:
            raise
        except Exception as e:  # each library has its own error types; we only need the message
            errors.append(f"{opener.decoder}: {e}")
            continue
        if src.duration <= 0 and src.decoder == "soundfile":
            src.close()
            errors.append("soundfile: no audio frames")
            continue
        return src
    if any("Permission denied" in e for e in errors):
        raise DecodeError(path, "permission denied", "the file is not readable by this user")
    raise DecodeError(path, "not an audio file or unsupported format", _plain_reason(errors))


def _plain_reason(errors: list[str]) -> str:
    """One reason a person can read, instead of each backend's raw message ("possibly a pipe?")."""
    text = " ".join(errors).lower()
    if "invalid data" in text or "format not recognised" in text or "unknown format" in text:
        return "its contents are not a sound format Soundalike reads"
    return "no decoder recognises its contents"
