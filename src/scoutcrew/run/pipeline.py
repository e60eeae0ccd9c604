"""One crew run, end to end: gather, select, notes, stories, crew, verify, publish.

This is the library API behind `scoutcrew run`; tests and users call `run_crew` directly.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config.plan import Plan, build_plan
from ..config.project import Project
from ..config.schema import load_config, placeholders
from ..errors import Interrupted, RunFailed, RunInterrupted, ScoutcrewError, cause_of

log = logging.getLogger("scoutcrew")

# crewai wraps each task prompt in its own scaffolding (role, format rules): about this many
# tokens, measured on crewai 1.15 with an agent that has no tools.
CREWAI_SCAFFOLD_TOKENS = 400
ANSWER_RESERVE_TOKENS = 1024
MIN_EVIDENCE_TOKENS = 256


@dataclass
class RunResult:
    """What a run produced."""

    crew: str
    status: str  # "ok" | "partial" | "nothing-new" | "failed" | "paused" (plan review)
    report: Path | None = None
    paths: Any = None
    run_id: str | None = None
    usage: list[Any] = field(default_factory=list)
    summary: str = ""
    message: str = ""


@dataclass
class RunOptions:
    inputs: dict[str, str] = field(default_factory=dict)
    model: list[str] | None = None
    output_dir: Path | None = None
    backend: str | None = None
    all_items: bool = False
    review_plan: bool = False  # research crews: stop after the plan for a person to edit it
    # Overrides of the crew's budget: prompt_tokens, output_tokens, minutes (0 = no cap).
    budget: dict[str, float] = field(default_factory=dict)
    # Builds the map step's reader (runtime, agent, guard) -> NoteReader, e.g. on Ray
    # (scoutcrew.scale.ray_notes.ray_reader_factory); None: the run's own LLM runtime.
    reader_factory: Callable[..., Any] | None = None


def load_plan(project: Project, crew: str, options: RunOptions) -> Plan:
    """Validate the shared YAML and this crew's file, then resolve the plan."""
    config = load_config(project, only_crew=crew)
    return build_plan(config, crew, options.inputs, options.model)


def evidence_budget(plan: Plan, runtime: Any) -> int:
    """Tokens the evidence may take: the reading model's num_ctx minus the prompt's fixed parts."""
    from ..text.measure import estimate_tokens

    readers = plan.evidence_readers() or list(plan.agents.values())[:1]
    budgets = []
    for agent in readers:
        spec = runtime.serving_spec(agent.llm)
        options = runtime.chain_options(
            runtime.resolve_chain(agent.llm), agent.options, agent.model_num_ctx
        )
        num_ctx = runtime.num_ctx(spec, options.get(spec, agent.options))
        task_text = " ".join(
            t.description.replace("{evidence}", "") + t.expected_output
            for t in plan.tasks
            if t.agent == agent.name
        )
        fixed = estimate_tokens(" ".join([agent.role, agent.goal, agent.backstory, task_text]))
        reserve = agent.options.num_predict or ANSWER_RESERVE_TOKENS
        budgets.append(num_ctx - fixed - CREWAI_SCAFFOLD_TOKENS - reserve)
    return max(MIN_EVIDENCE_TOKENS, min(budgets))


def ranking_query(plan: Plan) -> str:
    """What the evidence is ranked against: the crew's topic and keywords (else its description)."""
    parts = [plan.inputs.get("topic", ""), *plan.sources.keywords]
    return " ".join(p for p in parts if p) or plan.config.description


def gather_evidence(
    plan: Plan,
    store: Any,
    runtime: Any,
    all_items: bool,
    search_backend: Any = None,
    carried_before: str | None = None,
) -> tuple[Any, Any]:
    """Fetch the crew's sources and keep every one this run should read (no model)."""
    from ..gather.feeds import gather
    from ..select.pack import collect_sources

    all_items = all_items or plan.sources.all_items
    gathered = gather(
        plan.sources,
        store=store,
        project_root=plan.project.root,
        search_backend=search_backend,
    )
    pack = collect_sources(
        gathered,
        crew=plan.crew,
        query=ranking_query(plan),
        store=store,
        new_only=not all_items,
        max_items=plan.sources.max_items,
        keywords=plan.sources.keywords if plan.sources.require_keywords else None,
        carried_before=carried_before,
    )
    return gathered, pack


