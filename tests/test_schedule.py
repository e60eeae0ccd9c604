"""Schedules: cron fire times on a controllable clock, misfire catch-up, hot reload, the
crew lock, install into cron/systemd, and one real `scoutcrew schedule run` daemon."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scoutcrew.cli import main
from scoutcrew.config.cron import parse_cron
from scoutcrew.config.models import ScheduleConfig
from scoutcrew.config.project import find_project
from scoutcrew.errors import RunLocked
from scoutcrew.schedule.cron import Due, Missed, Schedule, check_due, on_calendar
from scoutcrew.schedule.daemon import Child, Daemon, load_schedules, scheduled_crews
from scoutcrew.schedule.install import (
    cron_block,
    install_cron,
    install_systemd,
    merge_crontab,
    systemd_units,
)
from scoutcrew.store.locks import crew_lock, daemon_lock


def at(text: str) -> datetime:
    """A UTC instant from 'YYYY-MM-DD HH:MM[:SS]'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def sched(cron: str, tz: str | None = "UTC", grace: int = 3600, crew: str = "demo") -> Schedule:
    return Schedule.build(crew, ScheduleConfig(cron=cron, timezone=tz, misfire_grace=grace))


def fires(schedule: Schedule, start: datetime, count: int) -> list[datetime]:
    out, moment = [], start
    for _ in range(count):
        moment = schedule.next_after(moment)
        out.append(moment)
    return out


# --------------------------------------------------------------------------- cron semantics


def test_weekday_numbers_follow_cron_not_apscheduler() -> None:
    # cron's 1 is Monday; APScheduler 3's from_crontab would read it as Tuesday.
    weekly = sched("0 8 * * 1")
    nxt = weekly.next_after(at("2026-11-24 09:00"))  # a Tuesday
    assert nxt == at("2026-11-30 08:00")
    assert nxt.weekday() == 0
    assert sched("0 8 * * 7").next_after(at("2026-11-24 09:00")).weekday() == 6  # 7 = Sunday
    assert [f.weekday() for f in fires(sched("0 8 * * mon-fri"), at("2026-11-27 09:00"), 3)] == [
        0,
        1,
        2,
    ]


def test_day_of_month_or_weekday_like_vixie_cron() -> None:
    # Both day fields restricted: the 13th OR any Friday.
    times = fires(sched("0 0 13 * 5"), at("2026-11-01 00:00"), 5)
    assert [t.date().isoformat() for t in times] == [
        "2026-11-06",
        "2026-11-13",
        "2026-11-20",
        "2026-11-27",
        "2026-12-04",
    ]
    # Only one restricted ('*/2' counts as unrestricted): both must match.
    assert all(t.weekday() == 4 for t in fires(sched("0 0 * * 5"), at("2026-11-01"), 3))


def test_timezone_and_steps() -> None:
    paris = sched("0 7 * * *", tz="Europe/Paris")
    assert paris.next_after(at("2026-11-24 00:00")).astimezone(UTC) == at("2026-11-24 06:00")
    quarter = fires(sched("*/15 9 * * *"), at("2026-11-24 08:59"), 5)
    assert [f.strftime("%H:%M") for f in quarter] == ["09:00", "09:15", "09:30", "09:45", "09:00"]


