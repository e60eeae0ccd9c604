"""The crew writes, the report is checked, then published: one crew task per step, the
claim check with its judge and repair, and the files, the record of what was reported and the
stories kept for the next run."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RunInterrupted
from ..select.pack import EvidencePack
from ..text.untrusted import strip_controls
from .review import for_crew
from .state import RunState

if TYPE_CHECKING:
    from ..config.plan import Plan
    from ..llm.runtime import LLMRuntime
    from ..report.files import ReportPaths
    from .context import RunContext


def needs_evidence(plan: Plan) -> bool:
    """Whether any task reads {evidence} (else no source is read by a model)."""
    from ..config.templates import placeholders

    return any("evidence" in placeholders(t.description) for t in plan.tasks)


def pending_tasks(plan: Plan, state: RunState) -> list[str]:
    done = state.get("outputs") or {}
    return [t.name for t in plan.tasks if t.name not in done]


def cited_pack(state: RunState) -> EvidencePack:
    """The pack the report cites: the sources a model read, the stories, what stayed unread."""
    from ..select.pack import left_out_counts

    pack = state["pack"]
    left_out = left_out_counts(pack.dropped)
    notes = state.get("notes")
    reviewed = state.get("reviewed") or {}
    if reviewed.get("stories") or reviewed.get("sources"):
        left_out["dropped at review"] = len(reviewed.get("stories") or []) + len(
            reviewed.get("sources") or []
        )
    if notes is None:  # no map step: a research crew, or a crew that reads no {evidence}
        return replace(pack, left_out=left_out)
    stories = for_crew(state)
    dropped = set(reviewed.get("sources") or []) | {
        sid
        for story in state.get("stories") or []
        if story.id in set(reviewed.get("stories") or [])
        for sid in story.source_ids
    }
    read = notes.read_ids - dropped
    applied = state.get("preferences")
    raised = applied.raised if applied else {}
    return replace(
        pack,
        sources=[s for s in pack.sources if s.id in read],
        stories=[
            s.to_dict() | {"links": s.links[:5]} | ({"why": raised[s.id]} if s.id in raised else {})
            for s in stories
        ],
        unread=[(s.title, reason) for s, reason in notes.unread],
        left_out=left_out,
        preferences=applied.to_dict() if applied and applied.active else {},
    )


def unread_message(pack: EvidencePack) -> str:
    reasons: dict[str, int] = {}
    for _title, reason in pack.unread:
        key = reason.split(":")[0]
        reasons[key] = reasons.get(key, 0) + 1
    detail = ", ".join(f"{n} {k}" for k, n in reasons.items())
    return (
        f"partial: {len(pack.unread)} new items were not read ({detail}); they stay new, and "
        "the next run reads them first"
    )


def remember(ctx: RunContext, state: RunState) -> None:
    """Mark what a model read as reported, and keep the stories it belongs to."""
    from ..stories.group import save_stories

    notes = state.get("notes")
    if notes is None:  # nothing was read by a model: nothing counts as reported
        return
    pack = state["pack"]
    read = replace(pack, sources=[s for s in pack.sources if s.id in notes.read_ids])
    # Sources left out of the notes as predicted skips were listed, in one line each.
    applied = state.get("preferences")
    listed = [link for aside in (applied.skipped if applied else []) for link in aside.links]
    ctx.store.mark_delivered(ctx.plan.crew, [*read.urls_and_links(), *listed], pack.hashes)
    save_stories(ctx.plan.crew, state.get("stories") or [], ctx.store)


# -- the nodes ------------------------------------------------------------------------------


def told_before_node(ctx: RunContext, state: RunState) -> RunState:
    """Every source read told only what earlier reports said: nothing to write."""
    remember(ctx, state)
    read = len(state["notes"].notes)
    return {
        "status": "nothing-new",
        "message": (
            f"{read} new items read for {ctx.plan.crew}, but they add nothing to the stories "
            "it reported before; no report written (`--all-items` tells them again)"
        ),
    }


def out_of_budget_node(ctx: RunContext, state: RunState) -> RunState:
    """No model call fitted the run's budget: the report says so, and every item stays new."""
    unread = state["notes"].unread
    body = (
        f"_No model call fitted the run's budget, so none of the {len(unread)} new items was "
        "read. They stay new: the next run reads them first._"
    )
    return {"outputs": {t.name: body for t in ctx.plan.tasks if t.in_report}}


def task_node(ctx: RunContext, state: RunState) -> RunState:
    """Run the crew's next task (crewai), with the outputs of the tasks it names as context."""
    from ..crew.build import build_crew, crew_stop, not_written

    plan = ctx.plan
    done = dict(state.get("outputs") or {})
    name = pending_tasks(plan, state)[0]
    task = next(t for t in plan.tasks if t.name == name)
    if not done:
        ctx.say(f"running {len(plan.tasks)} tasks ({plan.config.process})")
    evidence = state.get("evidence") or ""
    crew = build_crew(plan, ctx.runtime, evidence, done=done, only=name)
    try:
        crew.kickoff()
    except Exception as exc:
        stopped = crew_stop(exc)  # an overflow no model of the chain fits: the run ends partial
        if stopped is not None and not ctx.runtime.aborted:
            ctx.say(f"task {name} stopped: {stopped}")
            left = [t.name for t in plan.tasks if t.name not in done]
            return {
                "outputs": {n: not_written(n, stopped) for n in left},
                "stopped": f"the crew stopped at task {name}, {stopped}",
            }
        # crewai refuses to make a crew's output of a task that answered with nothing; the
        # task's own (empty) answer stands, as it does among a crew's other tasks.
        if not (isinstance(exc, ValueError) and "task outputs" in str(exc)):
            raise
    check_interrupted(ctx.runtime)
    finished = crew.tasks[0].output
    output = str(finished.raw) if finished is not None else ""
    position = [t.name for t in plan.tasks].index(name)
    ctx.recorder.task_done(position, name, task.agent, output)
    ctx.say(f"task {name} done ({task.agent})")
    return {"outputs": {name: output}}