def run_budget(plan: Plan, options: RunOptions) -> Any:
    """The run's budget: the crew's `budget:` with the command line's overrides (0 = none)."""
    from ..llm.budget import Budget

    values = plan.config.budget.model_dump()
    for key, value in (options.budget or {}).items():
        values[key] = value if value else None
    return Budget(
        prompt_tokens=int(values["prompt_tokens"]) if values["prompt_tokens"] else None,
        output_tokens=int(values["output_tokens"]) if values["output_tokens"] else None,
        minutes=float(values["minutes"]) if values["minutes"] else None,
    )


def run_crew(
    project: Project,
    crew: str,
    options: RunOptions | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    search_backend: Any = None,
) -> RunResult:
    """Run one crew and write its report. Raises ScoutcrewError subclasses on failure."""
    options = options or RunOptions()
    plan = load_plan(project, crew, options)  # a bad config stops here, before any heavy import
    return _execute(plan, options, progress=progress, search_backend=search_backend)


def resume_run(
    project: Project, run_id: str, *, progress: Callable[[str], None] | None = None
) -> RunResult:
    """Continue a failed or interrupted run from its first unfinished task."""
    from ..store.db import Store
    from ..store.runs import get_run

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
    saved = run["options"] or {}
    options = RunOptions(
        inputs=run["inputs"] or {},
        model=saved.get("model"),
        output_dir=Path(saved["output_dir"]) if saved.get("output_dir") else None,
        backend=saved.get("backend"),
        all_items=bool(saved.get("all_items")),
        budget=dict(saved.get("budget") or {}),
    )
    plan = load_plan(project, run["crew"], options)
    done = {t["task"]: t["output"] for t in run["tasks"]}
    # Stopped while gathering: no evidence was saved, so the resumed run gathers it afresh.
    pack = pack_from_dict(run["evidence"]) if run.get("evidence") else None
    return _execute(plan, options, progress=progress, resume=(run["id"], pack, done))


STORE_FILE = "scoutcrew.sqlite"


def _execute(
    plan: Plan,
    options: RunOptions,
    *,
    progress: Callable[[str], None] | None = None,
    search_backend: Any = None,
    resume: tuple[str, Any, dict[str, str]] | None = None,
) -> RunResult:
    from ..llm.ledger import UsageLedger
    from ..store.db import Store
    from ..store.locks import crew_lock
    from ..store.runs import RunRecorder, config_hash, mark_stale

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
                cfg_hash=config_hash(*_config_texts(plan)),
                inputs={k: v for k, v in plan.inputs.items() if k not in {"today", "crew"}},
                options=_options_record(options),
            )
        else:
            recorder = RunRecorder(store, resume[0])
            recorder.finish("running")
        ledger.subscribe(recorder.call)
        on_call = getattr(progress, "on_call", None)
        if on_call is not None:
            ledger.subscribe(on_call)
        say(f"run {recorder.run_id}: crew {plan.crew}")
        try:
            with _interruptible(runtime):
                result = _stages(
                    plan, options, store, runtime, recorder, say, search_backend, resume
                )
        except (KeyboardInterrupt, RunInterrupted) as exc:
            raise _interrupted(recorder) from exc
        except ScoutcrewError as exc:
            if runtime.aborted:  # a call failed because Ctrl-C aborted it
                raise _interrupted(recorder) from exc
            recorder.finish("failed", error=str(exc))
            _deliver(plan, "failure", None, str(exc), recorder.run_id)
            raise
        except Exception as exc:  # crewai wraps our errors; keep the cause visible
            if runtime.aborted:
                raise _interrupted(recorder) from exc
            cause = _scoutcrew_cause(exc)
            error = cause or RunFailed(f"crew '{plan.crew}' failed: {type(exc).__name__}: {exc}")
            recorder.finish("failed", error=str(error))
            _deliver(plan, "failure", None, str(error), recorder.run_id)
            raise error from exc
        finally:
            runtime.close()
    result.run_id = recorder.run_id
    result.usage = ledger.records
    if result.status in {"ok", "partial"}:
        from ..report.usage import summary_table

        elapsed = time.monotonic() - started
        result.summary = summary_table(ledger.records) + f"\nwall time: {elapsed:.1f} s"
        _deliver(plan, "success", result.report, result.summary, recorder.run_id)
    return result


