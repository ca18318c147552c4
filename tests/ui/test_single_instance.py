"""A second launch for the same library hands its files to the first and exits."""

import threading

from desktop.ui.single_instance import SingleInstance, server_name


def test_second_launch_hands_files_to_the_running_instance(qtbot, tmp_path):
    first = SingleInstance(tmp_path / "home")
    assert first.listen()
    result = {}

    def second_launch():  # blocks on its socket, so it runs on a thread while our event loop answers
        result["handed"] = SingleInstance(tmp_path / "home").hand_over([str(tmp_path / "a.flac")])

    try:
        with qtbot.waitSignal(first.files_received, timeout=5000) as got:
            launcher = threading.Thread(target=second_launch)
            launcher.start()
        qtbot.waitUntil(lambda: not launcher.is_alive(), timeout=5000)
        assert got.args[0] == [str(tmp_path / "a.flac")]
        assert result["handed"] is True
    finally:
        first.close()


def test_no_running_instance_means_no_hand_over(qtbot, tmp_path):
    assert not SingleInstance(tmp_path / "nobody-home").hand_over(["x.flac"])


def test_each_library_has_its_own_instance(tmp_path):
    assert server_name(tmp_path / "a") != server_name(tmp_path / "b")
    assert server_name(tmp_path / "a") == server_name(str(tmp_path / "a"))


def test_second_app_launch_hands_its_file_to_the_first_window(tmp_path, family_dir):
    """The real app twice, as processes: the second exits 0 at once and the first plays the file."""
    import os
    import subprocess
    import sys
    import time

    home = tmp_path / "home"
    env = {**os.environ, "SOUNDALIKE_HOME": str(home), "SOUNDALIKE_EMBEDDER": "spectral",
           "QT_QPA_PLATFORM": "offscreen"}
    first = subprocess.Popen([sys.executable, "-m", "desktop"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not SingleInstance(home).hand_over([]):
            time.sleep(0.2)  # the first window is up once it answers
        clip = sorted((family_dir / "pad").iterdir())[0]
        second = subprocess.run([sys.executable, "-m", "desktop", str(clip)], env=env, capture_output=True,
                                text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "already open" in second.stderr and "handed it 1 file" in second.stderr
        assert first.poll() is None  # the first window is still running
    finally:
        first.terminate()
        first.wait(timeout=30)