def check_interrupted(runtime: LLMRuntime) -> None:
    """Stop here if Ctrl-C arrived while crewai was busy and its KeyboardInterrupt got lost."""
    if runtime.aborted:
        raise RunInterrupted("the run was interrupted")


def after_task(ctx: RunContext, state: RunState) -> str:
    return "task" if pending_tasks(ctx.plan, state) else "verify"


def verify_node(ctx: RunContext, state: RunState) -> RunState:
    """Check every cited sentence against its sources; the judge and the repair round."""
    from ..llm.basemodel import copies_not_run
    from ..llm.embedded import base_model_tasks
    from ..verify.repair import review_sections

    outputs = state.get("outputs") or {}
    in_report = [t for t in ctx.plan.tasks if t.in_report]
    # Model text enters the report here: no control character of it reaches a file. A later
    # section a base model would only copy from an earlier one says it was not run.
    texts = copies_not_run(
        [(t.name, strip_controls(outputs.get(t.name, ""))) for t in in_report],
        base_model_tasks(ctx.runtime.ledger.records, ctx.runtime.data_dir),
    )
    sections = [(t.heading, text) for t, (_name, text) in zip(in_report, texts, strict=True)]
    ctx.say("checking the report's claims")
    sections, verification = review_sections(ctx.plan, cited_pack(state), sections, ctx.runtime)
    return {"sections": sections, "verification": verification, "report_base": new_base(ctx)}


def new_base(ctx: RunContext) -> str:
    """The name the report's files will have, chosen once, so that a publish step run again
    after a crash writes the same files instead of a second report."""
    from ..report.files import report_base

    return report_base(
        ctx.options.output_dir or output_dir(ctx.plan), ctx.plan.crew, datetime.now(UTC)
    )


def publish_node(ctx: RunContext, state: RunState) -> RunState:
    """Write the report files; mark what a model read as reported; keep the stories."""
    pack = cited_pack(state)
    paths = write_files(ctx, state, pack)
    stopped = state.get("stopped")
    if stopped:  # the report is not whole: what was read stays new for the next run
        return {
            "status": "partial",
            "message": f"partial: {stopped}; the report has what was written",
            "report": str(paths.md),
        }
    remember(ctx, state)
    partial = bool(pack.unread)
    return {
        "status": "partial" if partial else "ok",
        "message": unread_message(pack) if partial else "",
        "report": str(paths.md),
    }


def write_files(ctx: RunContext, state: RunState, pack: EvidencePack) -> ReportPaths:
    """Write Markdown, HTML and JSON; a step run again writes the same files again."""
    from ..report.files import write_report

    plan, runtime = ctx.plan, ctx.runtime
    sections = list(state.get("sections") or [])
    # What the capability probe measured of each model, for the report's Models section.
    meta_extra: dict[str, Any] = {"model_profiles": runtime.profile_lines()}
    research = state.get("research")
    if research:  # written by code from the trail, so not verified as claims
        from ..research.result import report_section, summary

        sections.append(("How this was researched", report_section(research)))
        meta_extra["research"] = summary(research)
    gathered = state.get("gathered")
    ctx.say("writing the report")
    out_dir = ctx.options.output_dir or output_dir(plan)
    return write_report(
        out_dir,
        plan.crew,
        title=plan.title,
        body_sections=sections,
        pack=pack,
        verification=state["verification"],
        usage=list(runtime.ledger.records),
        notes=list(runtime.model_notes()),
        meta={
            "crew": plan.crew,
            "inputs": {k: v for k, v in plan.inputs.items() if k != "evidence"},
            "process": plan.config.process,
            "gathered_items": len(gathered.items) if gathered is not None else None,
            "run_id": ctx.run_id,
            **meta_extra,
        },
        base=own_base(out_dir / plan.crew, state.get("report_base"), ctx.run_id),
    )


def own_base(crew_dir: Path, base: str | None, run_id: str) -> str | None:
    """`base` unless another run's report holds that name already (then a new one)."""
    import json

    if not base:
        return None
    try:
        meta = json.loads((crew_dir / f"{base}.json").read_text("utf-8")).get("meta") or {}
    except (OSError, ValueError):
        return base
    return base if meta.get("run_id") in (None, run_id) else None


def output_dir(plan: Plan) -> Path:
    configured = plan.config.output.dir
    if configured:
        return (plan.project.root / configured).resolve()
    return plan.project.reports_dir
