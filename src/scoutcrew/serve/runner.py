"""Runs started from the web app or the MCP server: each in its own process, like the scheduler.

A run is `scoutcrew run CREW` in a fresh interpreter (schedule.daemon.run_command), in its own
session so a Ctrl-C in the server's terminal does not reach it directly, with its output in a
log file that the live view follows. The child takes the crew's lock itself (the same lock as
scheduled and manual runs); the manager also refuses a second start while one of its own runs
of that crew is alive. When the server stops, its runs get a short time to finish, then are
interrupted (recorded as interrupted, resumable), then terminated: none is left orphaned.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config.project import Project
from ..errors import InputsNeeded, RunLocked, UnknownCrew

log = logging.getLogger("scoutcrew.serve")

FINISH_TIMEOUT = 5.0  # seconds a run may take to finish when the server stops
INTERRUPT_TIMEOUT = 20.0  # then seconds after SIGINT before SIGTERM
KILL_TIMEOUT = 5.0
LIFELINE_ENV = "SCOUTCREW_LIFELINE_FD"
_RUN_ID = re.compile(r"\brun (\d{8}-\d{6}-[0-9a-f]{6}): crew ")


@dataclass
class Started:
    """One run this process started."""

    handle: str
    crew: str
    process: subprocess.Popen[bytes]
    log_path: Path
    started: float = field(default_factory=time.monotonic)
    lifeline: int | None = None  # our end of the child's lifeline (see follow_lifeline)

    @property
    def returncode(self) -> int | None:
        code = self.process.poll()
        if code is not None and self.lifeline is not None:
            with suppress(OSError):
                os.close(self.lifeline)
            self.lifeline = None
        return code

    @property
    def alive(self) -> bool:
        return self.returncode is None

    def output(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def run_id(self) -> str | None:
        """The run record's id, as the child announced it in its first progress line."""
        match = _RUN_ID.search(self.output())
        return match.group(1) if match else None


class RunManager:
    """Start crews in child processes, follow them, and stop them all on shutdown."""

    def __init__(self, project: Project, *, backend: str | None = None):
        self.project = project
        self.backend = backend
        self.runs: dict[str, Started] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    def command(self, crew: str, inputs: dict[str, str]) -> list[str]:
        from ..schedule.daemon import run_command

        cmd = run_command(self.project, crew)
        for key, value in inputs.items():
            cmd += ["--input", f"{key}={value}"]
        if self.backend:
            cmd += ["--backend", self.backend]
        return cmd

    def start(self, crew: str, inputs: dict[str, str] | None = None) -> Started:
        """Start `scoutcrew run CREW` in its own process; RunLocked if the crew is running.

        Refused before any process starts: an unknown crew (UnknownCrew), an input that is
        not plain text or too long (BadInput), a needed input left empty (InputsNeeded).
        """
        from ..config.plan import check_inputs

        known = self.project.crew_names()
        if crew not in known:
            raise UnknownCrew(
                f"no crew {ascii(crew[:60])}: the crews are {', '.join(known) or 'none'}"
            )
        # An empty field (or one of spaces only) is no value: the crew's default applies.
        inputs = {k: v for k, v in (inputs or {}).items() if v.strip() != ""}
        check_inputs(inputs)
        missing = [name for name in _needed_inputs(self.project, crew) if name not in inputs]
        if missing:
            raise InputsNeeded(
                f"crew '{crew}' needs {', '.join(repr(m) for m in missing)}", missing
            )
        if self.stopping.is_set():
            raise RunLocked("the server is stopping; no new runs")
        with self._lock:
            for run in self.runs.values():
                if run.crew == crew and run.alive:
                    raise RunLocked(f"crew '{crew}' is already running (started here)")
            _check_unlocked(self.project, crew)
            handle = secrets.token_hex(8)
            log_dir = self.project.data_dir / "logs" / "web"
            log_dir.mkdir(parents=True, exist_ok=True)
            log_path = log_dir / f"{crew}-{handle}.log"
            # The child's end of a pipe we never write to: when this process is gone (even
            # killed with SIGKILL) the child reads end-of-file and stops its run.
            child_end, our_end = os.pipe()
            env = {**os.environ, "SCOUTCREW_TRIGGER": "web", LIFELINE_ENV: str(child_end)}
            try:
                with open(log_path, "wb") as out:
                    process = subprocess.Popen(
                        self.command(crew, inputs),
                        cwd=self.project.root,
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        env=env,
                        pass_fds=(child_end,),
                        start_new_session=True,  # the server decides how a run is stopped
                    )
            except BaseException:
                os.close(our_end)
                raise
            finally:
                os.close(child_end)
            started = Started(handle, crew, process, log_path, lifeline=our_end)
            self.runs[handle] = started
        log.info("started %s (pid %d); log %s", crew, process.pid, log_path)
        return started

    def get(self, handle: str) -> Started | None:
        return self.runs.get(handle) if re.fullmatch(r"[0-9a-f]{16}", handle) else None

    def wait(self, started: Started, timeout: float | None = None) -> int | None:
        try:
            return started.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def shutdown(
        self,
        *,
        finish_timeout: float = FINISH_TIMEOUT,
        interrupt_timeout: float = INTERRUPT_TIMEOUT,
        kill_timeout: float = KILL_TIMEOUT,
    ) -> None:
        """Stop every live run: wait, then SIGINT, SIGTERM, SIGKILL; mark killed ones."""
        self.stopping.set()
        phases: list[tuple[int | None, float]] = [
            (None, finish_timeout),
            (signal.SIGINT, interrupt_timeout),
            (signal.SIGTERM, kill_timeout),
            (signal.SIGKILL, kill_timeout),
        ]
        for sig, bound in phases:
            live = [r for r in self.runs.values() if r.alive]
            if not live:
                break
            names = ", ".join(f"{r.crew} (pid {r.process.pid})" for r in live)
            if sig is None:
                log.warning("waiting up to %g s for %s to finish", bound, names)
            else:
                log.warning("stopping %s with %s", names, signal.Signals(sig).name)
                for run in live:
                    _signal_group(run.process, sig)
            deadline = time.monotonic() + bound
            while any(r.alive for r in live) and time.monotonic() < deadline:
                time.sleep(0.1)
        for run in self.runs.values():
            code = run.process.poll()
            if code is not None and code < 0:
                from ..schedule.daemon import mark_interrupted

                mark_interrupted(self.project, run.crew)


