"""The per-user desktop entry: installed into XDG_DATA_HOME with an absolute Exec, removed again."""

from desktop import integration


def test_install_and_uninstall_desktop_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    written = integration.install_desktop_entry()
    entry = tmp_path / "applications" / "soundalike.desktop"
    assert entry in written and all(p.exists() for p in written)
    text = entry.read_text()
    assert "Categories=AudioVideo;Audio;Player;" in text and "MimeType=audio/mpeg;" in text
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_line.endswith(" %F") and exec_line.split("=", 1)[1].startswith("/")
    assert (tmp_path / "icons/hicolor/256x256/apps/soundalike.png").stat().st_size > 1000
    removed = integration.uninstall_desktop_entry()
    assert set(removed) == set(written) and not entry.exists()
