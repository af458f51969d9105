"""Running other people's code apart from yours: the account it runs as, the files it may touch.

Grading (`tl_kit.grading`) runs the notebooks students returned. Their code must not read or
change the teacher's files, so the grader asks this module for an account and a process:

- as root (a hub's admin), the unprivileged account `nobody` runs it, in a scratch folder given
  to that account (`give`), with no extra groups;
- as an ordinary user, it runs as that user (there is no other account to switch to), and the
  teacher's folder is made read-only while it runs (`read_only`), which stops a plain write but
  not code that changes the permissions back, so the grader says so.

Every process runs in its own session, so a timeout kills it and everything it started.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import GradingError

UNPRIVILEGED = "nobody"


def sandbox_account(probe: str = "import tl_kit") -> str | None:
    """The account to run untrusted code as: `nobody` when running as root, else None (this user).

    As root, `probe` (Python code) is run as that account first, so an environment it cannot
    read (installed under a private home folder) fails here, with what to do, rather than
    halfway through a class's grading.
    """
    if os.geteuid() != 0:
        print("Students' notebooks run as you: run this as root (a hub's admin) to run them as "
              f"'{UNPRIVILEGED}', apart from your files.")
        return None
    try:
        done = run_as([sys.executable, "-c", probe], Path("/"), user=UNPRIVILEGED, timeout=120)
        problem = None if done.returncode == 0 else (done.stdout.strip().splitlines() or ["no output"])[-1]
    except PermissionError as err:
        problem = str(err)
    if problem:
        raise GradingError(f"The account '{UNPRIVILEGED}', which runs students' notebooks, cannot run "
                           f"{sys.executable} with the kit ({problem}). Install the kit where every account can "
                           "read it (as on a hub, e.g. /opt/tl-kit), or let other accounts enter the folders "
                           "above it (chmod o+x).")
    return UNPRIVILEGED


def run_as(args: list[str], cwd: Path, *, user: str | None = None, env: dict | None = None,
           timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `args` as `user` (None: this user) with only that account's group, in a session of its
    own; on timeout kill the whole session and raise `subprocess.TimeoutExpired`.

    stdout and stderr come back together, as text.
    """
    group = pwd.getpwnam(user).pw_gid if user else None
    proc = subprocess.Popen(args, cwd=cwd, env=env, user=user, group=group, extra_groups=[] if user else None,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out)


def give(user: str, paths: Iterable[Path]) -> None:
    """Make `user` (and their group) the owner of each path, so code run as `user` can write there."""
    account = pwd.getpwnam(user)
    for path in paths:
        os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Turn the owner's write permission off on `folder` and everything in it, and back on after.

    Links are left alone (chmod would follow them out of the folder).
    """
    _set_writable(folder, False)
    try:
        yield
    finally:
        _set_writable(folder, True)


def _set_writable(folder: Path, writable: bool) -> None:
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            mode = path.stat().st_mode
            path.chmod(mode | 0o200 if writable else mode & ~0o222)