def follow_lifeline() -> None:
    """In a run a server started: stop the run, as SIGTERM does, once that server is gone.

    The server hands its child the read end of a pipe and keeps the write end; the pipe
    reaches end-of-file only when the server's end closes, which the kernel does when the
    server exits or is killed. A run started any other way has no lifeline.
    """
    value = os.environ.pop(LIFELINE_ENV, None)
    if not value:
        return
    try:
        fd = int(value)
        os.set_inheritable(fd, False)  # a delivery command or other grandchild never holds it
    except (ValueError, OSError):
        return

    def watch() -> None:
        try:
            while os.read(fd, 1):
                pass
        except OSError:
            return
        log.warning("the server that started this run is gone: stopping the run")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="scoutcrew-lifeline", daemon=True).start()


def _needed_inputs(project: Project, crew: str) -> list[str]:
    """The inputs `crew` needs and has no default for; none if its config does not load (the
    run itself then reports the config's problems)."""
    from ..config.schema import load_config

    try:
        config = load_config(project, only_crew=crew)
    except Exception:  # any config problem is the child run's to report, with its lines
        return []
    return config.required_inputs(crew) if crew in config.crews else []


def _check_unlocked(project: Project, crew: str) -> None:
    """Raise RunLocked now if another process (a scheduled or manual run) holds the lock."""
    from ..store.locks import crew_lock

    with crew_lock(project, crew):
        pass


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the child leads its own session
    except ProcessLookupError:
        pass
    except OSError:
        process.send_signal(sig)


def run_outcome(project: Project, started: Started) -> dict[str, Any]:
    """How a finished (or running) child run stands: status, run id, report, error."""
    code = started.returncode
    run_id = started.run_id()
    outcome: dict[str, Any] = {
        "handle": started.handle,
        "crew": started.crew,
        "exit_code": code,
        "run_id": run_id,
        "status": "running" if code is None else ("ok" if code == 0 else "failed"),
        "report": None,
        "error": None,
    }
    if run_id:
        from ..store.db import Store
        from ..store.runs import RunNotFound, get_run

        path = project.data_dir / "scoutcrew.sqlite"
        if path.is_file():
            with Store.open(path) as store:
                try:
                    record = get_run(store, run_id)
                except RunNotFound:
                    record = None
            if record is not None:
                if code is not None:
                    outcome["status"] = record["status"]
                outcome["report"] = record.get("report")
                outcome["error"] = record.get("error")
    if code not in (None, 0) and not outcome["error"]:
        lines = [line for line in started.output().splitlines() if line.strip()]
        outcome["error"] = lines[-1] if lines else f"exit status {code}"
    return outcome
