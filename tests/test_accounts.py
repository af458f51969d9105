"""The account and process that run students' code (tl_kit.accounts)."""

import ast
import os
import pwd
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tl_kit.accounts import give, read_only, run_as, sandbox_account

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="switching accounts needs root")


def test_a_timeout_kills_the_process_and_everything_it_started(tmp_path):
    marker = tmp_path / "child_alive"
    child = f"import time, pathlib; time.sleep(3); pathlib.Path({str(marker)!r}).write_text('still here')"
    parent = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {child!r}]); time.sleep(60)"
    with pytest.raises(subprocess.TimeoutExpired):
        run_as([sys.executable, "-c", parent], tmp_path, timeout=1.5)
    time.sleep(3)
    assert not marker.exists(), "the grandchild outlived the timeout"


def test_output_and_errors_come_back_together(tmp_path):
    done = run_as([sys.executable, "-c", "import sys; print('out'); sys.exit('err')"], tmp_path)
    assert done.returncode == 1 and "out" in done.stdout and "err" in done.stdout


def test_read_only_stops_a_plain_write_and_gives_the_permission_back(tmp_path):
    course = tmp_path / "course"
    (course / "sub").mkdir(parents=True)
    (course / "sub" / "key.txt").write_text("answers")
    (tmp_path / "outside.txt").write_text("mine")
    (course / "link").symlink_to(tmp_path / "outside.txt")
    with read_only(course):
        assert not os.stat(course / "sub" / "key.txt").st_mode & 0o222
        assert not os.stat(course).st_mode & 0o200
    assert os.stat(course / "sub" / "key.txt").st_mode & 0o200 and os.stat(course / "sub").st_mode & 0o200
    assert os.stat(tmp_path / "outside.txt").st_mode & 0o200, "a link was followed out of the folder"


@root_only
def test_as_root_the_code_runs_as_nobody_with_no_extra_groups(others_can_run_python):
    done = run_as([sys.executable, "-c", "import os; print(os.getuid(), os.getgroups())"], Path("/"), user="nobody")
    nobody = pwd.getpwnam("nobody")
    uid, groups = done.stdout.split(" ", 1)
    assert int(uid) == nobody.pw_uid and ast.literal_eval(groups) in ([], [nobody.pw_gid])


@root_only
def test_given_files_belong_to_the_account_and_nothing_else_changes_owner(tmp_path):
    mine, theirs = tmp_path / "mine.txt", tmp_path / "theirs.txt"
    mine.write_text("a"), theirs.write_text("b")
    give("nobody", [theirs])
    assert theirs.stat().st_uid == pwd.getpwnam("nobody").pw_uid and mine.stat().st_uid == 0


@root_only
def test_as_root_the_sandbox_account_is_nobody_when_it_can_run_the_kit(others_can_run_python):
    assert sandbox_account() == "nobody"


def test_as_an_ordinary_user_the_sandbox_account_is_this_user_and_it_says_so(monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert sandbox_account() is None
    assert "run this as root" in capsys.readouterr().out
