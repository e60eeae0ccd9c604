"""Crews that run themselves: `schedule list`, the `schedule run` daemon, the CLI commands.

How the daemon keeps time. It wakes every couple of seconds, reads the wall clock and asks,
for each crew, "did a fire time of this cron expression fall in (last check, now]?"
(`cron.check_due`, a pure function of the schedule and two datetimes, so tests drive it with
any clock). APScheduler's CronTrigger answers the fire-time question (cron fields, time zones,
DST). APScheduler's own scheduler loop is not used: it sleeps until the next fire time on a
monotonic clock that stops while a laptop is suspended, so a run due during sleep would fire
hours late (agronholm/apscheduler#794), it forgets missed runs across restarts, and it cannot
be stepped by a test clock. A short wall-clock tick has none of these problems, and the last
check time is kept in the data directory, so a run missed while the daemon was down is also
caught up, once, if it is still within the crew's misfire grace.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.project import Project
from ..errors import ScoutcrewError
from .cron import Due, Missed, Schedule, due_runs

if TYPE_CHECKING:
    from types import FrameType

log = logging.getLogger("scoutcrew.schedule")

# `scoutcrew run` exits with this when it wrote a partial report (some items stay new).
PARTIAL_EXIT = 3

TICK = 2.0  # seconds between two looks at the clock and the YAML files
STATE_SAVE_EVERY = timedelta(seconds=60)
FINISH_TIMEOUT = 20.0  # seconds a running report gets to finish when the daemon stops
# Seconds after SIGINT before SIGTERM, then SIGKILL. SIGINT takes effect once the model
# call in flight returns (crewai runs it in an executor thread that asyncio waits for), so
# this is generous; all phases together stay under systemd's default 90 s stop timeout.
INTERRUPT_TIMEOUT = 45.0
KILL_TIMEOUT = 5.0
LOG_ROTATE_BYTES = 5_000_000


# --------------------------------------------------------------------------- loading


@dataclass
class Loaded:
    """The schedules found in the YAML, and why some crews could not be read."""

    schedules: dict[str, Schedule]
    problems: list[str]
    invalid: set[str]  # crews whose file exists but did not validate
    warnings: list[str] = field(default_factory=list)  # e.g. a schedule that never fires


def load_schedules(project: Project) -> Loaded:
    """Validate the project and build a Schedule for each valid crew that has one."""
    from ..config.schema import load_config

    config = load_config(project)
    schedules: dict[str, Schedule] = {}
    problems = list(config.problems)
    invalid = {name for name in project.crew_names() if name not in config.crews}
    for name, crew in sorted(config.crews.items()):
        if crew.schedule is None:
            continue
        try:
            schedules[name] = Schedule.build(name, crew.schedule)
        except ValueError as exc:
            problems.append(f"crews/{name}.yaml: schedule: {exc}")
            invalid.add(name)
    return Loaded(schedules, problems, invalid, list(config.warnings))


@dataclass
class ScheduleEntry:
    """One line of `scoutcrew schedule list`."""

    crew: str
    cron: str
    timezone: str
    misfire_grace: int
    next_run: datetime | None
    last_status: str | None = None
    last_started: str | None = None


def scheduled_crews(project: Project, now: datetime | None = None) -> list[ScheduleEntry]:
    """Each scheduled crew with its next fire time and its last run's status."""
    return entries_for(project, load_schedules(project).schedules, now)


def entries_for(
    project: Project, schedules: dict[str, Schedule], now: datetime | None = None
) -> list[ScheduleEntry]:
    now = now or datetime.now(UTC)
    last = _last_runs(project, list(schedules))
    out = []
    for name, sched in sorted(schedules.items()):
        row = last.get(name)
        status, started = (row.status, row.started_at) if row else (None, None)
        out.append(
            ScheduleEntry(
                name,
                sched.cron,
                sched.zone_name,
                sched.misfire_grace,
                sched.next_after(now),
                status,
                started,
            )
        )
    return out


def _last_runs(project: Project, crews: list[str]) -> dict[str, Any]:
    """Last run (runs.RunRow) per crew from the run history; nothing if there is none yet."""
    path = project.data_dir / "scoutcrew.sqlite"
    if not crews or not path.is_file():
        return {}
    try:
        from ..store.db import Store
        from ..store.runs import last_run

        with Store.open(path) as store:
            rows = {crew: last_run(store, crew) for crew in crews}
    except Exception as exc:  # a history problem must not hide the schedule
        log.debug("no run history: %s", exc)
        return {}
    return {crew: row for crew, row in rows.items() if row}


