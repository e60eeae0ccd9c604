"""`scoutcrew schedule list|run|install`: the scheduler's commands."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..config.project import find_project
from ..schedule.daemon import (
    FINISH_TIMEOUT,
    INTERRUPT_TIMEOUT,
    TICK,
    entries_for,
    format_schedule_list,
    load_schedules,
    log,
    run_daemon,
)
from ..schedule.install import (
    cron_block,
    install_cron,
    install_schedules,
    install_systemd,
    scoutcrew_command,
    systemd_units,
)


def add_schedule_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `scoutcrew schedule list|run|install` to the CLI's subparsers."""
    p = subparsers.add_parser("schedule", help="run crews on their cron schedules")
    p.set_defaults(func=cmd_schedule_list)
    actions = p.add_subparsers(title="schedule commands", metavar="ACTION")

    a = actions.add_parser("list", help="scheduled crews, next run, last status")
    a.set_defaults(func=cmd_schedule_list)

    a = actions.add_parser("run", help="run scheduled crews until stopped (foreground)")
    a.add_argument(
        "--max-parallel",
        type=int,
        default=1,
        metavar="N",
        help="reports running at once (default 1: local models share one machine)",
    )
    a.add_argument(
        "--finish-timeout",
        type=float,
        default=FINISH_TIMEOUT,
        metavar="S",
        help="on stop, seconds a running report may take to finish (default %(default)s)",
    )
    a.add_argument(
        "--interrupt-timeout",
        type=float,
        default=INTERRUPT_TIMEOUT,
        metavar="S",
        help="then seconds after interrupting it before it is killed (default %(default)s)",
    )
    a.add_argument("--tick", type=float, default=TICK, help=argparse.SUPPRESS)
    a.set_defaults(func=cmd_schedule_run)

    a = actions.add_parser("install", help="print (or --write) crontab lines or systemd units")
    kind = a.add_mutually_exclusive_group(required=True)
    kind.add_argument("--cron", action="store_true", help="crontab lines calling `scoutcrew run`")
    kind.add_argument("--systemd", action="store_true", help="a systemd user timer per crew")
    a.add_argument("--write", action="store_true", help="install them for the current user")
    a.add_argument(
        "--unit-dir",
        metavar="DIR",
        help="systemd unit folder "
        "(default ~/.config/systemd/user; with it, systemctl is not called)",
    )
    a.add_argument("--crontab-command", default="crontab", metavar="CMD", help=argparse.SUPPRESS)
    a.set_defaults(func=cmd_schedule_install)


def cmd_schedule_list(args: argparse.Namespace) -> int:
    project = find_project(args.project)
    loaded = load_schedules(project)
    print(format_schedule_list(entries_for(project, loaded.schedules)))
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if loaded.problems:
        print("problems (the crews concerned are not scheduled until fixed):", file=sys.stderr)
        for problem in loaded.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    return 0


def cmd_schedule_run(args: argparse.Namespace) -> int:
    project = find_project(args.project)
    # The daemon's lines carry a timestamp: it runs for months.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if getattr(args, "debug", False) else logging.INFO)
    log.propagate = False
    try:
        return run_daemon(
            project,
            tick=args.tick,
            max_parallel=args.max_parallel,
            finish_timeout=args.finish_timeout,
            interrupt_timeout=args.interrupt_timeout,
        )
    finally:
        log.removeHandler(handler)
        log.propagate = True


def cmd_schedule_install(args: argparse.Namespace) -> int:
    """`scoutcrew schedule install --cron|--systemd [--write]`."""
    project = find_project(args.project)
    schedules = install_schedules(project)
    command = scoutcrew_command()
    if not schedules:
        print("no crew has a schedule: nothing to install", file=sys.stderr)
    if args.cron:
        block = cron_block(project, schedules, command)
        if not args.write:
            print(block, end="")
            return 0
        install_cron(project, block, args.crontab_command.split())
        print(f"crontab updated: {len(schedules)} crew(s) of {project.root}", file=sys.stderr)
        return 0
    units = systemd_units(project, schedules, command)
    if not args.write:
        for name, text in units.items():
            print(f"### {name}\n{text}")
        return 0
    unit_dir = Path(args.unit_dir).expanduser() if args.unit_dir else None
    commands = install_systemd(
        project, units, unit_dir, None if unit_dir else ["systemctl", "--user"]
    )
    where = unit_dir or Path.home() / ".config" / "systemd" / "user"
    print(f"wrote {len(units)} unit file(s) to {where}", file=sys.stderr)
    if unit_dir:
        print("activate them with:\n  " + "\n  ".join(commands), file=sys.stderr)
    return 0
