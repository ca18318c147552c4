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
