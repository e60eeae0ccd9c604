"""Run, resume and inspect a crew's research loop; its checkpoints live in the data directory.

The loop's LangGraph thread is the run's id, so `scoutcrew resume RUN` finds it again. A run
started with plan review stops after the plan and writes it to a YAML file; resuming reads that
file back (edited or not) and goes on from there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .answers import checked_plan
from .loop import build_graph
from .state import LoopContext, initial_state

CHECKPOINT_FILE = "research.sqlite"


@dataclass
class ResearchOutcome:
    """Where the loop stands: finished (state holds the result) or paused for plan review."""

    state: dict[str, Any]
    paused: bool = False
    plan_file: Path | None = None


@contextmanager
def checkpointer(data_dir: Path) -> Iterator[Any]:
    """LangGraph's SqliteSaver on the data directory's research checkpoint file."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    data_dir.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(data_dir / CHECKPOINT_FILE, check_same_thread=False, timeout=30.0)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        yield SqliteSaver(conn)
    finally:
        conn.close()


def plan_file(data_dir: Path, run_id: str) -> Path:
    return data_dir / "plans" / f"{run_id}.yaml"


def run_research(
    ctx: LoopContext,
    *,
    data_dir: Path,
    run_id: str,
    topic: str,
    started_at: str,
    review: bool = False,
) -> ResearchOutcome:
    """Start the loop for `run_id`, or continue it from its last checkpoint."""
    from langgraph.types import Command

    with checkpointer(data_dir) as saver:
        graph = build_graph(ctx, saver)
        config = {"configurable": {"thread_id": run_id}}
        snapshot = graph.get_state(config)
        if not snapshot.values:
            graph.invoke(initial_state(topic, started_at, review), config, durability="sync")
        elif snapshot.next and snapshot.interrupts:
            edited = read_plan(plan_file(data_dir, run_id), snapshot.values)
            ctx.say(f"research: continuing with the plan in {plan_file(data_dir, run_id)}")
            graph.invoke(Command(resume=edited), config, durability="sync")
        elif snapshot.next:
            ctx.say(f"research: continuing after {_last_step(snapshot)}")
            graph.invoke(None, config, durability="sync")
        snapshot = graph.get_state(config)
        state = dict(snapshot.values)
        if snapshot.next and snapshot.interrupts:
            path = write_plan(plan_file(data_dir, run_id), state, run_id)
            return ResearchOutcome(state=state, paused=True, plan_file=path)
        return ResearchOutcome(state=state)


def _last_step(snapshot: Any) -> str:
    trail = snapshot.values.get("trail") or []
    return f"{trail[-1]['step']} (round {trail[-1]['round']})" if trail else "the start"


def load_state(data_dir: Path, run_id: str) -> dict[str, Any] | None:
    """The loop's last checkpointed state for a run, or None if the run had no loop."""
    if not (data_dir / CHECKPOINT_FILE).is_file():
        return None
    with checkpointer(data_dir) as saver:
        found = saver.get_tuple({"configurable": {"thread_id": run_id}})
    if found is None:
        return None
    return dict(found.checkpoint.get("channel_values") or {})