def format_schedule_list(entries: list[ScheduleEntry], now: datetime | None = None) -> str:
    """The table `scoutcrew schedule list` prints."""
    if not entries:
        return 'no crew has a schedule: add e.g. schedule: "0 7 * * *" to a file under crews/'
    now = now or datetime.now(UTC)
    lines = [f"{'CREW':<16} {'SCHEDULE':<16} {'TIMEZONE':<20} {'NEXT RUN':<34} LAST RUN"]
    for e in entries:
        if e.next_run is None:
            nxt = "never"
        else:
            nxt = f"{e.next_run:%Y-%m-%d %H:%M %Z} ({_in(e.next_run - now)})"
        last = f"{e.last_status} {e.last_started}" if e.last_status else "never run"
        lines.append(f"{e.crew:<16} {e.cron:<16} {e.timezone:<20} {nxt:<34} {last}")
    return "\n".join(lines)


def _in(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() + 59) // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"in {days}d {hours}h"
    return f"in {hours}h {minutes:02d}m" if hours else f"in {minutes} min"


# --------------------------------------------------------------------------- the daemon


def run_command(project: Project, crew: str) -> list[str]:
    """The child process of one scheduled report (a fresh interpreter per run)."""
    # A new process per report: crewai memoizes agents and tasks in caches that never
    # empty, so a long-lived process that ran them would keep growing.
    return [sys.executable, "-m", "scoutcrew.cli", "--project", str(project.root), "run", crew]


@dataclass
class Child:
    crew: str
    process: subprocess.Popen[bytes]
    fire_time: datetime
    started: float  # time.monotonic()
    log_path: Path | None = None


def spawn_report(project: Project, crew: str, fire_time: datetime) -> Child:
    """Start `scoutcrew run CREW` in its own session, appending its output to a log file."""
    log_dir = project.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{crew}.log"
    # The daemon runs for months: keep one previous log, not an ever-growing file.
    if log_path.exists() and log_path.stat().st_size > LOG_ROTATE_BYTES:
        os.replace(log_path, log_path.with_name(f"{crew}.log.1"))
    with open(log_path, "ab") as out:
        out.write(f"\n=== scheduled run for {fire_time.isoformat()} ===\n".encode())
        out.flush()
        process = subprocess.Popen(
            run_command(project, crew),
            cwd=project.root,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SCOUTCREW_TRIGGER": "schedule"},
            # Its own session: a Ctrl-C in the daemon's terminal reaches only the daemon,
            # which then decides how long the report may take to finish.
            start_new_session=True,
        )
    return Child(crew, process, fire_time, time.monotonic(), log_path)


Spawner = Callable[[Project, str, datetime], Child]