def _interrupted(recorder: Any) -> Interrupted:
    """Record the run as interrupted; the error says how to continue it."""
    hint = f"interrupted; `scoutcrew resume {recorder.run_id}` continues it"
    recorder.finish("interrupted", error=hint)
    return Interrupted(hint)


def check_interrupted(runtime: Any) -> None:
    """Stop here if Ctrl-C arrived while crewai was busy and its KeyboardInterrupt got lost."""
    if runtime.aborted:
        raise RunInterrupted("the run was interrupted")


@contextmanager
def _interruptible(runtime: Any) -> Iterator[None]:
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

    def stop(signum: int, frame: Any) -> None:
        runtime.abort()
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stages(
    plan: Plan,
    options: RunOptions,
    store: Any,
    runtime: Any,
    recorder: Any,
    say: Callable[[str], None],
    search_backend: Any,
    resume: tuple[str, Any, dict[str, str]] | None,
) -> RunResult:
    """Gather, select, take notes, group stories, run the crew, publish; the run record
    follows each step."""
    from ..crew.build import build_crew, crew_stop, not_written
    from ..store.db import utcnow
    from .reading import read_sources

    budget = run_budget(plan, options)
    # `--backend ollama` never falls back: with Ollama down, stop before gathering anything.
    planned = [*plan.agents.values(), *([plan.manager] if plan.manager else [])]
    runtime.require_ollama([spec for agent in planned for spec in agent.llm])
    done: dict[str, str] = {}
    research: Any = None
    if plan.config.process == "research":
        # The loop took its own notes; the crew writes from them (continued from checkpoints
        # on resume, and the crew's finished tasks are kept).
        research = _research(
            plan, options, store, runtime, recorder, say, search_backend, budget=budget
        )
        if isinstance(research, RunResult):
            return research
        pack, gathered = research.pack, None
        recorder.save_evidence(pack_to_dict(pack, None), [str(n) for n in pack.notes], [])
        done = dict(resume[2]) if resume is not None else {}
    elif resume is None or resume[1] is None:
        say("gathering sources")
        begun = utcnow()
        gathered, pack = gather_evidence(
            plan, store, runtime, options.all_items, search_backend, carried_before=begun
        )
        recorder.save_evidence(
            pack_to_dict(pack, gathered), [str(n) for n in pack.notes], list(pack.degraded)
        )
    else:
        _, pack, done = resume
        gathered = None
        say(f"resuming after {', '.join(done) or 'no finished task'}")
    say(f"evidence: {len(pack.sources)} new sources, ~{pack.used_tokens} tokens")
    if gathered is not None and not pack.sources:
        failed, total = _failed_sources(gathered)
        if total and failed == total:
            reasons = "; ".join(str(n) for n in gathered.notes if n.level == "error")
            raise RunFailed(
                f"every source of {plan.crew} failed ({failed} of {total}), so there is nothing "
                f"to report on. Check the network and the URLs in crews/{plan.crew}.yaml "
                f"(`scoutcrew plan {plan.crew}` lists each source). {_clip(reasons, 400)}"
            )
    all_items = options.all_items or plan.sources.all_items
    if not pack.sources and not all_items and _needs_evidence(plan):
        message = nothing_new_message(plan.crew, gathered)
        recorder.finish("nothing-new")  # the caller prints the message, once
        return RunResult(crew=plan.crew, status="nothing-new", message=message)

    if research is not None:
        outcome, notes, evidence = None, None, research.evidence
    elif _needs_evidence(plan):
        outcome = read_sources(
            plan,
            pack,
            runtime,
            store,
            budget=budget,
            evidence_budget=lambda: evidence_budget(plan, runtime),
            say=say,
            reader_factory=options.reader_factory,
            all_items=options.all_items or plan.sources.all_items,
        )
        notes = outcome.notes
        if not notes.notes:
            return _nothing_read(plan, pack, gathered, outcome, runtime, options, recorder, say)
        evidence = outcome.evidence
    else:
        outcome, notes, evidence = None, None, pack.render()
    read_pack = _read_pack(pack, outcome)

    if outcome is not None and not outcome.shown:
        # Every source read told only what earlier reports said: nothing to write.
        _remember(plan, store, read_pack, outcome)
        message = (
            f"{len(outcome.notes)} new items read for {plan.crew}, but they add nothing to the "
            "stories it reported before; no report written (`--all-items` tells them again)"
        )
        recorder.finish("nothing-new")  # the caller prints the message, once
        return RunResult(crew=plan.crew, status="nothing-new", message=message)

    outputs = dict(done)
    positions = {t.name: i for i, t in enumerate(plan.tasks)}

    def task_done(result: Any) -> None:
        outputs[result.name] = result.output
        recorder.task_done(positions[result.name], result.name, result.agent, result.output)
        say(f"task {result.name} done ({result.agent})")

    crew_obj = build_crew(plan, runtime, evidence, on_task_done=task_done, done=done)
    say(f"running {len(plan.tasks) - len(done)} tasks ({plan.config.process})")
    try:
        crew_output = crew_obj.kickoff()
    except Exception as exc:  # an overflow ends the run partial, with what was written
        stopped = crew_stop(exc)
        if stopped is None or runtime.aborted:
            raise
        crew_output = None
    else:
        stopped = None
    check_interrupted(runtime)
    pending = [t for t in plan.tasks if t.name not in done]
    for task, output in zip(pending, crew_output.tasks_output if crew_output else [], strict=False):
        if task.name not in outputs:
            task_done(_Finished(task.name, task.agent, str(output.raw)))
    if stopped is not None:
        outputs |= {
            t.name: not_written(t.name, stopped) for t in plan.tasks if t.name not in outputs
        }
    paths = publish(
        plan, read_pack, gathered, outputs, runtime.ledger.records, runtime, options, research
    )
    # An item counts as reported only when a model read it: unread items stay new.
    # (A crew whose tasks take no {evidence} reads no item, so it marks none; a crew stopped
    # by an overflow marks none either: its report is not whole.)
    if outcome is not None and stopped is None:
        _remember(plan, store, read_pack, outcome)
    status = "partial" if read_pack.unread or stopped else "ok"
    error = _unread_message(read_pack) if read_pack.unread else None
    if stopped is not None:
        error = f"partial: the crew stopped, {stopped}; the report has what was written"
    recorder.finish(status, report=str(paths.md), error=error)
    return RunResult(
        crew=plan.crew, status=status, report=paths.md, paths=paths, message=error or ""
    )