@pytest.mark.parametrize(
    ("cron", "tz", "needle"),
    [
        ("61 * * * *", None, "minute field '61'"),
        ("0 24 * * *", None, "hour field"),
        ("0 7 * * funday", None, "day of week field"),
        ("0 7 * * *", "Mars/Olympus", "unknown timezone 'Mars/Olympus'"),
    ],
)
def test_bad_schedules_are_named(cron: str, tz: str | None, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        sched(cron, tz=tz)


# --------------------------------------------------------------------------- due runs


def test_fires_once_on_time_on_a_controlled_clock() -> None:
    daily = sched("0 7 * * *")
    assert check_due(daily, at("2026-11-24 06:59:56"), at("2026-11-24 06:59:58")) is None
    due = check_due(daily, at("2026-11-24 06:59:58"), at("2026-11-24 07:00:01"))
    assert isinstance(due, Due) and due.fire_time == at("2026-11-24 07:00")
    assert check_due(daily, at("2026-11-24 07:00:01"), at("2026-11-24 07:00:03")) is None


def test_missed_run_is_caught_up_once_within_grace() -> None:
    daily = sched("0 7 * * *", grace=3600)
    # The laptop slept from 06:00 to 07:30: one run, 30 minutes late.
    due = check_due(daily, at("2026-11-24 06:00"), at("2026-11-24 07:30"))
    assert isinstance(due, Due)
    assert due.fire_time == at("2026-11-24 07:00") and due.late == timedelta(minutes=30)
    # Asleep from Monday to Wednesday 07:10: one run for Wednesday, not three.
    due = check_due(daily, at("2026-11-23 06:00"), at("2026-11-25 07:10"))
    assert isinstance(due, Due) and due.fire_time == at("2026-11-25 07:00")
    # Every minute, asleep for half an hour: still a single run.
    minutely = sched("* * * * *", grace=300)
    due = check_due(minutely, at("2026-11-24 06:00:30"), at("2026-11-24 06:30:10"))
    assert isinstance(due, Due) and due.fire_time >= at("2026-11-24 06:25:10")


def test_missed_run_outside_grace_is_skipped() -> None:
    daily = sched("0 7 * * *", grace=3600)
    missed = check_due(daily, at("2026-11-24 06:00"), at("2026-11-24 09:00"))
    assert isinstance(missed, Missed) and missed.fire_time == at("2026-11-24 07:00")
    # grace 0 still fires on a normal tick thanks to the daemon's slack.
    strict = sched("0 7 * * *", grace=0)
    on_tick = check_due(strict, at("2026-11-24 06:59:59"), at("2026-11-24 07:00:02"), slack=3)
    assert isinstance(on_tick, Due)
    assert isinstance(check_due(strict, at("2026-11-24 06:59"), at("2026-11-24 07:05"), 3), Missed)


# --------------------------------------------------------------------------- the daemon


def write_crew(project: Path, schedule: str, name: str = "demo") -> None:
    path = project / "crews" / f"{name}.yaml"
    text = path.read_text().split("schedule:")[0].rstrip("\n")
    path.write_text(text + "\n" + schedule + "\n")
    # Filesystems with coarse timestamps: make sure the edit is visible to the poller.
    stamp = time.time() + 2 + len(text) % 7
    os.utime(path, (stamp, stamp))


@pytest.fixture
def demo_only(project_dir: Path) -> Path:
    """The project copy with only the demo crew, scheduled daily at 07:00 UTC."""
    for path in (project_dir / "crews").glob("*.yaml"):
        if path.stem != "demo":
            path.unlink()
    write_crew(project_dir, 'schedule: {cron: "0 7 * * *", timezone: UTC}')
    return project_dir


class Spawner:
    """Start a real (tiny) child process instead of a report, and remember when."""

    def __init__(self, script: str = "pass"):
        self.script = script
        self.started: list[tuple[str, datetime]] = []

    def __call__(self, project, crew: str, fire_time: datetime) -> Child:
        self.started.append((crew, fire_time))
        proc = subprocess.Popen([sys.executable, "-c", self.script], start_new_session=True)
        return Child(crew, proc, fire_time, time.monotonic())


def wait_reaped(daemon: Daemon, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while daemon.running and time.monotonic() < deadline:
        time.sleep(0.05)
        daemon.reap()
    assert not daemon.running


def wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_daemon_ticks_fire_one_run(demo_only: Path) -> None:
    spawn = Spawner()
    daemon = Daemon(find_project(demo_only), spawn=spawn, tick=2)
    daemon.start(at("2026-11-24 06:59:50"))
    for moment in ("06:59:52", "06:59:58", "07:00:01", "07:00:03", "07:00:59"):
        daemon.tick(at(f"2026-11-24 {moment}"))
    assert spawn.started == [("demo", at("2026-11-24 07:00"))]
    wait_reaped(daemon)


def test_daemon_never_runs_two_of_the_same_crew(
    demo_only: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_crew(demo_only, 'schedule: {cron: "* * * * *", timezone: UTC}')
    spawn = Spawner("import time; time.sleep(60)")
    daemon = Daemon(find_project(demo_only), spawn=spawn, tick=2)
    daemon.start(at("2026-11-24 06:59:50"))
    try:
        with caplog.at_level(logging.INFO, "scoutcrew.schedule"):
            daemon.tick(at("2026-11-24 07:00:01"))
            daemon.tick(at("2026-11-24 07:01:01"))
        assert [crew for crew, _ in spawn.started] == ["demo"]
        assert "demo is still running" in caplog.text
    finally:
        daemon.shutdown(at("2026-11-24 07:01:02"), finish_timeout=0, interrupt_timeout=5)
    assert not daemon.running


def test_restart_catches_up_within_grace_only(demo_only: Path, tmp_path: Path) -> None:
    project = find_project(demo_only)
    first = Daemon(project, spawn=Spawner(), tick=2)
    first.start(at("2026-11-24 06:40"))
    first.tick(at("2026-11-24 06:50"))  # saved: checked up to 06:50, then the daemon stopped

    spawn = Spawner()
    second = Daemon(project, spawn=spawn, tick=2)  # restarted at 07:20, grace 3600 s
    second.start(at("2026-11-24 07:20"))
    second.tick(at("2026-11-24 07:20"))
    assert spawn.started == [("demo", at("2026-11-24 07:00"))]
    wait_reaped(second)

    # The same outage with a 10-minute grace: too late, nothing runs.
    state = project.data_dir / "schedule-state.json"
    state.write_text('{"version": 1, "checked": {"demo": "2026-11-24T06:50:00+00:00"}}')
    write_crew(demo_only, 'schedule: {cron: "0 7 * * *", timezone: UTC, misfire_grace: 600}')
    spawn = Spawner()
    third = Daemon(project, spawn=spawn, tick=2)
    third.start(at("2026-11-24 07:20"))
    assert isinstance(third.tick(at("2026-11-24 07:20"))[0], Missed)
    assert spawn.started == []


def test_valid_edit_reschedules_and_invalid_edit_keeps_last_good(
    demo_only: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spawn = Spawner()
    daemon = Daemon(find_project(demo_only), spawn=spawn, tick=2)
    daemon.start(at("2026-11-24 06:00"))
    assert daemon.schedules["demo"].cron == "0 7 * * *"

    write_crew(demo_only, 'schedule: {cron: "30 6 * * *", timezone: UTC}')
    daemon.tick(at("2026-11-24 06:10"))
    assert daemon.schedules["demo"].cron == "30 6 * * *"

    # An invalid edit (a misspelled key) between two fire times.
    with caplog.at_level(logging.INFO, "scoutcrew.schedule"):
        write_crew(demo_only, 'schedule: {cron: "45 6 * * *", timezone: UTC}\nagentz: [writer]')
        daemon.tick(at("2026-11-24 06:20"))
    assert daemon.schedules["demo"].cron == "30 6 * * *"
    assert "keeping its last good schedule '30 6 * * *'" in caplog.text
    assert "crews/demo.yaml" in caplog.text and "agentz" in caplog.text

    daemon.tick(at("2026-11-24 06:30:01"))  # still fires on the last good schedule
    assert spawn.started == [("demo", at("2026-11-24 06:30"))]
    wait_reaped(daemon)

    # A bad time zone is an invalid edit too; removing the schedule unschedules the crew.
    write_crew(demo_only, 'schedule: {cron: "0 7 * * *", timezone: Nowhere/City}')
    daemon.tick(at("2026-11-24 06:31"))
    assert daemon.schedules["demo"].cron == "30 6 * * *"
    write_crew(demo_only, "")
    daemon.tick(at("2026-11-24 06:32"))
    assert daemon.schedules == {}


def test_shutdown_interrupts_a_report_that_does_not_finish(demo_only: Path, tmp_path: Path) -> None:
    marker, ready = tmp_path / "interrupted", tmp_path / "ready"
    script = textwrap.dedent(
        f"""
        import pathlib, sys, time
        try:
            pathlib.Path({str(ready)!r}).write_text("ready")
            time.sleep(60)
        except KeyboardInterrupt:
            pathlib.Path({str(marker)!r}).write_text("marked interrupted")
            sys.exit(130)
        """
    )
    write_crew(demo_only, 'schedule: {cron: "* * * * *", timezone: UTC}')
    daemon = Daemon(find_project(demo_only), spawn=Spawner(script), tick=2)
    daemon.start(at("2026-11-24 06:59:50"))
    daemon.tick(at("2026-11-24 07:00:01"))
    child = daemon.running["demo"].process
    wait_for(ready)  # the child's interpreter now turns SIGINT into KeyboardInterrupt
    daemon.shutdown(at("2026-11-24 07:00:02"), finish_timeout=0.3, interrupt_timeout=10)
    assert not daemon.running
    assert child.returncode == 130
    assert marker.read_text() == "marked interrupted"
    assert daemon.tick(at("2026-11-24 07:01:01")) == []  # a stopped daemon starts nothing


def test_a_killed_report_is_recorded_as_interrupted(demo_only: Path) -> None:
    from scoutcrew.schedule.daemon import mark_interrupted
    from scoutcrew.store.db import Store
    from scoutcrew.store.runs import RunRecorder, last_run

    project = find_project(demo_only)
    project.data_dir.mkdir(parents=True, exist_ok=True)
    db = project.data_dir / "scoutcrew.sqlite"
    with Store.open(db) as store:
        RunRecorder.start(store, "demo", cfg_hash="x", inputs={}, options={})
    # While another process could own the record (the crew's lock is held), it is left alone.
    with crew_lock(project, "demo"):
        assert mark_interrupted(project, "demo") == 0

    # A report that ignores SIGINT is terminated; its record no longer claims to be running.
    ready = demo_only / "ready"
    stubborn = (
        "import pathlib, signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        f"pathlib.Path({str(ready)!r}).write_text('ready'); time.sleep(60)"
    )
    write_crew(demo_only, 'schedule: {cron: "* * * * *", timezone: UTC}')
    daemon = Daemon(project, spawn=Spawner(stubborn), tick=2)
    daemon.start(at("2026-11-24 06:59:50"))
    daemon.tick(at("2026-11-24 07:00:01"))
    wait_for(ready)
    daemon.shutdown(at("2026-11-24 07:00:02"), finish_timeout=0, interrupt_timeout=0.5)
    assert not daemon.running
    with Store.open(db) as store:
        row = last_run(store, "demo")
    assert row is not None and row.status == "interrupted" and "resume" in (row.error or "")


# --------------------------------------------------------------------------- list, locks


def test_schedule_list_shows_next_run(demo_only: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--project", str(demo_only), "schedule", "list"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("demo"))
    entry = scheduled_crews(find_project(demo_only))[0]
    assert "0 7 * * *" in row and "UTC" in row and "never run" in row
    assert f"{entry.next_run:%Y-%m-%d} 07:00 UTC" in row


def test_schedule_list_shows_the_last_run_status(
    demo_only: Path, capsys: pytest.CaptureFixture
) -> None:
    from scoutcrew.store.db import Store
    from scoutcrew.store.runs import RunRecorder

    project = find_project(demo_only)
    project.data_dir.mkdir(parents=True, exist_ok=True)
    with Store.open(project.data_dir / "scoutcrew.sqlite") as store:
        recorder = RunRecorder.start(store, "demo", cfg_hash="x", inputs={}, options={})
        recorder.finish("failed", error="Ollama is not reachable")
    assert main(["--project", str(demo_only), "schedule", "list"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("demo"))
    assert row.split()[-2] == "failed"


def test_schedule_list_reports_invalid_crews(
    demo_only: Path, capsys: pytest.CaptureFixture
) -> None:
    write_crew(demo_only, 'schedule: "0 7 * *"')
    assert main(["--project", str(demo_only), "schedule", "list"]) == 1
    captured = capsys.readouterr()
    assert "no crew has a schedule" in captured.out
    assert "crews/demo.yaml" in captured.err and "5-field cron" in captured.err


def test_crew_lock_refuses_a_second_holder(project_dir: Path) -> None:
    project = find_project(project_dir)
    with crew_lock(project, "demo"):
        with pytest.raises(RunLocked, match="crew 'demo' is already running.*another run"):
            with crew_lock(project, "demo"):
                pass
        # Another process is refused too, and other crews are independent.
        probe = subprocess.run(
            [sys.executable, "-c", _PROBE, str(project_dir), "demo"],
            capture_output=True,
            text=True,
            env={**os.environ},
        )
        assert probe.stdout.strip().startswith("locked: crew 'demo'")
        with crew_lock(project, "ai-news"):
            pass
    with crew_lock(project, "demo"):  # released on exit
        pass
    with daemon_lock(project), pytest.raises(RunLocked, match="schedule run` is already"):
        with daemon_lock(project):
            pass


_PROBE = """
import sys
from scoutcrew.errors import RunLocked
from scoutcrew.store.locks import crew_lock
from scoutcrew.config.project import find_project
try:
    with crew_lock(find_project(sys.argv[1]), sys.argv[2]):
        print("acquired")
except RunLocked as exc:
    print("locked:", exc)
"""


# --------------------------------------------------------------------------- install


def test_cron_install_merges_a_marked_block(demo_only: Path, tmp_path: Path) -> None:
    project = find_project(demo_only)
    store = tmp_path / "crontab.txt"
    store.write_text("MAILTO=me@example.org\n15 3 * * * /usr/bin/backup\n")
    fake = tmp_path / "crontab"  # the `crontab -l` / `crontab -` protocol, on a file
    fake.write_text(
        f"#!{sys.executable}\nimport sys, pathlib\np = pathlib.Path({str(store)!r})\n"
        "if sys.argv[1] == '-l':\n    sys.stdout.write(p.read_text())\n"
        "else:\n    p.write_text(sys.stdin.read())\n"
    )
    fake.chmod(0o755)
    schedules = load_schedules(project).schedules
    block = cron_block(project, schedules, ["/opt/bin/scoutcrew"])
    install_cron(project, block, [str(fake)])
    install_cron(project, block, [str(fake)])  # idempotent: replaces its own block
    text = store.read_text()
    assert text.startswith("MAILTO=me@example.org\n15 3 * * * /usr/bin/backup\n")
    assert text.count("# >>> scoutcrew") == 1
    line = next(x for x in text.splitlines() if x.startswith("0 7 * * *"))
    assert f"cd {project.root} && SCOUTCREW_HOME={project.data_dir}" in line
    assert "/opt/bin/scoutcrew run demo >> " in line and line.endswith("demo.log 2>&1")
    # With no scheduled crew left, the block goes and the rest stays.
    assert merge_crontab(text, "", project).strip() == (
        "MAILTO=me@example.org\n15 3 * * * /usr/bin/backup"
    )


def test_systemd_units_written_to_a_folder(demo_only: Path, tmp_path: Path) -> None:
    project = find_project(demo_only)
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    stale = unit_dir / "scoutcrew-project-old.timer"
    stale.write_text(f"# scoutcrew project: {project.root}\n[Timer]\n")
    foreign = unit_dir / "scoutcrew-other-demo.timer"
    foreign.write_text("# scoutcrew project: /elsewhere\n[Timer]\n")
    units = systemd_units(project, load_schedules(project).schedules, ["/opt/bin/scoutcrew"])
    commands = install_systemd(project, units, unit_dir, systemctl=None)
    names = sorted(p.name for p in unit_dir.iterdir())
    assert names == [
        "scoutcrew-other-demo.timer",
        "scoutcrew-project-demo.service",
        "scoutcrew-project-demo.timer",
    ]
    timer = (unit_dir / "scoutcrew-project-demo.timer").read_text()
    assert "OnCalendar=*-*-* 07:00:00 UTC" in timer and "Persistent=true" in timer
    service = (unit_dir / "scoutcrew-project-demo.service").read_text()
    assert f"ExecStart=/opt/bin/scoutcrew --project {project.root} run demo" in service
    assert "KillSignal=SIGINT" in service
    assert commands[-1].endswith("enable --now scoutcrew-project-demo.timer")


def test_systemd_install_through_the_cli(demo_only: Path, tmp_path: Path, capsys) -> None:
    unit_dir = tmp_path / "cli-units"
    args = ["--project", str(demo_only), "schedule", "install", "--systemd", "--write"]
    assert main([*args, "--unit-dir", str(unit_dir)]) == 0
    assert (unit_dir / "scoutcrew-project-demo.timer").is_file()
    assert "systemctl --user daemon-reload" in capsys.readouterr().err
    assert main(["--project", str(demo_only), "schedule", "install", "--cron"]) == 0
    assert "run demo >>" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("0 7 * * *", ["*-*-* 07:00:00"]),
        ("*/15 * * * *", ["*-*-* *:00/15:00"]),
        ("30 8 * * 1-5", ["Mon..Fri *-*-* 08:30:00"]),
        ("0 8 * * 1", ["Mon *-*-* 08:00:00"]),
        ("0 0 1,15 * *", ["*-*-01,15 00:00:00"]),
        ("0 0 13 * 5", ["*-*-13 00:00:00", "Fri *-*-* 00:00:00"]),
        ("5 9-17 * 1-3 0,6", ["Sun,Sat *-01..03-* 09..17:05:00"]),
    ],
)
def test_on_calendar_from_cron(cron: str, expected: list[str]) -> None:
    assert on_calendar(cron) == expected
    analyze = shutil.which("systemd-analyze")
    if analyze:  # systemd itself agrees that the expression is valid
        for value in expected:
            check = subprocess.run([analyze, "calendar", value], capture_output=True, text=True)
            assert check.returncode == 0, check.stderr


def test_parse_cron_expands_fields() -> None:
    spec = parse_cron("*/20 9-11 */10 jan,jul sun")
    assert spec.minutes == (0, 20, 40) and spec.hours == (9, 10, 11)
    assert spec.days == (1, 11, 21, 31) and spec.months == (1, 7) and spec.weekdays == (0,)
    assert not spec.day_restricted and spec.weekday_restricted


# --------------------------------------------------------------------------- the real daemon


def test_real_daemon_runs_a_crew_every_minute_and_locks_out_a_manual_run(
    demo_only: Path, tmp_path: Path
) -> None:
    """`scoutcrew schedule run` writes a report within ~a minute; a manual run is refused."""
    from scoutcrew.testing.fake_ollama import FakeOllama
    from scoutcrew.testing.scripts import scripted_reader

    release = threading.Event()
    held = threading.Event()

    def slow_first_reply(request: dict) -> str:
        # Hold the scheduled run inside its first model call until the manual run was tried.
        held.set()
        release.wait(60)
        answer = "Final Answer: Local inference got faster this month [S1]."
        return str(scripted_reader(lambda _r: answer)(request))

    write_crew(demo_only, 'schedule: "* * * * *"')
    project = find_project(demo_only)
    with FakeOllama(default_reply=slow_first_reply) as ollama:
        env = {**os.environ, "OLLAMA_HOST": ollama.url, "SCOUTCREW_BACKEND": "ollama"}
        cli = [sys.executable, "-m", "scoutcrew.cli", "--project", str(demo_only)]
        daemon_log = tmp_path / "daemon.log"
        with open(daemon_log, "wb") as log_file:
            daemon = subprocess.Popen(
                [*cli, "schedule", "run", "--finish-timeout", "30"],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
            )
        try:
            assert held.wait(100), f"no scheduled run reached the model:\n{daemon_log.read_text()}"
            manual = subprocess.run(
                [*cli, "run", "demo"], capture_output=True, text=True, env=env, timeout=60
            )
            assert manual.returncode != 0
            assert "crew 'demo' is already running" in manual.stderr
            release.set()

            reports = project.reports_dir / "demo"
            deadline = time.monotonic() + 90
            while not list(reports.glob("*.md")) and time.monotonic() < deadline:
                assert daemon.poll() is None, daemon_log.read_text()
                time.sleep(0.5)
            assert list(reports.glob("*.md")), daemon_log.read_text()

            # An invalid edit leaves the daemon running on the last good schedule.
            write_crew(demo_only, 'schedule: "* * * * *"\nagentz: [writer]')
            deadline = time.monotonic() + 20
            while "keeping its last good schedule" not in daemon_log.read_text():
                assert time.monotonic() < deadline, daemon_log.read_text()
                time.sleep(0.5)
            assert daemon.poll() is None
        finally:
            release.set()
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(60)
    text = daemon_log.read_text()
    assert code == 0, text
    assert "started demo" in text and "received SIGTERM: stopping" in text
    assert "schedule daemon stopped" in text
