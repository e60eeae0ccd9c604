"""One run's reading: the notes of its sources, their stories, the evidence fitted to the crew."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..llm.budget import Budget, BudgetGuard
from ..notes.reader import REDUCE_TASK, runtime_reader
from ..text.measure import estimate_tokens

# crewai's scaffolding around a task prompt, and the answer a task is assumed to give.
CREW_SCAFFOLD_TOKENS = 400
TASK_ANSWER_TOKENS = 500


@dataclass
class ReadOutcome:
    """What the map and reduce steps of a run produced."""

    notes: Any  # notes.take.Notes
    stories: list[Any]  # stories.group.Story, every story read this run
    evidence: str  # the crew's {evidence}
    reduced: Any = None  # stories.reduce.Reduced

    @property
    def shown(self) -> list[Any]:
        return [s for s in self.stories if s.status != "unchanged"]


def reader_agent(plan: Any) -> Any:
    """The agent whose model takes the notes: the first that reads {evidence}."""
    readers = plan.evidence_readers() or list(plan.agents.values())[:1]
    return readers[0]


def crew_reserve(plan: Any, runtime: Any, evidence_tokens: int) -> tuple[int, int]:
    """(prompt, output) tokens the crew's tasks are expected to take after the map step."""
    from ..config.templates import placeholders

    prompt = output = 0
    for task in plan.tasks:
        agent = plan.agents.get(task.agent) or plan.manager
        if agent is None:
            continue
        text = " ".join(
            [agent.role, agent.goal, agent.backstory, task.expected_output, task.description]
        )
        prompt += estimate_tokens(text) + CREW_SCAFFOLD_TOKENS
        prompt += TASK_ANSWER_TOKENS * len(task.context)
        if "evidence" in placeholders(task.description):
            prompt += evidence_tokens
        output += TASK_ANSWER_TOKENS
    return prompt, output


def read_sources(
    plan: Any,
    pack: Any,
    runtime: Any,
    store: Any,
    *,
    budget: Budget,
    evidence_budget: Callable[[], int],
    say: Callable[[str], None],
    reader_factory: Callable[..., Any] | None = None,
    all_items: bool = False,
) -> ReadOutcome:
    """Take the notes of the pack's sources, group them into stories and fit them to the crew.

    all_items: the run asked for every item, so stories reported before are told again
    (marked "reported before") instead of being left out as unchanged.
    """
    from ..notes.take import take_notes
    from ..stories.group import group_stories, match_known
    from ..stories.reduce import fit_evidence

    agent = reader_agent(plan)
    guard = None
    if budget.limited:
        reserve_prompt, reserve_output = crew_reserve(plan, runtime, evidence_budget())
        guard = BudgetGuard(
            budget, runtime.ledger, reserve_prompt=reserve_prompt, reserve_output=reserve_output
        )
    if reader_factory is not None:
        reader = reader_factory(runtime, agent, guard)
    else:
        reader = runtime_reader(runtime, agent.llm, agent.options, guard=guard)
    say(
        f"notes: {len(pack.sources)} sources for {reader.models[0]} "
        f"(num_ctx {reader.num_ctx}, {reader.parallel} at once)"
    )
    notes = take_notes(pack.sources, reader=reader, store=store)
    say(
        f"notes: {len(notes)} read ({notes.cached} cached, {notes.calls} calls), "
        f"{len(notes.unread)} unread"
    )
    if not notes.notes:
        return ReadOutcome(notes=notes, stories=[], evidence="")
    by_id = {s.id: s for s in pack.sources}
    stories = match_known(plan.crew, group_stories(notes.notes, by_id), store)
    if all_items:
        for story in stories:
            if story.status == "unchanged":
                story.status = "again"
    shown = [s for s in stories if s.status != "unchanged"]
    summariser = runtime_reader(runtime, agent.llm, agent.options, task=REDUCE_TASK)

    def summarise(messages: list[dict[str, str]], max_tokens: int) -> str:
        return summariser.read(messages, max_tokens=max_tokens).text

    reduced = fit_evidence(
        shown,
        budget_tokens=evidence_budget(),
        window_tokens=summariser.num_ctx,
        summarise=summarise,
        parallel=summariser.parallel,
    )
    new = sum(1 for s in shown if s.status == "new")
    again = sum(1 for s in shown if s.status == "again")
    say(
        f"stories: {len(shown)} ({new} new, {len(shown) - new - again} updated, "
        + (f"{again} reported before, " if again else "")
        + f"{len(stories) - len(shown)} unchanged); evidence ~{reduced.tokens} tokens"
        + (f" after {reduced.levels} level(s) of summaries" if reduced.levels else "")
    )
    return ReadOutcome(notes=notes, stories=stories, evidence=reduced.text, reduced=reduced)
