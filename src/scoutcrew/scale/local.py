"""Run many crews at once: in a local process pool, or as Ray tasks spread over Ollama hosts.

Each crew run happens in a worker process, never in the caller's: crewai keeps module-level
caches that only grow, and a crash in one run must not take the batch down. Worker processes
are recycled after RUNS_PER_PROCESS runs, which bounds that growth without paying crewai's
import (seconds) for every run.

On Ray, each run is a task that asks for one unit of the custom resource "ollama". A node
started with `ray start --resources='{"ollama": N}'` (N = that machine's OLLAMA_NUM_PARALLEL)
therefore never runs more than N crews at once, and each task talks to the Ollama of the node
it landed on. Ray does the placement; this module only submits, retries once and collects.
Report files and run records travel back to the driver, which writes them into its own
reports folder and store, so a batch over several machines ends with everything in one place.

Ray is an optional extra (`pip install 'scoutcrew[ray]'`) and is imported only on that path.
"""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config.project import HOME_ENV, Project
from ..errors import (
    ConfigError,
    InvalidModelSpec,
    MissingInput,
    ProjectNotFound,
    ScoutcrewError,
    UnknownCrew,
)

# Where a node's Ollama is, set in the environment of `ray start` on that node. Without it the
# task uses OLLAMA_HOST from the same environment, else the LLM layer's default (localhost).
NODE_HOST_ENV = "SCOUTCREW_NODE_OLLAMA_HOST"
# A node-local data folder for runs on machines other than the driver's.
NODE_HOME_ENV = "SCOUTCREW_NODE_HOME"
RESOURCE = "ollama"
RUNS_PER_PROCESS = 8
# Failures a second attempt cannot fix: the same config gives the same error, before any model
# is called. Everything else (a host down, a timeout, a crashed worker) is retried once.
PERMANENT_ERRORS = (ConfigError, MissingInput, UnknownCrew, ProjectNotFound, InvalidModelSpec)


class BatchError(ScoutcrewError):
    """A batch could not start: a bad executor setting or a Ray cluster without Ollama nodes."""


@dataclass
class CrewOutcome:
    """How one crew of a batch ended."""

    crew: str
    status: str  # "ok" | "nothing-new" | "failed"
    report: Path | None = None
    hosts: list[str] = field(default_factory=list)  # the Ollama host(s) its calls went to
    node: str | None = None  # the machine (or Ray node) it ran on
    attempts: int = 0
    error: str | None = None
    run_id: str | None = None
    message: str = ""  # e.g. why nothing was new
    seconds: float = 0.0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass
class BatchResult:
    """Every crew's outcome, in the order the crews were given."""

    executor: str
    outcomes: list[CrewOutcome]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)

    @property
    def failed(self) -> list[CrewOutcome]:
        return [o for o in self.outcomes if not o.ok]

    def table(self) -> str:
        """Format the outcomes as a fixed-width table for the terminal."""
        lines = [
            f"{'CREW':<20} {'STATUS':<12} {'HOST':<28} {'TRIES':>5} {'CALLS':>5} "
            f"{'TOKENS':>8} {'SECS':>6}  REPORT / ERROR"
        ]
        for o in self.outcomes:
            host = ",".join(_short_host(h) for h in o.hosts) or "-"
            detail = str(o.report) if o.report else (o.error or o.message or "-")
            lines.append(
                f"{o.crew:<20} {o.status:<12} {host:<28} {o.attempts:>5} {o.calls:>5} "
                f"{o.prompt_tokens + o.completion_tokens:>8} {o.seconds:>6.1f}  {detail}"
            )
        done = sum(o.ok for o in self.outcomes)
        lines.append(
            f"{done}/{len(self.outcomes)} crews succeeded in {self.seconds:.1f} s "
            f"({self.executor} executor)"
        )
        return "\n".join(lines)


# -- the library API ---------------------------------------------------------------------------


