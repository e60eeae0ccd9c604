"""Run a crew, or continue a run: the lock, the run record, Ctrl-C, and the graph's thread.

This is the library API behind `scoutcrew run` and `scoutcrew resume`:

    run_crew(project, "demo", RunOptions(...))   # a new run: a new thread of the run graph
    resume_run(project, run_id)                  # the same thread, from its last checkpoint

A run stops for a person's review (a plan, or the evidence) as "paused"; resuming it hands
the reviewed file back to the graph. The run record (store/runs.py) follows every step and
call; it is the project's ledger, apart from LangGraph's checkpoints (run/checkpoint.py).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ..config.plan import Plan, build_plan
from ..config.project import Project
from ..config.schema import load_config
from ..errors import Interrupted, RunFailed, RunInterrupted, ScoutcrewError, cause_of
from .options import STORE_FILE, RunOptions, RunResult, run_budget

if TYPE_CHECKING:
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.types import Command, StateSnapshot

    from ..gather.search import Searcher, SearchFn
    from ..llm.ledger import UsageLedger
    from ..llm.runtime import LLMRuntime
    from ..store.db import Store
    from ..store.runs import RunRecorder
    from .context import RunContext
    from .state import RunState

log = logging.getLogger("scoutcrew")

Say = Callable[[str], None]


def load_plan(project: Project, crew: str, options: RunOptions) -> Plan:
    """Validate the shared YAML and this crew's file, then resolve the plan."""
    config = load_config(project, only_crew=crew)
    return build_plan(config, crew, options.inputs, options.model)


def run_crew(
    project: Project,
    crew: str,
    options: RunOptions | None = None,
    *,
    progress: Say | None = None,
    search_backend: Searcher | SearchFn | None = None,
) -> RunResult:
    """Run one crew and write its report. Raises ScoutcrewError subclasses on failure."""
    options = options or RunOptions()
    plan = load_plan(project, crew, options)  # a bad config stops here, before any heavy import
    return _execute(plan, options, progress=progress, search_backend=search_backend)


def resume_run(
    project: Project,
    run_id: str,
    *,
    progress: Say | None = None,
    search_backend: Searcher | SearchFn | None = None,
) -> RunResult:
    """Continue a failed, interrupted or paused run from its last finished step."""
    from ..store.db import Store
    from ..store.runs import get_run
    from .checkpoint import saved_state

    with Store.open(project.data_dir / STORE_FILE) as store:
        run = get_run(store, run_id)
    if run["status"] in {"ok", "nothing-new", "partial"}:
        hint = (
            f"; `scoutcrew run {run['crew']}` starts with the items it could not read"
            if run["status"] == "partial"
            else ""
        )
        raise RunFailed(
            f"run {run['id']} finished ({run['status']}); there is nothing to resume{hint}"
        )
    if saved_state(project.data_dir, run["id"]) is None and run.get("evidence"):
        raise RunFailed(
            f"run {run['id']} was recorded by an older scoutcrew that kept no checkpoints, so "
            f"it cannot be continued: `scoutcrew run {run['crew']}` starts afresh (items it "
            "read are not paid again: their notes are cached)"
        )
    options = RunOptions.from_record(run["inputs"], run["options"])
    plan = load_plan(project, run["crew"], options)
    return _execute(
        plan, options, progress=progress, search_backend=search_backend, resume=run["id"]
    )