def _read_pack(pack: Any, outcome: Any) -> Any:
    """The pack the report cites: the sources a model read, the stories, what stayed unread."""
    from dataclasses import replace

    from ..select.pack import left_out_counts

    if outcome is None:
        return replace(pack, left_out=left_out_counts(pack.dropped))
    read = outcome.notes.read_ids
    return replace(
        pack,
        sources=[s for s in pack.sources if s.id in read],
        stories=[s.to_dict() | {"links": s.links[:5]} for s in outcome.shown],
        unread=[(s.title, reason) for s, reason in outcome.notes.unread],
        left_out=left_out_counts(pack.dropped),
    )


def _remember(plan: Plan, store: Any, read_pack: Any, outcome: Any) -> None:
    """Mark what a model read as reported, and the stories it belongs to."""
    from ..stories.group import save_stories

    store.mark_delivered(plan.crew, read_pack.urls_and_links(), read_pack.hashes)
    save_stories(plan.crew, outcome.stories, store)


def _unread_message(pack: Any) -> str:
    reasons: dict[str, int] = {}
    for _title, reason in pack.unread:
        key = reason.split(":")[0]
        reasons[key] = reasons.get(key, 0) + 1
    detail = ", ".join(f"{n} {k}" for k, n in reasons.items())
    return (
        f"partial: {len(pack.unread)} new items were not read ({detail}); they stay new, and "
        "the next run reads them first"
    )


def _nothing_read(
    plan: Plan,
    pack: Any,
    gathered: Any,
    outcome: Any,
    runtime: Any,
    options: RunOptions,
    recorder: Any,
    say: Callable[[str], None],
) -> RunResult:
    """No source could be read: a budget too small writes a partial report; errors fail."""
    unread = outcome.notes.unread
    if not any(reason.startswith("over budget") for _s, reason in unread):
        first = next((reason for _s, reason in unread), "no source")
        raise RunFailed(
            f"no source of {plan.crew} could be read by a model ({len(unread)} unread: "
            f"{_clip(first, 300)}); they stay new for the next run"
        )
    read_pack = _read_pack(pack, outcome)
    message = _unread_message(read_pack)
    body = (
        f"_No model call fitted the run's budget, so none of the {len(unread)} new items was "
        "read. They stay new: the next run reads them first._"
    )
    outputs = {t.name: body for t in plan.tasks if t.in_report}
    paths = publish(plan, read_pack, gathered, outputs, runtime.ledger.records, runtime, options)
    say(message)
    recorder.finish("partial", report=str(paths.md), error=message)
    return RunResult(
        crew=plan.crew, status="partial", report=paths.md, paths=paths, message=message
    )


