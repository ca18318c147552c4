"""The headless core of Soundalike. Nothing in this package may import Qt."""
