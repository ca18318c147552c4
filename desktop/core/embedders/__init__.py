"""Embedders: audio in, one vector per track out. See `base` for the interface."""

from desktop.core.embedders.base import Embedder, available, create, groups_for, unit

__all__ = ["Embedder", "available", "create", "groups_for", "unit"]