def nothing_new_message(crew: str, gathered: Any) -> str:
    """Say why a run called no model, and how to get a report from the same items anyway."""
    message = f"nothing new for {crew} since its last successful run; no model was called"
    if gathered is not None and _failed_sources(gathered)[0]:
        failed, total = _failed_sources(gathered)
        message += f" ({failed} of {total} sources failed; `scoutcrew plan {crew}` says why)"
    return (
        f"{message}. For a report from every item anyway: `scoutcrew run {crew} --all-items` "
        "(or `all_items: true` under sources: in its crew file)"
    )


def _research(
    plan: Plan,
    options: RunOptions,
    store: Any,
    runtime: Any,
    recorder: Any,
    say: Callable[[str], None],
    search_backend: Any,
    *,
    budget: Any = None,
) -> Any:
    """Run or continue the research loop; a RunResult when it paused for plan review."""
    from ..llm.budget import BudgetGuard
    from ..research.run import format_plan, no_sources_message, research_evidence

    result: Any = research_evidence(
        plan,
        store=store,
        runtime=runtime,
        run_id=recorder.run_id,
        say=say,
        search_backend=search_backend,
        review=options.review_plan,
        guard=BudgetGuard(budget, runtime.ledger) if budget is not None else None,
    )
    if getattr(result, "paused", False):
        message = (
            f"{format_plan(result.state)}\nplan written to {result.plan_file}: edit it if you "
            f"like, then `scoutcrew resume {recorder.run_id}`"
        )
        recorder.finish("paused", error=f"waiting for plan review ({result.plan_file})")
        return RunResult(crew=plan.crew, status="paused", message=message)
    if not result.pack.sources:
        raise RunFailed(no_sources_message(result.state, plan.crew, recorder.run_id))
    return result


def _failed_sources(gathered: Any) -> tuple[int, int]:
    """How many of the crew's feeds and searches failed, out of how many."""
    stats = gathered.stats or {}
    total = int(stats.get("feeds", 0)) + int(stats.get("searches", 0))
    failed = int(stats.get("feeds_failed", 0)) + int(stats.get("searches_failed", 0))
    return failed, total


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class _Finished:
    name: str
    agent: str
    output: str


def _config_texts(plan: Plan) -> list[str]:
    project = plan.project
    files = [project.agents_file, project.tasks_file, project.crew_file(plan.crew)]
    return [f.read_text(encoding="utf-8") for f in files if f.is_file()]


def _options_record(options: RunOptions) -> dict[str, Any]:
    return {
        "model": options.model,
        "backend": options.backend,
        "all_items": options.all_items,
        "budget": dict(options.budget or {}),
        "output_dir": str(options.output_dir) if options.output_dir else None,
    }


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


def pack_to_dict(pack: Any, gathered: Any) -> dict[str, Any]:
    """Serialise the evidence pack so a resumed run cites exactly the same sources."""
    from dataclasses import asdict

    data = asdict(pack)
    for source in data["sources"]:
        if source.get("published") is not None:
            source["published"] = source["published"].isoformat()
    data["gathered_items"] = len(gathered.items) if gathered is not None else None
    return data


def gathered_urls(gathered: Any) -> list[str]:
    return sorted({url for item in gathered.items for url in [item.url, *item.links]})


def pack_from_dict(data: dict[str, Any]) -> Any:
    from datetime import datetime

    from ..gather.items import Note
    from ..select.pack import EvidencePack, Source

    sources = []
    for raw in data["sources"]:
        raw = dict(raw)
        if raw.get("published"):
            raw["published"] = datetime.fromisoformat(raw["published"])
        sources.append(Source(**raw))
    pack = EvidencePack(
        sources=sources,
        notes=[Note(**n) for n in data.get("notes", [])],
        dropped=[tuple(d) for d in data.get("dropped", [])],
        budget_tokens=data.get("budget_tokens", 0),
        used_tokens=data.get("used_tokens", 0),
        degraded=list(data.get("degraded", [])),
        hashes=dict(data.get("hashes") or {}),
    )
    return pack