class Daemon:
    """The scheduling state of `scoutcrew schedule run`, advanced by `tick(now)`."""

    def __init__(
        self,
        project: Project,
        *,
        spawn: Spawner = spawn_report,
        tick: float = TICK,
        max_parallel: int = 1,
        state_path: Path | None = None,
    ):
        self.project = project
        self.spawn = spawn
        self.slack = tick + 1.0
        self.max_parallel = max(1, max_parallel)
        self.state_path = state_path or project.data_dir / "schedule-state.json"
        self.schedules: dict[str, Schedule] = {}
        self.checked: dict[str, datetime] = {}
        self.pending: dict[str, Due] = {}
        self.running: dict[str, Child] = {}
        self.stopping = False
        self._fingerprint: dict[str, tuple[int, int]] = {}
        self._saved_at: datetime | None = None

    # -- configuration -------------------------------------------------------------------

    def start(self, now: datetime) -> None:
        """Load the schedules and the last check times saved by a previous daemon."""
        saved = self._load_state()
        self.reload(now, first=True)
        for crew in self.schedules:
            if crew in saved:
                # Never further back than now: a clock set backwards must not replay runs.
                self.checked[crew] = min(saved[crew], now)
        for entry in entries_for(self.project, self.schedules, now):
            log.info(
                "scheduled %s: '%s' %s, next run %s",
                entry.crew,
                entry.cron,
                entry.timezone,
                _fmt(entry.next_run),
            )
        if not self.schedules:
            log.info("no crew has a schedule yet; watching %s for edits", self.project.crews_dir)

    def reload(self, now: datetime, first: bool = False) -> None:
        """Re-read the YAML; keep the last good schedule of any crew that no longer validates."""
        self._fingerprint = self._files()
        try:
            loaded = load_schedules(self.project)
        except (ScoutcrewError, OSError) as exc:
            log.error("could not read the configuration (%s); keeping every schedule", exc)
            return
        for problem in loaded.problems:
            log.error("config problem: %s", problem)
        new = dict(loaded.schedules)
        for crew in loaded.invalid & set(self.schedules):
            new[crew] = self.schedules[crew]
            log.error(
                "crews/%s.yaml is invalid: keeping its last good schedule '%s' until it is fixed",
                crew,
                self.schedules[crew].cron,
            )
        if not first:
            for crew in sorted(set(self.schedules) - set(new)):
                log.info("unscheduled %s (no schedule in crews/%s.yaml any more)", crew, crew)
                self.pending.pop(crew, None)
            for crew, sched in sorted(new.items()):
                old = self.schedules.get(crew)
                if old is None or (old.cron, old.timezone, old.misfire_grace) != (
                    sched.cron,
                    sched.timezone,
                    sched.misfire_grace,
                ):
                    log.info(
                        "%s %s: '%s' %s, next run %s",
                        "rescheduled" if old else "scheduled",
                        crew,
                        sched.cron,
                        sched.zone_name,
                        _fmt(sched.next_after(now)),
                    )
        self.schedules = new
        for crew in new:
            self.checked.setdefault(crew, now)  # a new crew does not catch up on the past
        for crew in set(self.checked) - set(new):
            del self.checked[crew]

    def changed(self) -> bool:
        return self._files() != self._fingerprint

    def _files(self) -> dict[str, tuple[int, int]]:
        paths = [self.project.agents_file, self.project.tasks_file]
        if self.project.crews_dir.is_dir():
            paths += sorted(self.project.crews_dir.glob("*.yaml"))
        out = {}
        for path in paths:
            try:
                st = path.stat()
            except OSError:
                continue
            out[str(path)] = (st.st_mtime_ns, st.st_size)
        return out

    # -- time ----------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Due | Missed]:
        """Reap finished reports, pick up edits, start what is due. Returns what fired."""
        self.reap()
        if self.stopping:
            return []
        if self.changed():
            log.info("configuration changed; reloading")
            self.reload(now)
        results = due_runs(self.schedules, self.checked, now, self.slack)
        for crew in self.schedules:
            self.checked[crew] = now
        for result in results:
            if isinstance(result, Missed):
                log.warning(
                    "missed the run of %s due at %s: more than its misfire_grace (%d s) ago; "
                    "skipped, next run %s",
                    result.crew,
                    _fmt(result.fire_time),
                    result.grace,
                    _fmt(self.schedules[result.crew].next_after(now)),
                )
            else:
                self._enqueue(result)
        self._start_pending()
        if results or self._saved_at is None or now - self._saved_at >= STATE_SAVE_EVERY:
            self.save_state(now)
        return results

    def _enqueue(self, due: Due) -> None:
        if due.crew in self.running:
            log.warning(
                "%s is still running (started for %s); the run due at %s is skipped",
                due.crew,
                _fmt(self.running[due.crew].fire_time),
                _fmt(due.fire_time),
            )
        elif due.crew not in self.pending:  # several due times before it starts: one run
            self.pending[due.crew] = due
            if due.late > timedelta(seconds=self.slack):
                log.info("catching up the run of %s due at %s", due.crew, _fmt(due.fire_time))

    def _start_pending(self) -> None:
        while self.pending and len(self.running) < self.max_parallel:
            crew = next(iter(self.pending))
            due = self.pending.pop(crew)
            try:
                child = self.spawn(self.project, crew, due.fire_time)
            except OSError as exc:
                log.error("could not start the run of %s: %s", crew, exc)
                continue
            self.running[crew] = child
            where = f"; log {child.log_path}" if child.log_path else ""
            log.info(
                "started %s (pid %d) for %s%s", crew, child.process.pid, _fmt(due.fire_time), where
            )
        if self.pending:
            log.debug("waiting for a free slot: %s", ", ".join(self.pending))

    def reap(self) -> list[tuple[str, int]]:
        """Collect finished reports and log how they ended."""
        done = []
        for crew, child in list(self.running.items()):
            code = child.process.poll()
            if code is None:
                continue
            del self.running[crew]
            done.append((crew, code))
            took = time.monotonic() - child.started
            if code in (0, PARTIAL_EXIT):  # partial: a report, some items carried over
                row = _last_runs(self.project, [crew]).get(crew)
                detail = f": {row.status}, report {row.report or '-'}" if row else ""
                log.info("finished %s in %.0f s%s", crew, took, detail)
            else:
                if code < 0:  # killed by a signal before it could record how it ended
                    mark_interrupted(self.project, crew)
                tail = _tail(child.log_path)
                log.error(
                    "run of %s failed (exit %d after %.0f s)%s%s",
                    crew,
                    code,
                    took,
                    f": {tail}" if tail else "",
                    f"; log {child.log_path}" if child.log_path else "",
                )
        return done

    # -- state ---------------------------------------------------------------------------

    def _load_state(self) -> dict[str, datetime]:
        try:
            data = json.loads(self.state_path.read_text())
            return {k: datetime.fromisoformat(v) for k, v in data.get("checked", {}).items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            log.warning("ignoring unreadable %s: %s", self.state_path, exc)
            return {}

    def save_state(self, now: datetime) -> None:
        """Remember up to when each crew was checked, so a restart catches up missed runs."""
        data = {"version": 1, "checked": {k: v.isoformat() for k, v in self.checked.items()}}
        try:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1))
            os.replace(tmp, self.state_path)
            self._saved_at = now
        except OSError as exc:
            log.warning("could not save %s: %s", self.state_path, exc)

    # -- stopping ------------------------------------------------------------------------

    def shutdown(
        self,
        now: datetime,
        *,
        finish_timeout: float = FINISH_TIMEOUT,
        interrupt_timeout: float = INTERRUPT_TIMEOUT,
        kill_timeout: float = KILL_TIMEOUT,
        hurry: Callable[[], bool] = lambda: False,
    ) -> None:
        """Stop scheduling; let running reports finish, then interrupt, then kill them."""
        self.stopping = True
        if self.pending:
            log.info("not starting %s", ", ".join(self.pending))
            self.pending.clear()
        self.save_state(now)
        phases = [
            (None, finish_timeout, "waiting up to %g s for %s to finish"),
            (signal.SIGINT, interrupt_timeout, "interrupting %s: up to %g s to stop"),
            (signal.SIGTERM, kill_timeout, "terminating %s"),
            (signal.SIGKILL, kill_timeout, "killing %s"),
        ]
        for sig, bound, message in phases:
            self.reap()
            if not self.running:
                break
            names = ", ".join(self.running)
            if sig is None:
                log.info(message, bound, names)
            else:
                log.warning(message % ((names, bound) if "%g" in message else (names,)))
                for child in self.running.values():
                    _signal_group(child.process, sig)
            deadline = time.monotonic() + bound
            while self.running and time.monotonic() < deadline:
                if sig is None and hurry():
                    break
                time.sleep(0.1)
                self.reap()


