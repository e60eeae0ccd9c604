"""A research crew's loop as the run graph uses it: its context and first state, the plan a
person reviews (a YAML file in the data directory), and what `scoutcrew plan` says of it.

The loop (research/loop.py) runs as a subgraph of the run's graph (run/graph.py), under the
run's thread and checkpointer, so `scoutcrew resume RUN` continues it from its last step. A run
started with plan review stops after the plan and writes it to a YAML file; resuming reads that
file back (edited or not) and goes on from there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .answers import checked_plan
from .state import LoopContext

if TYPE_CHECKING:
    from ..config.models import ResearchConfig
    from ..config.plan import Plan
    from ..gather.search import Searcher, SearchFn
    from ..llm.budget import BudgetGuard
    from ..llm.runtime import LLMRuntime
    from ..store.db import Store


def plan_file(data_dir: Path, run_id: str) -> Path:
    return data_dir / "plans" / f"{run_id}.yaml"


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


def describe_loop(plan: Plan) -> str:
    """What `scoutcrew plan` says of a research crew: its searches depend on the model's plan,
    so nothing is gathered ahead; the loop's limits bound what a run can spend."""
    r = settings_of(plan)
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


def settings_of(plan: Plan) -> ResearchConfig:
    from ..config.models import ResearchConfig

    return plan.config.research or ResearchConfig()


def loop_context(
    plan: Plan,
    *,
    store: Store,
    runtime: LLMRuntime,
    say: Callable[[str], None],
    search_backend: Searcher | SearchFn | None = None,
    guard: BudgetGuard | None = None,
) -> LoopContext:
    """What the loop's nodes work with, in the words and models of the crew's research agent."""
    settings = settings_of(plan)
    agent_name = settings.agent or next(iter(plan.agents))
    return LoopContext(
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


def degraded_of(state: dict[str, Any]) -> list[str]:
    """The loop's degraded searches and pages, as the report lists them."""
    return [
        e["text"].removeprefix("degraded: ")
        for e in state.get("trail") or []
        if e["text"].startswith("degraded: ")
    ]


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
