"""What goes wrong with the SQLite store, said as what happened and what to do.

Three faults reach users: another process holds the store's write lock (a second tool, a
`sqlite3` shell left in a transaction, a backup), the data directory cannot be written (a
read-only mount, permissions), and the disk is full (or fails a write). A lock is waited for,
with a word after the first second naming the processes that hold the file; the others stop
at once. Each becomes a StoreError whose message names the file and the fix.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..errors import StoreError, StoreLocked

log = logging.getLogger("scoutcrew.store")

WAIT_ENV = "SCOUTCREW_STORE_WAIT"
DEFAULT_WAIT = 30.0  # seconds a write waits for another process's lock before giving up
BUSY_SLICE = 1.0  # SQLite's own busy wait per attempt: the first word comes after it
HOME_HINT = "set SCOUTCREW_HOME to a folder on a disk you can write"
_READ_ONLY = {errno.EACCES, errno.EPERM, errno.EROFS}
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}

T = TypeVar("T")


def lock_wait() -> float:
    """Seconds to wait for a locked store (`$SCOUTCREW_STORE_WAIT`, default 30)."""
    try:
        return max(0.0, float(os.environ.get(WAIT_ENV, DEFAULT_WAIT)))
    except ValueError:
        return DEFAULT_WAIT


def is_busy(exc: BaseException) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return isinstance(exc, sqlite3.OperationalError) and (
        name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "is locked" in str(exc)
    )


def store_error(exc: BaseException, path: Path) -> StoreError | None:
    """The StoreError a failed SQLite call or file operation means, or None if it is no fault
    of the store's file (a bug, which keeps its traceback)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    folder = path.parent
    if isinstance(exc, OSError) and exc.errno in _READ_ONLY or name.startswith("SQLITE_READONLY"):
        return StoreError(
            f"cannot write the store {path}: {folder} is read-only for scoutcrew "
            f"({_reason(exc)}); {HOME_HINT}, or make {folder} writable"
        )
    if isinstance(exc, OSError) and exc.errno in _FULL or name.startswith("SQLITE_FULL"):
        return StoreError(
            f"cannot write the store {path}: the disk is full ({_reason(exc)}); free some "
            f"space on it, or {HOME_HINT} with room to spare. Nothing written before was lost"
        )
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in text:
        return StoreError(
            f"cannot write the store {path}: the disk refused a write ({text}); it is most "
            f"likely full: free some space on it, or {HOME_HINT}"
        )
    if name.startswith("SQLITE_CANTOPEN"):
        return StoreError(
            f"cannot open the store {path} ({text}): check that {folder} exists and that "
            f"scoutcrew may write there, or {HOME_HINT}"
        )
    if is_busy(exc):
        return locked_error(path, waited=0.0)
    return None


def locked_error(path: Path, waited: float) -> StoreLocked:
    return StoreLocked(
        f"the store {path} is locked by another process{_holders_text(path)}; waited "
        f"{waited:.0f} s. Let that process finish (or stop it), then run this again; "
        f"${WAIT_ENV} sets how long to wait"
    )


def with_lock_wait(path: Path, action: Callable[[], T], *, wait: float | None = None) -> T:
    """Run `action`, waiting while another process holds the store's lock.

    SQLite itself waits BUSY_SLICE per attempt; after the first one the user hears which
    process holds the file, and after `wait` seconds in all the StoreLocked error says so.
    """
    bound = lock_wait() if wait is None else wait
    started = time.monotonic()
    said = False
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            waited = time.monotonic() - started
            if waited >= bound:
                raise locked_error(path, waited) from exc
            if not said:
                said = True
                log.warning(
                    "the store %s is locked by another process%s; waiting up to %.0f s",
                    path,
                    _holders_text(path),
                    bound,
                )
            time.sleep(min(0.2, max(0.0, bound - waited)))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _holders_text(path: Path) -> str:
    found = holders(path)
    if not found:
        return ""
    shown = ", ".join(f"pid {pid}: {command}" for pid, command in found[:3])
    return f" ({shown})"


def holders(path: Path) -> list[tuple[int, str]]:
    """Other processes that hold a lock on the store (Linux's /proc/locks), else those that
    have it open; each with its command line. Empty where /proc cannot tell."""
    files = [path, path.with_name(path.name + "-shm"), path.with_name(path.name + "-wal")]
    inodes = set()
    for file in files:
        try:
            st = file.stat()
        except OSError:
            continue
        inodes.add((os.major(st.st_dev), os.minor(st.st_dev), st.st_ino))
    me = os.getpid()
    pids: list[int] = []
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) < 6 or not parts[4].isdigit():
                    continue
                major, minor, inode = parts[5].split(":")
                key = (int(major, 16), int(minor, 16), int(inode))
                pid = int(parts[4])
                if key in inodes and pid != me and pid not in pids:
                    pids.append(pid)
    except (OSError, ValueError):
        pids = []
    return [(pid, _command(pid)) for pid in pids]


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    text = " ".join(words) or "?"
    printable = "".join(c if c.isprintable() else "?" for c in text)
    return printable if len(printable) <= 80 else printable[:77] + "..."