def run_batch(
    project: Project,
    crews: Sequence[str] | None = None,
    *,
    executor: str = "local",
    address: str | None = None,
    jobs: int | None = None,
    hosts: Mapping[str, str] | None = None,
    options: Any = None,
    progress: Callable[[str], None] | None = None,
) -> BatchResult:
    """Run `crews` (default: every crew of the project) and return each one's outcome.

    executor "local": a pool of `jobs` worker processes (default $OLLAMA_NUM_PARALLEL or 1),
    all using OLLAMA_HOST. executor "ray": one Ray task per crew, each holding one "ollama"
    resource; `address` joins an existing cluster ("auto" or host:port), without it a local
    Ray instance with `jobs` ollama slots is started. `hosts` maps a Ray node (its IP address
    or node id) to the Ollama URL its tasks use, overriding the node's own environment.
    """
    from ..config.schema import load_config
    from ..pipeline import RunOptions

    say = progress or (lambda message: None)
    options = options or RunOptions()
    config = load_config(project)
    if config.problems:
        raise ConfigError(config.problems)
    names = list(crews) if crews else sorted(config.crews)
    unknown = [name for name in names if name not in config.crews]
    if unknown:
        known = ", ".join(sorted(config.crews)) or "none"
        raise UnknownCrew(f"no crew {', '.join(map(repr, unknown))}: crews are {known}")
    if not names:
        raise BatchError(f"no crews to run: add crew files under {project.crews_dir}")
    if len(set(names)) != len(names):
        raise BatchError("a crew is named twice: each crew may run once per batch")
    # Decide the backend here so every worker, on any machine, uses the same one.
    backend = options.backend or os.environ.get("SCOUTCREW_BACKEND")
    options = replace(options, backend=backend)
    # Create (or migrate) the store once, before several processes open it at the same moment.
    from ..store import Store

    Store.open(project.data_dir / "scoutcrew.sqlite").close()
    started = time.monotonic()
    if executor == "local":
        if hosts:
            raise BatchError(
                "--host maps Ray nodes to Ollama hosts; with the local executor set OLLAMA_HOST"
            )
        outcomes = _run_local(project, names, options, jobs or _default_jobs(), say)
    elif executor == "ray":
        from .ray_cluster import run_ray

        outcomes = run_ray(project, names, options, address, jobs, hosts or {}, say)
    else:
        raise BatchError(f"unknown executor '{executor}': use 'local' or 'ray'")
    order = {name: i for i, name in enumerate(names)}
    outcomes.sort(key=lambda o: order[o.crew])
    return BatchResult(executor, outcomes, time.monotonic() - started)


def _default_jobs() -> int:
    try:
        return max(1, int(os.environ.get("OLLAMA_NUM_PARALLEL", "1")))
    except ValueError:
        return 1


def report_dir(project: Project, crew: str, options: Any) -> Path:
    """Where the driver keeps this crew's reports (the same rule as a single run)."""
    if options.output_dir:
        return Path(options.output_dir)
    from ..config.schema import load_config

    configured = load_config(project, only_crew=crew).crews[crew].output.dir
    return (project.root / configured).resolve() if configured else project.reports_dir


# -- one crew run, inside a worker process (local pool or Ray) ---------------------------------


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """Run one crew in this process and describe the result as plain, picklable data.

    A ScoutcrewError becomes a "failed" result with its message; anything else propagates,
    so the executor sees it as a crash and retries it.
    """
    from ..config.project import find_project
    from ..pipeline import run_crew

    started = time.monotonic()
    since = _utc_now()
    saved = {key: os.environ.get(key) for key in ("OLLAMA_HOST", HOME_ENV)}
    try:
        if job.get("ollama_host"):
            os.environ["OLLAMA_HOST"] = job["ollama_host"]
        if job.get("data_dir"):
            os.environ[HOME_ENV] = job["data_dir"]
        project = find_project(job["root"])
        base = {"crew": job["crew"], "node": job.get("node") or socket.gethostname()}
        try:
            result = run_crew(project, job["crew"], job["options"], progress=_quiet)
        except ScoutcrewError as exc:
            failed_run = _failed_run(project, job["crew"], since) if job.get("return_run") else None
            return {
                **base,
                "status": "failed",
                "error": f"{type(exc).__name__}: {exc}",
                "permanent": isinstance(exc, PERMANENT_ERRORS),
                "run_id": failed_run["id"] if failed_run else None,
                "run": failed_run,
                "seconds": time.monotonic() - started,
            }
        usage = list(result.usage or [])
        hosts = sorted({r.host for r in usage if getattr(r, "host", None)})
        return {
            **base,
            "status": result.status,
            "message": getattr(result, "message", "") or "",
            "report": str(result.report) if result.report else None,
            "files": _report_files(result, job) if job.get("return_files") else {},
            "run_id": result.run_id,
            "run": _run_record(project, result.run_id) if job.get("return_run") else None,
            "hosts": hosts or ([job["ollama_host"]] if job.get("ollama_host") and usage else []),
            "calls": len(usage),
            "prompt_tokens": sum(int(getattr(r, "prompt_tokens", 0) or 0) for r in usage),
            "completion_tokens": sum(int(getattr(r, "completion_tokens", 0) or 0) for r in usage),
            "seconds": time.monotonic() - started,
        }
    finally:
        for key, value in saved.items():  # the process is reused for the next run
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _quiet(message: str) -> None:
    pass