def write_plan(path: Path, state: dict[str, Any], run_id: str) -> Path:
    """Write the plan for review, as YAML a person can edit."""
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "topic": state.get("topic", ""),
        "questions": [
            {k: v for k, v in q.items() if k != "id" and (v or k != "perspective")}
            for q in state.get("questions") or []
        ],
    }
    header = (
        f"# The research plan of run {run_id}. Edit the questions and their search queries\n"
        "# (add, remove or reword them), save, then run `scoutcrew resume "
        f"{run_id}`.\n"
    )
    path.write_text(header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def read_plan(path: Path, state: dict[str, Any]) -> list[dict[str, Any]]:
    """Read a reviewed plan back; a missing file means the plan as it was."""
    import yaml

    if not path.is_file():
        return list(state.get("questions") or [])
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
        if not isinstance(data, dict) or set(data) - {"topic", "questions"}:
            raise ValueError("the file must be a mapping with topic and questions")
        return checked_plan(data.get("questions"))
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError([f"{path}: {exc}; fix it, then resume again"]) from exc


def format_plan(state: dict[str, Any]) -> str:
    """The plan as a person reads it in the terminal."""
    lines = [f"research plan for: {state.get('topic', '')}"]
    for q in state.get("questions") or []:
        angle = f" [{q['perspective']}]" if q.get("perspective") else ""
        lines.append(f"  {q['id']}{angle} {q['question']}")
        lines += [f"      search: {query}" for query in q["queries"]]
    return "\n".join(lines)


Say = Callable[[str], None]


def describe_loop(plan: Any) -> str:
    """What `scoutcrew plan` says of a research crew: its searches depend on the model's plan,
    so nothing is gathered ahead; the loop's limits bound what a run can spend."""
    from ..config.schema import ResearchConfig

    r = plan.config.research or ResearchConfig()
    agent = r.agent or next(iter(plan.agents))
    most = 1 + 2 * r.rounds
    budget = f"{r.token_budget} tokens" if r.token_budget else "no token budget"
    return "\n".join(
        [
            f"research crew: up to {r.rounds} rounds of {r.queries_per_round} searches and "
            f"{r.pages_per_round} pages, planned and reflected on by {agent}",
            f"model calls for the research: at most {most} (one plan; a note batch and a "
            f"reflection a round, more when pages fill more than one batch), then "
            f"{len(plan.tasks)} crew tasks; {budget}",
            "the searches come from the model's plan, so none is run ahead: "
            f"`scoutcrew run {plan.crew} --review-plan` shows the plan before any search",
        ]
    )


@dataclass
class ResearchEvidence:
    """The loop's result as the pipeline uses it."""

    pack: Any  # select.pack.EvidencePack
    evidence: str  # the crew's {evidence}: outline and notes
    section: str  # the report's "How this was researched"
    summary: dict[str, Any]
    state: dict[str, Any]


def research_evidence(
    plan: Any,
    *,
    store: Any,
    runtime: Any,
    run_id: str,
    say: Say,
    search_backend: Any = None,
    review: bool = False,
    guard: Any = None,
) -> ResearchEvidence | ResearchOutcome:
    """Run (or continue) a research crew's loop; a ResearchOutcome means paused for review."""
    from ..config.schema import ResearchConfig
    from ..store.db import utcnow
    from .result import evidence_text, report_section, research_pack, summary

    settings = plan.config.research or ResearchConfig()
    agent_name = settings.agent or next(iter(plan.agents))
    ctx = LoopContext(
        settings=settings,
        sources=plan.sources,
        agent=plan.agents[agent_name],
        fallback_queries=list(plan.sources.search),
        runtime=runtime,
        store=store,
        project_root=plan.project.root,
        search_backend=search_backend,
        say=say,
        guard=guard,
    )
    topic = plan.inputs.get("topic") or plan.config.description
    outcome = run_research(
        ctx,
        data_dir=plan.project.data_dir,
        run_id=run_id,
        topic=topic,
        started_at=utcnow(),
        review=review,
    )
    if outcome.paused:
        return outcome
    state = outcome.state
    degraded = [
        e["text"].removeprefix("degraded: ")
        for e in state.get("trail") or []
        if e["text"].startswith("degraded: ")
    ]
    pack = research_pack(state, degraded)
    return ResearchEvidence(
        pack=pack,
        evidence=evidence_text(state, pack),
        section=report_section(state),
        summary=summary(state),
        state=state,
    )


def no_sources_message(state: dict[str, Any], crew: str, run_id: str) -> str:
    """Why a research loop left nothing to write from, told apart: the search found nothing
    (or failed), or it found pages that no model could take a note of."""
    searches = state.get("searches") or []
    pages = state.get("pages") or []
    found = sum(int(s.get("results") or 0) for s in searches)
    failed = sum(1 for s in searches if s.get("failed"))
    trail = f"`scoutcrew show {run_id}` has the trail"
    if pages:
        reasons: dict[str, int] = {}
        for page in pages:
            why = str(page.get("status") or "")
            if why.startswith("not noted: "):
                key = why.removeprefix("not noted: ").split(":")[0]
                reasons[key] = reasons.get(key, 0) + 1
        detail = ", ".join(f"{n} {why}" for why, n in reasons.items()) or "no fact in any note"
        return (
            f"the research loop of {crew} found {len(pages)} pages ({found} search results), "
            f"but no model took a note of any ({detail}): the search worked, the model did not. "
            f"Check the model (`scoutcrew doctor --probe MODEL`); {trail}"
        )
    if failed:
        return (
            f"every search of the research loop of {crew} failed ({failed} of "
            f"{len(searches)} queries): check the search backend (`search_backend` and "
            f"`searxng_url` in crews/{crew}.yaml, or the network); {trail}"
        )
    return (
        f"the research loop of {crew} searched {len(searches)} queries and found no page to "
        f"take notes from: try other wording for the topic, or another search backend; {trail}"
    )