def _execute(
    plan: Plan,
    options: RunOptions,
    *,
    progress: Say | None = None,
    search_backend: Searcher | SearchFn | None = None,
    resume: str | None = None,
) -> RunResult:
    from ..llm.ledger import CallRecord, UsageLedger
    from ..store.db import Store
    from ..store.locks import crew_lock
    from ..store.runs import RunRecorder, mark_stale

    say = progress or log.info
    project = plan.project
    started = time.monotonic()
    ledger = UsageLedger()
    runtime = make_runtime(project, options.backend, ledger)
    project.data_dir.mkdir(parents=True, exist_ok=True)
    with crew_lock(project, plan.crew), Store.open(project.data_dir / STORE_FILE) as store:
        mark_stale(store, plan.crew)  # we hold the lock: a "running" record is a dead run
        if resume is None:
            recorder = RunRecorder.start(
                store,
                plan.crew,
                cfg_hash=config_hash(plan),
                inputs={k: v for k, v in plan.inputs.items() if k not in {"today", "crew"}},
                options=options.to_record(),
            )
        else:
            recorder = RunRecorder(store, resume)
            recorder.finish("running")
            # Budgets and the report count the whole run, not only this process's calls.
            ledger.preload([CallRecord(**call) for call in recorder.calls()])
        ledger.subscribe(recorder.call)
        on_call = getattr(progress, "on_call", None)
        if on_call is not None:
            ledger.subscribe(on_call)
        runtime.replay = recorder.replay()  # answers this run was already given
        say(f"run {recorder.run_id}: crew {plan.crew}")
        try:
            with _interruptible(runtime):
                # `--backend ollama` never falls back: with Ollama down, stop before any work.
                planned = [*plan.agents.values(), *([plan.manager] if plan.manager else [])]
                runtime.require_ollama([spec for agent in planned for spec in agent.llm])
                result = _drive(plan, options, store, runtime, recorder, say, search_backend)
        except (KeyboardInterrupt, RunInterrupted) as exc:
            raise _interrupted(recorder) from exc
        except ScoutcrewError as exc:
            if runtime.aborted:  # a call failed because Ctrl-C aborted it
                raise _interrupted(recorder) from exc
            recorder.finish("failed", error=str(exc))
            _deliver(plan, "failure", None, str(exc), recorder.run_id)
            raise
        except Exception as exc:  # crewai and LangGraph wrap our errors; keep the cause visible
            if runtime.aborted:
                raise _interrupted(recorder) from exc
            cause = scoutcrew_cause(exc)
            error = cause or RunFailed(f"crew '{plan.crew}' failed: {type(exc).__name__}: {exc}")
            recorder.finish("failed", error=str(error))
            _deliver(plan, "failure", None, str(error), recorder.run_id)
            raise error from exc
        finally:
            runtime.close()
        if result.status in {"ok", "partial", "nothing-new"}:
            recorder.forget_replay()  # a finished run is never continued
    result.run_id = recorder.run_id
    result.usage = ledger.records
    if result.status in {"ok", "partial"}:
        from ..report.usage import summary_table

        elapsed = time.monotonic() - started
        result.summary = summary_table(ledger.records) + f"\nwall time: {elapsed:.1f} s"
        _deliver(plan, "success", result.report, result.summary, recorder.run_id)
    return result


def _drive(
    plan: Plan,
    options: RunOptions,
    store: Store,
    runtime: LLMRuntime,
    recorder: RunRecorder,
    say: Say,
    search_backend: Searcher | SearchFn | None,
) -> RunResult:
    """Start the run's thread, or continue it; end the run record as the graph ended."""
    from .checkpoint import checkpointer, thread
    from .context import RunContext
    from .graph import build_graph

    ctx = RunContext(
        plan=plan,
        options=options,
        store=store,
        runtime=runtime,
        recorder=recorder,
        budget=run_budget(plan, options),
        say=say,
        search_backend=search_backend,
    )
    config = thread(recorder.run_id)
    with checkpointer(plan.project.data_dir) as saver:
        graph = build_graph(saver)
        snapshot = graph.get_state(config)
        if not snapshot.values and not snapshot.next:
            graph.invoke({}, config, context=ctx, durability="sync")
        elif snapshot.interrupts:
            answer = _reviewed(ctx, snapshot.interrupts[0].value)
            graph.invoke(_command(answer), config, context=ctx, durability="sync")
        elif snapshot.next or not snapshot.values.get("status"):
            # A step whose answer was saved but not yet the checkpoint after it (the process
            # died in between) leaves no step to run next; going on applies what it saved.
            say(_where(saver, snapshot, recorder.run_id))
            graph.invoke(None, config, context=ctx, durability="sync")
        snapshot = graph.get_state(config)
        if snapshot.interrupts:
            return _pause(ctx, snapshot.interrupts[0].value)
        state: RunState = snapshot.values  # type: ignore[assignment]
    if not state.get("status"):
        raise RunFailed(f"run {recorder.run_id} stopped before its end; resume it again")
    return _ended(ctx, state)


def _ended(ctx: RunContext, state: RunState) -> RunResult:
    status = state["status"]
    message = state.get("message") or ""
    report = Path(state["report"]) if state.get("report") else None
    ctx.recorder.finish(status, report=str(report) if report else None, error=message or None)
    paths = None
    if report is not None:
        from ..report.files import ReportPaths

        paths = ReportPaths(
            md=report,
            html=report.with_suffix(".html"),
            json=report.with_suffix(".json"),
            latest=report.parent / "latest.md",
        )
    return RunResult(crew=ctx.plan.crew, status=status, report=report, paths=paths, message=message)