def _report_files(result: Any, job: dict[str, Any]) -> dict[str, str]:
    """Read the report files the run wrote, keyed by their path under the output folder."""
    out_dir = Path(job["options"].output_dir)
    files = {}
    for attr in ("json", "html", "md", "latest"):  # the order the report is written in
        path = getattr(result.paths, attr, None) if result.paths else None
        if path and Path(path).is_file():
            files[Path(path).relative_to(out_dir).as_posix()] = Path(path).read_text()
    return files


def _run_record(project: Project, run_id: str | None) -> dict[str, Any] | None:
    """Read the run's record from this node's store, to hand it to the driver's store."""
    if not run_id:
        return None
    from ..runs import get_run
    from ..store import Store

    try:
        with Store.open(project.data_dir / "scoutcrew.sqlite") as store:
            return get_run(store, run_id)
    except (OSError, sqlite3.Error, ScoutcrewError):  # the report still comes back
        return None


def _utc_now() -> str:
    from ..runs import now

    return now()


def _failed_run(project: Project, crew: str, since: str) -> dict[str, Any] | None:
    """The record of this crew's run that just failed on this node, if it got that far."""
    from ..runs import last_run
    from ..store import Store

    try:
        with Store.open(project.data_dir / "scoutcrew.sqlite") as store:
            row = last_run(store, crew)
    except (OSError, sqlite3.Error):
        return None
    if row is None or row.started_at < since:
        return None
    return _run_record(project, row.id)


def _outcome(data: dict[str, Any], attempts: int, report: Path | None = None) -> CrewOutcome:
    if report is None and data.get("report"):
        report = Path(data["report"])
    return CrewOutcome(
        crew=data["crew"],
        status=data["status"],
        report=report,
        hosts=list(data.get("hosts") or []),
        node=data.get("node"),
        attempts=attempts,
        error=data.get("error"),
        run_id=data.get("run_id"),
        message=data.get("message") or "",
        seconds=float(data.get("seconds") or 0.0),
        calls=int(data.get("calls") or 0),
        prompt_tokens=int(data.get("prompt_tokens") or 0),
        completion_tokens=int(data.get("completion_tokens") or 0),
    )


def _crashed(crew: str, exc: BaseException | None, attempts: int) -> CrewOutcome:
    return CrewOutcome(crew, "failed", attempts=attempts, error=f"{type(exc).__name__}: {exc}")


def _describe(outcome: CrewOutcome) -> str:
    where = ",".join(outcome.hosts) or outcome.node or "?"
    if outcome.ok:
        return f"{outcome.crew}: {outcome.status} on {where} ({outcome.seconds:.1f} s)"
    return f"{outcome.crew}: failed after {outcome.attempts} attempt(s): {outcome.error}"


def _should_retry(data: dict[str, Any] | None, attempts: int) -> bool:
    if attempts >= 2:
        return False
    return data is None or (data["status"] == "failed" and not data.get("permanent"))


def _drive(
    names: list[str],
    submit: Callable[[str], Any],
    wait_one: Callable[[list[Any]], tuple[Any, dict[str, Any] | None, BaseException | None]],
    finish: Callable[[dict[str, Any], int], CrewOutcome],
    say: Callable[[str], None],
    limit: int,
) -> list[CrewOutcome]:
    """Keep up to `limit` runs submitted, retry each failed run once, collect the outcomes."""
    queue = [(crew, 1) for crew in names]
    pending: dict[Any, tuple[str, int]] = {}
    outcomes: list[CrewOutcome] = []
    while queue or pending:
        while queue and len(pending) < limit:
            crew, attempt = queue.pop(0)
            pending[submit(crew)] = (crew, attempt)
        handle, data, error = wait_one(list(pending))
        crew, attempt = pending.pop(handle)
        if _should_retry(data, attempt):
            reason = data.get("error") if data else error
            say(f"{crew}: attempt {attempt} failed ({reason}), retrying")
            queue.insert(0, (crew, attempt + 1))
            continue
        try:
            outcome = finish(data, attempt) if data else _crashed(crew, error, attempt)
        except OSError as exc:  # the run succeeded but its report cannot be kept here
            outcome = _crashed(crew, exc, attempt)
        say(_describe(outcome))
        outcomes.append(outcome)
    return outcomes


# -- local executor ----------------------------------------------------------------------------