def mark_interrupted(project: Project, crew: str) -> int:
    """Mark the crew's runs left 'running' by a killed process as interrupted (resumable).

    Only while holding the crew's lock: then no live process can own a 'running' record.
    """
    from ..errors import RunLocked
    from ..store.locks import crew_lock

    path = project.data_dir / "scoutcrew.sqlite"
    if not path.is_file():
        return 0
    try:
        from ..store.db import Store
        from ..store.runs import mark_stale

        with crew_lock(project, crew), Store.open(path) as store:
            count = mark_stale(store, crew)
    except RunLocked:
        return 0  # another run of this crew is live: its record is not stale
    except Exception as exc:  # the history is a nicety here; never stop the daemon for it
        log.warning("could not mark the run of %s as interrupted: %s", crew, exc)
        return 0
    if count:
        log.info("marked %d run(s) of %s as interrupted", count, crew)
    return count


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the child leads its own session (start_new_session)
    except ProcessLookupError:
        pass
    except OSError:
        process.send_signal(sig)


def _tail(path: Path | None, lines: int = 2) -> str:
    if path is None:
        return ""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 4000))
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


def _fmt(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S %Z}" if moment else "never"


@dataclass
class _Signals:
    count: int = 0
    last: int = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        # Only record: logging or locking inside a signal handler can deadlock.
        self.count += 1
        self.last = signum


def run_daemon(
    project: Project,
    *,
    tick: float = TICK,
    max_parallel: int = 1,
    finish_timeout: float = FINISH_TIMEOUT,
    interrupt_timeout: float = INTERRUPT_TIMEOUT,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Run scheduled crews until SIGTERM or SIGINT (a second one stops the wait at once)."""
    from ..store.locks import daemon_lock

    with daemon_lock(project):
        daemon = Daemon(project, tick=tick, max_parallel=max_parallel)
        signals = _Signals()
        previous = {s: signal.signal(s, signals) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            daemon.start(clock())
            log.info(
                "schedule daemon running for %s (pid %d); stop with Ctrl-C or SIGTERM",
                project.root,
                os.getpid(),
            )
            while not signals.count:
                try:
                    daemon.tick(clock())
                except Exception:  # one bad tick must not end a daemon left running for months
                    log.exception("schedule tick failed; trying again in %g s", tick)
                deadline = time.monotonic() + tick
                while not signals.count and time.monotonic() < deadline:
                    time.sleep(min(0.2, tick))
            log.info("received %s: stopping", signal.Signals(signals.last).name)
            daemon.shutdown(
                clock(),
                finish_timeout=finish_timeout,
                interrupt_timeout=interrupt_timeout,
                hurry=lambda: signals.count > 1,
            )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    log.info("schedule daemon stopped")
    return 0
