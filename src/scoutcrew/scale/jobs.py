"""One crew run in a worker process, and the bookkeeping both executors share.

Each crew run happens in a worker process, never in the caller's: crewai keeps module-level
caches that only grow, and a crash in one run must not take the batch down. Worker processes
are recycled after RUNS_PER_PROCESS runs, which bounds that growth without paying crewai's
import (seconds) for every run. A failed run is retried once (drive), then reported.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.project import HOME_ENV, Project
from ..errors import (
    ConfigError,
    InvalidModelSpec,
    MissingInput,
    ProjectNotFound,
    ScoutcrewError,
    UnknownCrew,
)

if TYPE_CHECKING:
    from ..run.options import RunOptions, RunResult

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


def default_jobs() -> int:
    try:
        return max(1, int(os.environ.get("OLLAMA_NUM_PARALLEL", "1")))
    except ValueError:
        return 1


def report_dir(project: Project, crew: str, options: RunOptions) -> Path:
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
    from ..run.execute import run_crew

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
        hosts = sorted({r.host for r in usage if r.host})
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


def _report_files(result: RunResult, job: dict[str, Any]) -> dict[str, str]:
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
    from ..store.db import Store
    from ..store.runs import get_run

    try:
        with Store.open(project.data_dir / "scoutcrew.sqlite") as store:
            return get_run(store, run_id)
    except (OSError, sqlite3.Error, ScoutcrewError):  # the report still comes back
        return None


def _utc_now() -> str:
    from ..store.runs import now

    return now()


def _failed_run(project: Project, crew: str, since: str) -> dict[str, Any] | None:
    """The record of this crew's run that just failed on this node, if it got that far."""
    from ..store.db import Store
    from ..store.runs import last_run

    try:
        with Store.open(project.data_dir / "scoutcrew.sqlite") as store:
            row = last_run(store, crew)
    except (OSError, sqlite3.Error):
        return None
    if row is None or row.started_at < since:
        return None
    return _run_record(project, row.id)


def outcome(data: dict[str, Any], attempts: int, report: Path | None = None) -> CrewOutcome:
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


def drive(
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


def _short_host(url: str) -> str:
    return url.split("://", 1)[-1]
