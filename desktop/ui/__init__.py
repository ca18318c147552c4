"""The Qt window: thin widgets over the headless core (`desktop.core` never imports Qt)."""
