import pytest
from IPython.core.interactiveshell import InteractiveShell

import tl_kit
from tl_kit.info import check_environment
from tl_kit.notebook import describe_profile, short_errors
from tl_kit.profiles import PROFILES


@pytest.fixture
def shell(monkeypatch):
    shell = InteractiveShell.instance()
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    yield shell
    shell.set_custom_exc((), None)
    InteractiveShell.clear_instance()


def test_kit_errors_show_as_one_line_in_ipython_and_others_keep_their_traceback(shell, capsys):
    assert short_errors()
    shell.run_cell("import tl_kit; tl_kit.load_dataset('/no/such/folder')")
    out = capsys.readouterr()
    text = out.out + out.err
    assert "DataError: No data set named" in text and "Traceback" not in text
    shell.run_cell("1/0")
    out = capsys.readouterr()
    assert "ZeroDivisionError" in out.out + out.err and "Traceback" in out.out + out.err


def test_start_returns_the_profile_and_prints_what_this_runs_on(monkeypatch, capsys):
    monkeypatch.setenv("TL_KIT_PROFILE", "fast")
    profile = tl_kit.start()
    out = capsys.readouterr().out
    assert profile.name == "fast"
    assert "Keras" in out and ("CPU" in out or "GPU" in out) and "profile fast" in out


def test_describe_profile_says_all_for_the_gpu_profile():
    assert "all train" in describe_profile(PROFILES["gpu"])


def test_check_environment_finds_nothing_wrong_here_and_names_a_broken_data_folder(monkeypatch, tmp_path):
    assert check_environment() == []
    monkeypatch.setenv("TL_KIT_DATA", str(tmp_path / "missing"))
    problems = check_environment()
    assert len(problems) == 1 and "Data:" in problems[0] and "missing" in problems[0]
