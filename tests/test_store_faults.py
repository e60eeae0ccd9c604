"""The store when the machine says no, through the real CLI: a lock held by another process, a
data folder that cannot be written, a full disk. Each says what happened and what to do, with
no traceback; a lock taken in the middle of a run is waited out and loses no model call."""

from __future__ import annotations

import ctypes
import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from servekit import WRITER_REPLY, fake_ollama

from scoutcrew.store.db import Store
from scoutcrew.store.runs import get_run, list_runs
from scoutcrew.testing.scripts import scripted_reader

HOLD = (
    "import sqlite3, sys, time\n"
    "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "conn.execute('BEGIN EXCLUSIVE')\n"
    "print('locked', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
    "conn.execute('COMMIT')\n"
)


def _cli(project: Path, *args: str, env: dict[str, str] | None = None, preexec=None):
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "scoutcrew.cli", "--project", str(project), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        preexec_fn=preexec,
    )
    return result, time.monotonic() - started


def _hold(store: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process that holds the store's write lock for `seconds`."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_a_store_another_process_keeps_locked_is_named_and_the_run_stops_cleanly(
    project_dir: Path, data_home: Path
) -> None:
    Store.open(data_home / "scoutcrew.sqlite").close()
    holder = _hold(data_home / "scoutcrew.sqlite", 60)
    try:
        result, seconds = _cli(project_dir, "run", "demo", env={"SCOUTCREW_STORE_WAIT": "3"})
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    waiting, error = result.stderr.strip().splitlines()[-2:]
    # A word while it waits, naming the process, then what to do.
    assert f"locked by another process (pid {holder.pid}: " in waiting
    assert "waiting up to 3 s" in waiting
    assert error.startswith("error: the store ") and f"pid {holder.pid}" in error
    assert "Let that process finish (or stop it)" in error
    assert seconds < 15


def test_a_lock_taken_in_the_middle_of_a_run_is_waited_out_and_loses_no_call(
    project_dir: Path, data_home: Path
) -> None:
    store = data_home / "scoutcrew.sqlite"
    holders: list[subprocess.Popen[str]] = []

    def crew_reply(request: dict) -> str:
        if not holders:  # the first task of the crew: another process takes the store now
            holders.append(_hold(store, 4))
        return WRITER_REPLY

    with fake_ollama(scripted_reader(crew_reply)) as ollama:
        result, _ = _cli(
            project_dir, "run", "demo", "--backend", "ollama", env={"OLLAMA_HOST": ollama.url}
        )
        answered = len(ollama.chat_requests)
    for holder in holders:
        holder.wait(10)
    assert result.returncode == 0, result.stderr
    assert holders and f"locked by another process (pid {holders[0].pid}: " in result.stderr
    assert "Traceback" not in result.stderr
    with Store.open(store) as opened:
        run = get_run(opened, list_runs(opened)[0].id)
    assert run["status"] == "ok"
    assert len(run["calls"]) == answered  # every model call is in the run record
    assert "the run's model calls are recorded once it can write" in result.stderr


def _no_dac_override() -> None:
    """Run the child without root's power to write where permissions say no (as a user)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        libc.prctl(24, capability, 0, 0, 0)  # PR_CAPBSET_DROP; fails harmlessly without root


@pytest.mark.parametrize("existing", [False, True])
def test_a_data_folder_that_cannot_be_written_is_said_plainly(
    project_dir: Path, data_home: Path, tmp_path: Path, existing: bool
) -> None:
    if existing:
        Store.open(data_home / "scoutcrew.sqlite").close()
        home = data_home
    else:
        home = tmp_path / "locked" / "home"
        home.parent.mkdir()
    frozen = [p for p in [home, *home.rglob("*")] if p.exists()] or [home.parent]
    for path in frozen:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        runs, _ = _cli(
            project_dir, "runs", env={"SCOUTCREW_HOME": str(home)}, preexec=_no_dac_override
        )
        run, _ = _cli(
            project_dir, "run", "demo", env={"SCOUTCREW_HOME": str(home)}, preexec=_no_dac_override
        )
    finally:
        for path in frozen:
            path.chmod(0o755 if path.is_dir() else 0o644)
    for result in (runs, run):
        assert result.returncode == 1
        assert "Traceback" not in result.stderr and "Errno" not in result.stderr, result.stderr
        line = result.stderr.strip().splitlines()[-1]
        assert line.startswith("error: cannot write ") and str(home) in line, line
        assert "SCOUTCREW_HOME" in line, line


def _disk_full_at(limit: int):
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def test_a_full_disk_stops_the_run_with_what_to_do(project_dir: Path, data_home: Path) -> None:
    Store.open(data_home / "scoutcrew.sqlite").close()  # the store starts small, then fills
    with fake_ollama() as ollama:
        result, _ = _cli(
            project_dir,
            "run",
            "demo",
            "--backend",
            "ollama",
            env={"OLLAMA_HOST": ollama.url},
            preexec=_disk_full_at(150_000),
        )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert re.match(r"error: cannot write .*(disk is full|most likely full)", line), line
    assert "free some space" in line
    with Store.open(data_home / "scoutcrew.sqlite") as store:
        assert [r.status for r in list_runs(store)] != ["running"]


def test_the_wait_is_bounded_by_the_setting(tmp_path: Path, monkeypatch) -> None:
    from scoutcrew.errors import StoreLocked

    Store.open(tmp_path / "s.sqlite").close()
    holder = _hold(tmp_path / "s.sqlite", 30)
    monkeypatch.setenv("SCOUTCREW_STORE_WAIT", "1")
    try:
        started = time.monotonic()
        with Store.open(tmp_path / "s.sqlite") as store, pytest.raises(StoreLocked):
            store.execute("INSERT INTO deliveries (crew, url, delivered_at) VALUES ('a', 'b', 'c')")
        assert time.monotonic() - started < 5
    finally:
        holder.kill()
        holder.wait()