def _pause(ctx: RunContext, asked: dict[str, Any]) -> RunResult:
    """Write what a person reviews to a file; the run waits as "paused" until it is resumed."""
    data_dir, run_id = ctx.plan.project.data_dir, ctx.run_id
    if "questions" in asked:  # the research plan
        from ..research.run import format_plan, plan_file, write_plan

        path = write_plan(plan_file(data_dir, run_id), asked, run_id)
        shown = format_plan(asked)
        what = "plan"
    else:
        from .review import describe, review_file, write_review

        path = write_review(review_file(data_dir, run_id), asked, run_id)
        shown = "evidence for the crew:\n" + describe(asked)
        what = "evidence"
    ctx.recorder.finish("paused", error=f"waiting for {what} review ({path})")
    message = (
        f"{shown}\n{what} written to {path}: edit it if you like, then `scoutcrew resume {run_id}`"
    )
    return RunResult(crew=ctx.plan.crew, status="paused", message=message)


def _reviewed(ctx: RunContext, asked: dict[str, Any]) -> list[dict[str, Any]] | dict[str, Any]:
    """Read back what a person reviewed: the plan, or the evidence."""
    data_dir, run_id = ctx.plan.project.data_dir, ctx.run_id
    if "questions" in asked:
        from ..research.run import plan_file, read_plan

        path = plan_file(data_dir, run_id)
        ctx.say(f"research: continuing with the plan in {path}")
        return read_plan(path, asked)
    from .review import read_review, review_file

    path = review_file(data_dir, run_id)
    ctx.say(f"continuing with the evidence in {path}")
    return read_review(path, asked)


def _command(answer: object) -> Command[str]:
    from langgraph.types import Command

    return Command(resume=answer)


def _where(saver: SqliteSaver, snapshot: StateSnapshot, run_id: str) -> str:
    """Where a resumed run goes on, in words (inside the research loop: after its last step)."""
    from .checkpoint import loop_state

    trail = (loop_state(saver, snapshot, run_id) or {}).get("trail") or []
    if trail:
        return f"research: continuing after {trail[-1]['step']} (round {trail[-1]['round']})"
    if snapshot.next:
        return f"resuming at {', '.join(snapshot.next)}"
    return f"resuming after {', '.join(t.name for t in snapshot.tasks) or 'the last step'}"


def _interrupted(recorder: RunRecorder) -> Interrupted:
    """Record the run as interrupted; the error says how to continue it."""
    hint = f"interrupted; `scoutcrew resume {recorder.run_id}` continues it"
    recorder.finish("interrupted", error=hint)
    return Interrupted(hint)


@contextmanager
def _interruptible(runtime: LLMRuntime) -> Iterator[None]:
    """Make Ctrl-C and SIGTERM stop a run at once, even in the middle of a model call.

    crewai waits for the call in flight before a KeyboardInterrupt gets through; aborting the
    runtime first makes that call fail straight away (an Ollama stream is cut; an embedded
    generation is abandoned to its worker thread). The abort also stays set, so a
    KeyboardInterrupt that crewai swallows still stops the run at the next check. Outside
    the main thread (a library user's worker) signals cannot be handled, and nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        runtime.abort()
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def config_hash(plan: Plan) -> str:
    """Hash the YAML a run was planned from, so `show` can tell when it changed since."""
    from ..store.runs import config_hash as hash_texts

    project = plan.project
    files = [project.agents_file, project.tasks_file, project.crew_file(plan.crew)]
    return hash_texts(*[f.read_text(encoding="utf-8") for f in files if f.is_file()])


def _deliver(plan: Plan, status: str, report: Path | None, summary: str, run_id: str) -> None:
    """Tell the crew's webhook or command how the run ended; never fails the run."""
    delivery = plan.config.delivery
    if delivery is None:
        return
    from .deliver import deliver

    payload = {
        "crew": plan.crew,
        "status": status,
        "report": str(report) if report else None,
        "summary": summary if status == "success" else "",
        "error": summary if status == "failure" else None,
        "run_id": run_id,
    }
    deliver(plan.crew, delivery, payload, cwd=plan.project.root)


def make_runtime(project: Project, backend: str | None, ledger: UsageLedger) -> LLMRuntime:
    """The LLM runtime for one run: backend choice, num_ctx cap and data dir from the project."""
    import os

    from ..llm.runtime import LLMRuntime

    chosen = (
        backend
        or os.environ.get("SCOUTCREW_BACKEND")
        or str(project.settings.get("backend", "auto"))
    )
    return LLMRuntime(
        ledger=ledger,
        backend=chosen,
        default_num_ctx=int(project.settings.get("default_num_ctx", 8192)),
        data_dir=project.data_dir,
    )


def scoutcrew_cause(exc: BaseException) -> ScoutcrewError | None:
    return cause_of(exc, ScoutcrewError)