def publish(
    plan: Plan,
    pack: Any,
    gathered: Any,
    outputs: dict[str, str],
    usage: list[Any],
    runtime: Any,
    options: RunOptions,
    research: Any = None,
) -> Any:
    """Check the report's sections (and repair them once), then write the report files."""
    from ..report.files import write_report
    from ..text.untrusted import strip_controls
    from ..verify.repair import review_sections

    # Model text enters the report here: no control character of it reaches a file.
    sections = [
        (t.heading, strip_controls(outputs.get(t.name, ""))) for t in plan.tasks if t.in_report
    ]
    sections, verification = review_sections(plan, pack, sections, runtime)
    usage = list(runtime.ledger.records)  # the judge's and the repair's calls count too
    out_dir = options.output_dir or _output_dir(plan)
    notes = list(runtime.model_notes())
    meta_extra: dict[str, Any] = {"model_profiles": runtime.profile_lines()}
    if research is not None:  # written by code from the trail, so not verified as claims
        sections = [*sections, ("How this was researched", research.section)]
        meta_extra["research"] = research.summary
    return write_report(
        out_dir,
        plan.crew,
        title=plan.title,
        body_sections=sections,
        pack=pack,
        verification=verification,
        usage=usage,
        notes=notes,
        meta={
            "crew": plan.crew,
            "inputs": {k: v for k, v in plan.inputs.items() if k != "evidence"},
            "process": plan.config.process,
            "gathered_items": len(gathered.items) if gathered is not None else None,
            **meta_extra,
        },
    )


def _output_dir(plan: Plan) -> Path:
    configured = plan.config.output.dir
    if configured:
        return (plan.project.root / configured).resolve()
    return plan.project.reports_dir


def _needs_evidence(plan: Plan) -> bool:
    return any("evidence" in placeholders(t.description) for t in plan.tasks)


def _backend(project: Project) -> str:
    import os

    return os.environ.get("SCOUTCREW_BACKEND") or str(project.settings.get("backend", "auto"))


def make_runtime(project: Project, backend: str | None, ledger: Any) -> Any:
    """The LLM runtime for one run: backend choice, num_ctx cap and data dir from the project."""
    from ..llm.runtime import LLMRuntime

    return LLMRuntime(
        ledger=ledger,
        backend=backend or _backend(project),
        default_num_ctx=int(project.settings.get("default_num_ctx", 8192)),
        data_dir=project.data_dir,
    )


def _scoutcrew_cause(exc: BaseException) -> ScoutcrewError | None:
    return cause_of(exc, ScoutcrewError)


# Tokens a task's answer is assumed to take when another task receives it as context.
CONTEXT_ANSWER_ESTIMATE = 500


def plan_crew(project: Project, crew: str, options: RunOptions | None = None) -> str:
    """Gather and select, then say what a run would read and estimate its calls, tokens and
    time; no model is called (the speeds come from the run history)."""
    from ..llm.ledger import UsageLedger
    from ..select.pack import format_plan_summary
    from ..store.db import Store, utcnow
    from .estimate import estimate_run, format_estimate

    options = options or RunOptions()
    plan = load_plan(project, crew, options)
    if plan.config.process == "research":
        from ..research.run import describe_loop

        return describe_loop(plan)
    runtime = make_runtime(project, options.backend, UsageLedger())
    project.data_dir.mkdir(parents=True, exist_ok=True)
    with Store.open(project.data_dir / STORE_FILE) as store:
        gathered, pack = gather_evidence(
            plan, store, runtime, options.all_items, carried_before=utcnow()
        )
        lines = [format_plan_summary(pack, gathered, full=False), ""]
        if not pack.sources and _needs_evidence(plan):
            lines.append(
                "nothing new to read: a run now would make no model call (it ends as 'nothing-new')"
            )
            return "\n".join(lines)
        estimate = estimate_run(
            plan, pack, runtime, store, run_budget(plan, options), evidence_budget(plan, runtime)
        )
    lines += format_estimate(estimate)
    return "\n".join(lines)
