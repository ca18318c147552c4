"""Soundalike: a desktop music player that knows which tracks sound alike."""

__version__ = "0.1.0"
