"""One run per crew at a time: a file lock shared by manual and scheduled runs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from ..config.project import Project
from ..errors import RunLocked


def lock_path(project: Project, crew: str) -> Path:
    """Where the lock file of `crew` lives (under the data directory, never in the repo)."""
    return project.data_dir / "locks" / f"{crew}.lock"


@contextmanager
def crew_lock(project: Project, crew: str) -> Iterator[Path]:
    """Hold the crew's lock for the duration of the block, or raise RunLocked at once.

    The lock is an OS file lock (flock), so it is released when the holder exits or dies;
    a stale lock file left behind by a crash never blocks the next run.
    """
    from filelock import FileLock, Timeout

    path = lock_path(project, crew)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not thread-local and not a singleton: a second holder in the same process must be
    # refused exactly like one in another process.
    lock = FileLock(str(path), blocking=False, thread_local=False)
    owner_file = path.with_suffix(".owner")
    try:
        lock.acquire()
    except Timeout as exc:
        raise RunLocked(
            f"crew '{crew}' is already running: another run holds its lock "
            f"({_describe_owner(owner_file)}lock file {path}); wait for it to finish, "
            "or stop it (a scheduled run is stopped by stopping `scoutcrew schedule run`)"
        ) from exc
    try:
        # The lock file itself is truncated by every contender, so the holder's details go
        # in a side file; they only make the message more useful.
        with suppress(OSError):
            owner_file.write_text(
                json.dumps({"pid": os.getpid(), "since": datetime.now(UTC).isoformat()})
            )
        yield path
    finally:
        with suppress(OSError):
            owner_file.unlink()
        lock.release()


def lock_owner(project: Project, crew: str) -> dict | None:
    """The holder of the crew's lock as it wrote itself down ({pid, since}), if anyone did.

    The side file is removed when a run ends normally; one left behind names a process that
    was killed (or is still running: see `process_alive`).
    """
    try:
        owner = json.loads(lock_path(project, crew).with_suffix(".owner").read_text())
        return {"pid": int(owner["pid"]), "since": str(owner["since"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def process_alive(pid: int) -> bool:
    """Tell whether a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:
        return False
    return True


def _describe_owner(owner_file: Path) -> str:
    try:
        owner = json.loads(owner_file.read_text())
        return f"pid {int(owner['pid'])} since {owner['since']}; "
    except (OSError, ValueError, KeyError, TypeError):
        return ""


@contextmanager
def daemon_lock(project: Project) -> Iterator[Path]:
    """Hold the lock that allows one `scoutcrew schedule run` per data directory."""
    from filelock import FileLock, Timeout

    path = project.data_dir / "locks" / "schedule-daemon.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), blocking=False, thread_local=False)
    try:
        lock.acquire()
    except Timeout as exc:
        raise RunLocked(
            f"`scoutcrew schedule run` is already running for {project.data_dir} "
            f"(lock file {path}); stop it first, one daemon per data directory is enough"
        ) from exc
    try:
        yield path
    finally:
        lock.release()
