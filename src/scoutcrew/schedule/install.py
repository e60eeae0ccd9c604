"""Install scheduled crews into the user's crontab or as systemd user timers.

Both call `scoutcrew run CREW` at the crew's cron times; the crew lock keeps such a run from
overlapping a manual one or one started by `scoutcrew schedule run`.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from ..config.project import Project
from ..errors import ConfigError, ScoutcrewError
from .cron import Schedule, on_calendar


class ScheduleInstallError(ScoutcrewError):
    """The crontab or the systemd units could not be installed."""


def scoutcrew_command() -> list[str]:
    """How cron or systemd should call this installation of scoutcrew."""
    script = Path(sys.executable).parent / "scoutcrew"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "scoutcrew.cli"]


def install_schedules(project: Project) -> dict[str, Schedule]:
    """The schedules to install; a config with any problem installs nothing."""
    from .daemon import load_schedules

    loaded = load_schedules(project)
    if loaded.problems:
        raise ConfigError(loaded.problems)
    return loaded.schedules


def _run_env(project: Project) -> dict[str, str]:
    env = {"SCOUTCREW_HOME": str(project.data_dir)}
    for name in ("OLLAMA_HOST", "SCOUTCREW_BACKEND"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


def cron_block(project: Project, schedules: dict[str, Schedule], command: list[str]) -> str:
    """The crontab lines for the project's scheduled crews, between marker comments."""
    begin, end = _cron_markers(project)
    lines = [begin, "# written by `scoutcrew schedule install --cron`; edits here are replaced"]
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in _run_env(project).items())
    for crew, sched in sorted(schedules.items()):
        if sched.timezone:
            lines.append(f"# {crew}: cron uses the system time zone, not {sched.timezone}")
        log_path = project.data_dir / "logs" / f"{crew}.log"
        cmd = " ".join(shlex.quote(part) for part in [*command, "run", crew])
        line = (
            f"cd {shlex.quote(str(project.root))} && {env} {cmd} "
            f">> {shlex.quote(str(log_path))} 2>&1"
        )
        lines.append(
            f"{sched.cron} mkdir -p {shlex.quote(str(log_path.parent))} && "
            + line.replace("%", "\\%")
        )  # crontab turns a bare % into a newline
    lines.append(end)
    return "\n".join(lines) + "\n"


def _cron_markers(project: Project) -> tuple[str, str]:
    return (f"# >>> scoutcrew {project.root} >>>", f"# <<< scoutcrew {project.root} <<<")


def merge_crontab(current: str, block: str, project: Project) -> str:
    """Replace this project's marked block in a crontab (or append it), keeping the rest."""
    begin, end = _cron_markers(project)
    kept, inside = [], False
    for line in current.splitlines():
        if line.strip() == begin:
            inside = True
        elif line.strip() == end and inside:
            inside = False
        elif not inside:
            kept.append(line)
    text = "\n".join(kept).rstrip("\n")
    return (text + "\n\n" if text else "") + block


def install_cron(project: Project, block: str, crontab: list[str] | None = None) -> str:
    """Merge `block` into the user's crontab with `crontab -l` / `crontab -`; return it."""
    crontab = crontab or ["crontab"]
    try:
        listed = subprocess.run([*crontab, "-l"], capture_output=True, text=True, timeout=30)
    except FileNotFoundError as exc:
        raise ScheduleInstallError(
            f"'{crontab[0]}' not found: install cron (e.g. apt install cron) or use --systemd"
        ) from exc
    if listed.returncode == 0:
        current = listed.stdout
    elif "no crontab" in listed.stderr.lower():
        current = ""
    else:
        raise ScheduleInstallError(f"`crontab -l` failed: {listed.stderr.strip()}")
    merged = merge_crontab(current, block, project)
    written = subprocess.run(
        [*crontab, "-"], input=merged, capture_output=True, text=True, timeout=30
    )
    if written.returncode != 0:
        raise ScheduleInstallError(f"`crontab -` refused the new crontab: {written.stderr.strip()}")
    return merged


def unit_prefix(project: Project) -> str:
    """scoutcrew-<project folder>-: unit names stay apart when several projects are installed."""
    return "scoutcrew-" + re.sub(r"[^A-Za-z0-9_-]+", "-", project.root.name).strip("-") + "-"


def systemd_units(
    project: Project, schedules: dict[str, Schedule], command: list[str]
) -> dict[str, str]:
    """A oneshot service and a timer per scheduled crew, keyed by file name."""
    marker = f"# scoutcrew project: {project.root}"
    env = "\n".join(f"Environment={_sd_quote(f'{k}={v}')}" for k, v in _run_env(project).items())
    exec_start = " ".join(_sd_quote(p) for p in [*command, "--project", str(project.root)])
    units = {}
    for crew, sched in sorted(schedules.items()):
        name = f"{unit_prefix(project)}{crew}"
        units[f"{name}.service"] = (
            f"{marker}\n"
            "# written by `scoutcrew schedule install --systemd`; re-run it after edits\n"
            f"[Unit]\nDescription=scoutcrew report: {crew} ({project.root})\n\n"
            f"[Service]\nType=oneshot\nWorkingDirectory={_sd_quote(str(project.root))}\n{env}\n"
            f"ExecStart={exec_start} run {crew}\n"
            "# SIGINT lets the run record itself as interrupted before it exits.\n"
            "KillSignal=SIGINT\nTimeoutStopSec=60\n"
        )
        calendars = "\n".join(f"OnCalendar={c}" for c in on_calendar(sched.cron, sched.timezone))
        units[f"{name}.timer"] = (
            f"{marker}\n# cron: {sched.cron}\n"
            f"[Unit]\nDescription=scoutcrew schedule: {crew} ({sched.cron})\n\n"
            f"[Timer]\n{calendars}\n"
            "# Catch up a run missed while the machine was off, once, at the next boot.\n"
            "Persistent=true\n\n[Install]\nWantedBy=timers.target\n"
        )
    return units


def _sd_quote(value: str) -> str:
    value = value.replace("%", "%%")  # systemd expands %-specifiers
    if re.search(r"[\s\"'\\;]", value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def install_systemd(
    project: Project,
    units: dict[str, str],
    unit_dir: Path | None = None,
    systemctl: list[str] | None = None,
) -> list[str]:
    """Write the units (replacing this project's old ones) and enable the timers.

    Returns the systemctl commands; they are run only when `systemctl` is given.
    """
    unit_dir = unit_dir or Path.home() / ".config" / "systemd" / "user"
    unit_dir.mkdir(parents=True, exist_ok=True)
    marker = f"# scoutcrew project: {project.root}\n"
    stale = []
    for path in unit_dir.glob("scoutcrew-*"):
        if path.name not in units and path.read_text(errors="replace").startswith(marker):
            stale.append(path.name)
            path.unlink()
    for name, text in units.items():
        tmp = unit_dir / f".{name}.tmp"
        tmp.write_text(text)
        os.replace(tmp, unit_dir / name)
    timers = sorted(n for n in units if n.endswith(".timer"))
    base = systemctl or ["systemctl", "--user"]
    commands = [[*base, "daemon-reload"]]
    commands += [[*base, "disable", "--now", n] for n in stale if n.endswith(".timer")]
    if timers:
        commands.append([*base, "enable", "--now", *timers])
    if systemctl is not None:
        for cmd in commands:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            if done.returncode != 0:
                raise ScheduleInstallError(
                    f"`{' '.join(cmd)}` failed: {done.stderr.strip()}; the unit files are in "
                    f"{unit_dir}: run the command yourself once the user session is up"
                )
    return [" ".join(cmd) for cmd in commands]