def _run_local(
    project: Project, names: list[str], options: Any, jobs: int, say: Callable[[str], None]
) -> list[CrewOutcome]:
    """Run the crews in a pool of `jobs` worker processes on this machine."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=min(jobs, len(names)),
            # spawn, not fork: the caller may hold threads (servers, crewai) fork would copy.
            mp_context=multiprocessing.get_context("spawn"),
            max_tasks_per_child=RUNS_PER_PROCESS,
        )

    template = {"root": str(project.root), "options": options, "data_dir": str(project.data_dir)}
    pools = [new_pool()]
    born: dict[Future, int] = {}  # which pool (by index) ran each run

    def submit(crew: str) -> Future:
        future = pools[-1].submit(run_one, {**template, "crew": crew})
        born[future] = len(pools) - 1
        return future

    def wait_one(futures: list[Future]) -> tuple[Future, dict[str, Any] | None, Exception | None]:
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        future = next(iter(done))
        try:
            return future, future.result(), None
        except Exception as exc:  # a worker died, or the run raised something unexpected
            # A dead worker breaks its whole pool, so every run still in it fails too and is
            # retried in a new pool (each counts an attempt: the pool cannot say whose died).
            if isinstance(exc, BrokenProcessPool) and born[future] == len(pools) - 1:
                pools[-1].shutdown(wait=False, cancel_futures=True)
                pools.append(new_pool())
            return future, None, exc

    try:
        return _drive(names, submit, wait_one, lambda d, n: _outcome(d, n), say, len(names))
    finally:
        pools[-1].shutdown(wait=True, cancel_futures=True)


def _short_host(url: str) -> str:
    return url.split("://", 1)[-1]


# -- the command -------------------------------------------------------------------------------


def add_batch_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add `scoutcrew batch` to the CLI's subcommands."""
    p = subparsers.add_parser(
        "batch",
        help="run many crews at once, locally or on a Ray cluster",
        description="Run many crews: in a local process pool, or as Ray tasks that each hold "
        "one 'ollama' slot of the node they run on.",
    )
    p.add_argument("crews", nargs="*", metavar="CREW", help="crews to run")
    p.add_argument("--all", action="store_true", help="run every crew of the project")
    p.add_argument("--executor", choices=["local", "ray"], default="local")
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="Ray cluster to join ('auto' or HOST:PORT); default: start a local Ray instance",
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        metavar="N",
        help="runs at once (local: processes, default $OLLAMA_NUM_PARALLEL or 1; "
        "ray: slots of the local instance, or a cap on a cluster)",
    )
    p.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="NODE=URL",
        help="ray: the Ollama URL for the tasks on NODE (IP or node id); repeatable",
    )
    p.add_argument("--input", "-i", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--model", metavar="SPEC[,SPEC...]", help="override every agent's model chain")
    p.add_argument("--output", metavar="DIR", help="report folder (default: reports/)")
    p.add_argument("--backend", choices=["auto", "ollama", "embedded"], help="default: auto")
    p.add_argument("--all-items", action="store_true", help="not only items new since last run")
    p.set_defaults(func=cmd_batch)
    return p


def cmd_batch(args: argparse.Namespace) -> int:
    """Run the batch the arguments describe; exit 1 if any crew failed."""
    from ..config.plan import parse_inputs
    from ..config.project import find_project
    from ..config.schema import parse_model_override
    from ..pipeline import RunOptions

    if args.all == bool(args.crews):
        raise BatchError("name the crews to run, or pass --all (not both)")
    project = find_project(args.project)
    options = RunOptions(
        inputs=parse_inputs(args.input),
        model=parse_model_override(args.model) if args.model else None,
        output_dir=Path(args.output).resolve() if args.output else None,
        backend=args.backend,
        all_items=args.all_items,
    )
    result = run_batch(
        project,
        None if args.all else args.crews,
        executor=args.executor,
        address=args.address,
        jobs=args.jobs,
        hosts=_parse_host_map(args.host),
        options=options,
        progress=lambda message: print(f"[scoutcrew] {message}", file=sys.stderr, flush=True),
    )
    print(result.table())
    return 0 if result.ok else 1


def _parse_host_map(pairs: list[str]) -> dict[str, str]:
    hosts = {}
    for pair in pairs:
        node, sep, url = pair.partition("=")
        if not sep or not node.strip() or not url.strip():
            raise BatchError(
                f"--host '{pair}' is not NODE=URL, e.g. 10.0.0.5=http://10.0.0.5:11434"
            )
        hosts[node.strip()] = url.strip()
    return hosts
