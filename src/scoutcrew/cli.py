"""The `scoutcrew` command: a thin layer over the library. Errors become messages here."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .config.project import Project, find_project
from .errors import ConfigError, Interrupted, ScoutcrewError
from .text.untrusted import strip_controls

DEBUG_ENV = "SCOUTCREW_DEBUG"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (also used by the console script).

    Without `argv` this is the process's own command line (the console script), and an
    interrupted run may end the process at once (see `finish_process`).
    """
    code = _main(argv)
    return finish_process(code) if argv is None else code


def _main(argv: Sequence[str] | None) -> int:
    from .serve.runner import follow_lifeline

    follow_lifeline()  # a run the web app or the MCP server started ends when they do
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get(DEBUG_ENV, "") not in {"", "0"}
    # Our own messages at INFO; libraries (crewai, httpx...) only when something is wrong.
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(message)s" if not debug else "%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("scoutcrew").setLevel(logging.DEBUG if debug else logging.INFO)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt as exc:  # errors.Interrupted says how to resume the run
        print(str(exc) or "interrupted", file=sys.stderr)
        if isinstance(exc, Interrupted):
            _run_interrupted.set()
        return 130
    except OSError as exc:  # the file system said no: name the file and the way out
        if debug or exc.errno not in _FILE_FAULTS:
            raise
        what = f" {exc.filename}" if exc.filename else ""
        print(
            f"error: cannot write{what}: {exc.strerror}; {_FILE_FAULTS[exc.errno]}",
            file=sys.stderr,
        )
        return 1
    except ScoutcrewError as exc:
        if debug:
            raise
        if isinstance(exc, ConfigError):
            print(f"error: {len(exc.problems)} problem(s) in the configuration:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {strip_controls(problem)}", file=sys.stderr)
        else:
            print(f"error: {strip_controls(str(exc))}", file=sys.stderr)
        return exc.exit_code


_WHERE = "or set SCOUTCREW_HOME (data) and --output (reports) to a folder you can write"
_FILE_FAULTS = {
    errno.EACCES: f"give yourself write access to it, {_WHERE}",
    errno.EPERM: f"give yourself write access to it, {_WHERE}",
    errno.EROFS: f"it is on a read-only file system: {_WHERE.removeprefix('or ')}",
    errno.ENOSPC: f"the disk is full: free some space, {_WHERE}",
    errno.EDQUOT: f"your disk quota is used up: free some space, {_WHERE}",
    errno.EFBIG: f"the file may not grow any larger (disk full or a size limit), {_WHERE}",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scoutcrew",
        description="A local research crew: YAML-defined agents on your own models.",
    )
    parser.add_argument("--version", action="version", version=f"scoutcrew {__version__}")
    parser.add_argument("--project", metavar="DIR", help="project folder (default: search upward)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("validate", help="check every YAML file")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("list", help="list crews, agents and tasks")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("run", help="run a crew and write its report")
    p.add_argument("crew", nargs="?", help="crew name (default: the project's default crew)")
    _run_options(p)
    p.add_argument(
        "--review-plan",
        action="store_true",
        help="research crews: stop after the plan, to edit it before `scoutcrew resume RUN`",
    )
    p.add_argument(
        "--review-evidence",
        action="store_true",
        help="stop before the crew writes, to drop stories or sources, then `scoutcrew resume RUN`",
    )
    p.add_argument(
        "--no-preferences",
        action="store_true",
        help="rank as if you had rated nothing (your ratings stay; see `scoutcrew prefs CREW`)",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("plan", help="gather evidence and estimate tokens, without any model")
    p.add_argument("crew")
    p.add_argument("--input", "-i", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--model", metavar="SPEC[,SPEC...]", help="override every agent's model")
    p.add_argument("--backend", choices=["auto", "ollama", "embedded"])
    p.add_argument("--all-items", action="store_true", help="not only items new since last run")
    _budget_options(p)
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("runs", help="list recent runs with their token totals")
    p.add_argument("crew", nargs="?", help="only this crew's runs")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("show", help="show one run: tasks, model calls, tokens")
    p.add_argument("run", help="run id (a unique prefix is enough)")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("resume", help="continue a failed or interrupted run")
    p.add_argument("run", help="run id (a unique prefix is enough)")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("doctor", help="check each backend and the models the crews use")
    p.add_argument("--model", metavar="SPEC[,SPEC...]", help="check these models instead")
    p.add_argument("--backend", choices=["auto", "ollama", "embedded"], help="default: auto")
    p.add_argument(
        "--probe",
        metavar="MODEL",
        help="measure what a model can do (JSON schema, ids, output cap, tools, context, speed)",
    )
    p.set_defaults(func=cmd_doctor)

    from .commands.batch import add_batch_command
    from .commands.prefs import add_prefs_commands
    from .commands.schedule import add_schedule_commands
    from .commands.serve import add_serve_commands

    add_schedule_commands(sub)
    add_batch_command(sub)
    add_serve_commands(sub)
    add_prefs_commands(sub)
    _global_options_after_commands(parser)
    return parser


def _global_options_after_commands(parser: argparse.ArgumentParser) -> None:
    """Accept --project and --debug after a command too (`scoutcrew run demo --project DIR`).

    Each command's own copy has no default, so one given before the command still counts.
    """
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for command in {id(p): p for p in action.choices.values()}.values():
            command.add_argument(
                "--project", metavar="DIR", default=argparse.SUPPRESS, help=argparse.SUPPRESS
            )
            command.add_argument(
                "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
            )
            _global_options_after_commands(command)


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--input", "-i", action="append", default=[], metavar="KEY=VALUE", help="fill {KEY}"
    )
    p.add_argument("--model", metavar="SPEC[,SPEC...]", help="override every agent's model chain")
    p.add_argument("--output", metavar="DIR", help="report folder (default: reports/)")
    p.add_argument("--backend", choices=["auto", "ollama", "embedded"], help="default: auto")
    p.add_argument(
        "--all-items", action="store_true", help="use all items, not only those new since last run"
    )
    p.add_argument(
        "--notes-on-ray",
        metavar="ADDRESS",
        help="take the notes on a Ray cluster ('auto': the local one), one 'ollama' slot per call",
    )
    _budget_options(p)


def _budget_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group(
        "budget", "cap the run's model work (overrides the crew's budget:; 0 = no cap)"
    )
    group.add_argument("--budget-prompt-tokens", type=int, metavar="N")
    group.add_argument("--budget-output-tokens", type=int, metavar="N")
    group.add_argument("--budget-minutes", type=float, metavar="M")


def _project(args: argparse.Namespace) -> Project:
    return find_project(args.project)


def cmd_validate(args: argparse.Namespace) -> int:
    from .config.schema import load_config

    project = _project(args)
    config = load_config(project)
    for warning in config.warnings:
        print(f"warning: {strip_controls(warning)}", file=sys.stderr)
    if config.problems:
        raise ConfigError(config.problems)
    warned = f" ({len(config.warnings)} warning(s) above)" if config.warnings else ""
    print(
        f"ok: {len(config.agents)} agents, {len(config.tasks)} tasks, "
        f"{len(config.crews)} crews in {project.root}{warned}"
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from .config.schema import load_config

    project = _project(args)
    config = load_config(project)
    # One bad file must not hide the rest: list what loaded, mark what did not.
    print("crews:")
    for name in project.crew_names():
        default = " [default]" if name == project.default_crew else ""
        crew = config.crews.get(name)
        if crew is None:
            own = [p for p in config.problems if p.startswith(f"crews/{name}.yaml")]
            why = own[0] if own else "an agent or task it uses has a problem (below)"
            print(f"  {name:<16} (not loaded{default}: {_one_line(why, 100)})")
            continue
        needs = config.required_inputs(name)
        extra = f"  (needs --input {', '.join(needs)})" if needs else ""
        print(f"  {name:<16} {crew.description}{default}{extra}")
    print("agents:")
    for name, agent in sorted(config.agents.items()):
        print(f"  {name:<16} {agent.role}: {_one_line(agent.goal)}  [{', '.join(agent.chain)}]")
    print("tasks:")
    for name, task in sorted(config.tasks.items()):
        print(f"  {name:<16} ({task.agent}) {_one_line(task.expected_output)}")
    if config.problems:
        print(f"error: {len(config.problems)} problem(s) in the configuration:", file=sys.stderr)
        for problem in config.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    return 0


def _one_line(text: str, width: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def _options(args: argparse.Namespace):  # -> RunOptions
    from .config.models import parse_model_override
    from .config.plan import parse_inputs
    from .run.options import RunOptions

    return RunOptions(
        inputs=parse_inputs(args.input),
        model=parse_model_override(args.model) if args.model else None,
        output_dir=Path(args.output).resolve() if getattr(args, "output", None) else None,
        backend=args.backend,
        all_items=args.all_items,
        review_plan=bool(getattr(args, "review_plan", False)),
        review_evidence=bool(getattr(args, "review_evidence", False)),
        preferences=not getattr(args, "no_preferences", False),
        budget={
            key: value
            for key in ("prompt_tokens", "output_tokens", "minutes")
            if (value := getattr(args, f"budget_{key}", None)) is not None
        },
    )


def cmd_run(args: argparse.Namespace) -> int:
    from .commands.progress import Progress
    from .run.execute import run_crew

    project = _project(args)
    crew = args.crew or project.default_crew
    options = _options(args)
    if args.notes_on_ray:
        from .scale.ray_notes import ray_reader_factory

        options.reader_factory = ray_reader_factory(args.notes_on_ray)
    progress = Progress()
    try:
        result = run_crew(project, crew, options, progress=progress)
    finally:
        progress.close()
    return _finish(result)


# Exit statuses: 0 ok (or nothing new), 1 failed, 3 partial (a report was written, but some
# new items were not read: budget or model errors; they stay new for the next run).
EXIT_PARTIAL = 3


def _finish(result) -> int:  # result: pipeline.RunResult
    if result.status in {"nothing-new", "paused"}:
        print(result.message, file=sys.stderr)
        return 0
    if result.summary:
        print(result.summary, file=sys.stderr)
    if result.status == "partial":
        print(result.message, file=sys.stderr)
    print(result.report)
    return EXIT_PARTIAL if result.status == "partial" else 0


def cmd_plan(args: argparse.Namespace) -> int:
    from .run.estimate import plan_crew

    project = _project(args)
    print(strip_controls(plan_crew(project, args.crew, _options(args))))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from .store.db import Store
    from .store.runs import format_runs, list_runs, mark_dead_runs

    project = _project(args)
    with Store.open(project.data_dir / "scoutcrew.sqlite") as store:
        mark_dead_runs(store, project)
        print(strip_controls(format_runs(list_runs(store, args.crew, args.limit))))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from .store.db import Store
    from .store.runs import format_run, get_run, mark_dead_runs

    project = _project(args)
    with Store.open(project.data_dir / "scoutcrew.sqlite") as store:
        mark_dead_runs(store, project)
        run = get_run(store, args.run)
    print(strip_controls(format_run(run)))
    from .run.checkpoint import research_state

    state = research_state(project.data_dir, run["id"])  # only research runs have a trail
    if state:
        from .research.result import format_trail

        print("")
        print(strip_controls(format_trail(state)))
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    from .commands.progress import Progress
    from .run.execute import resume_run

    progress = Progress()
    try:
        result = resume_run(_project(args), args.run, progress=progress)
    finally:
        progress.close()
    return _finish(result)


def cmd_doctor(args: argparse.Namespace) -> int:
    from .config.models import parse_model_override
    from .config.schema import crew_chains, load_config
    from .llm.doctor import format_doctor, probe_lines, run_doctor
    from .llm.ledger import UsageLedger
    from .run.execute import make_runtime

    project = _project(args)
    if args.probe:
        runtime = make_runtime(project, args.backend, UsageLedger())
        lines = probe_lines(runtime, parse_model_override(args.probe))
        print(format_doctor(lines))
        return 0 if all(line.ok for line in lines) else 1
    if args.model:
        specs = parse_model_override(args.model)
        chains = {"--model": [specs]}
    else:
        config = load_config(project)
        if config.problems:
            raise ConfigError(config.problems)
        specs = sorted({spec for agent in config.agents.values() for spec in agent.chain})
        chains = crew_chains(config)
        specs = sorted({*specs, *(s for crew in chains.values() for c in crew for s in c)})
    runtime = make_runtime(project, args.backend, UsageLedger())
    lines = run_doctor(runtime, specs, chains)
    print(format_doctor(lines))
    return 0 if all(getattr(line, "ok", True) for line in lines) else 1


def entry() -> None:
    sys.exit(main())


_run_interrupted = threading.Event()


def finish_process(code: int) -> int:
    """Return the exit status; after an interrupted run, end the process at once.

    At interpreter exit crewai flushes its event bus and waits for its handler threads, and
    the embedded model's teardown waits for a generation that Ctrl-C abandoned: seconds
    either way. The run is already recorded and the store closed, so flush the output and
    leave now: Ctrl-C means stop.
    """
    if code == 130 and _run_interrupted.is_set():
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    return code


if __name__ == "__main__":
    entry()
