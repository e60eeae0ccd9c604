"""The run's reading: the notes of its sources (the map step), their stories, and the
evidence fitted to the crew's window in levels of summaries (reduce, never cut)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import RunFailed
from ..llm.budget import BudgetGuard
from ..notes.reader import REDUCE_TASK, runtime_reader
from ..text.measure import estimate_tokens
from .review import for_crew
from .state import RunState

if TYPE_CHECKING:
    from ..config.plan import Plan, PlannedAgent
    from ..llm.runtime import LLMRuntime
    from ..notes.take import Notes
    from ..stories.group import Story
    from .context import RunContext

# crewai wraps each task prompt in its own scaffolding (role, format rules): about this many
# tokens, measured on crewai 1.15 with an agent that has no tools; and the answer a task is
# assumed to give.
CREW_SCAFFOLD_TOKENS = 400
TASK_ANSWER_TOKENS = 500
ANSWER_RESERVE_TOKENS = 1024
MIN_EVIDENCE_TOKENS = 256


def reader_agent(plan: Plan) -> PlannedAgent:
    """The agent whose model takes the notes: the first that reads {evidence}."""
    readers = plan.evidence_readers() or list(plan.agents.values())[:1]
    return readers[0]


def evidence_budget(plan: Plan, runtime: LLMRuntime) -> int:
    """Tokens the evidence may take: the reading model's num_ctx minus the prompt's fixed parts."""
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
        budgets.append(num_ctx - fixed - CREW_SCAFFOLD_TOKENS - reserve)
    return max(MIN_EVIDENCE_TOKENS, min(budgets))


def crew_reserve(plan: Plan, evidence_tokens: int) -> tuple[int, int]:
    """(prompt, output) tokens the crew's tasks are expected to take after the map step."""
    from ..config.schema import placeholders

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


def shown(stories: list[Story]) -> list[Story]:
    """The stories the crew tells: every one but those with nothing new."""
    return [s for s in stories if s.status != "unchanged"]


# -- the nodes ------------------------------------------------------------------------------


def notes_node(ctx: RunContext, state: RunState) -> RunState:
    """Read every new source about once, in batches that fill the reading model's window."""
    from ..notes.take import take_notes

    plan, runtime = ctx.plan, ctx.runtime
    pack = state["pack"]
    agent = reader_agent(plan)
    guard = None
    if ctx.budget.limited:
        reserve_prompt, reserve_output = crew_reserve(plan, evidence_budget(plan, runtime))
        guard = BudgetGuard(
            ctx.budget,
            runtime.ledger,
            reserve_prompt=reserve_prompt,
            reserve_output=reserve_output,
        )
    if ctx.options.reader_factory is not None:
        reader = ctx.options.reader_factory(runtime, agent, guard)
    else:
        reader = runtime_reader(runtime, agent.llm, agent.options, guard=guard)
    ctx.say(
        f"notes: {len(pack.sources)} sources for {reader.models[0]} "
        f"(num_ctx {reader.num_ctx}, {reader.parallel} at once)"
    )
    notes = take_notes(pack.sources, reader=reader, store=ctx.store)
    ctx.say(
        f"notes: {len(notes)} read ({notes.cached} cached, {notes.calls} calls), "
        f"{len(notes.unread)} unread"
    )
    return {"notes": notes}


def after_notes(state: RunState) -> str:
    """Go on with what was read; with nothing read, stop for the budget or fail."""
    notes = state["notes"]
    if notes.notes:
        return "stories"
    if any(reason.startswith("over budget") for _s, reason in notes.unread):
        return "out_of_budget"
    return "nothing_read"


def nothing_read_node(ctx: RunContext, state: RunState) -> RunState:
    """No source could be read by a model (and not for lack of budget): the run fails."""
    unread = state["notes"].unread
    first = next((reason for _s, reason in unread), "no source")
    raise RunFailed(
        f"no source of {ctx.plan.crew} could be read by a model ({len(unread)} unread: "
        f"{first[:297] + '...' if len(first) > 300 else first}); they stay new for the next run"
    )


def stories_node(ctx: RunContext, state: RunState) -> RunState:
    """Group the notes into stories, and match them with the stories reported before."""
    from ..stories.group import group_stories, match_known
    from ..verify.disagree import mark_disagreements

    notes: Notes = state["notes"]
    by_id = {s.id: s for s in state["pack"].sources}
    stories = match_known(ctx.plan.crew, group_stories(notes.notes, by_id), ctx.store)
    mark_disagreements(stories, by_id)  # "sources disagree: S3 says 12, S7 says 15"
    if ctx.all_items:  # every item was asked for: stories reported before are told again
        for story in stories:
            if story.status == "unchanged":
                story.status = "again"
    told = shown(stories)
    new = sum(1 for s in told if s.status == "new")
    again = sum(1 for s in told if s.status == "again")
    ctx.say(
        f"stories: {len(told)} ({new} new, {len(told) - new - again} updated, "
        + (f"{again} reported before, " if again else "")
        + f"{len(stories) - len(told)} unchanged)"
    )
    return {"stories": stories}


def fit_node(ctx: RunContext, state: RunState) -> RunState:
    """Fit the stories' notes to the crew's window: summarise in levels, never cut."""
    from ..stories.reduce import fit_evidence

    agent = reader_agent(ctx.plan)
    summariser = runtime_reader(ctx.runtime, agent.llm, agent.options, task=REDUCE_TASK)

    def summarise(messages: list[dict[str, str]], max_tokens: int) -> str:
        return summariser.read(messages, max_tokens=max_tokens).text

    reduced = fit_evidence(
        for_crew(state),
        budget_tokens=evidence_budget(ctx.plan, ctx.runtime),
        window_tokens=summariser.num_ctx,
        summarise=summarise,
        parallel=summariser.parallel,
    )
    ctx.say(
        f"evidence ~{reduced.tokens} tokens"
        + (f" after {reduced.levels} level(s) of summaries" if reduced.levels else "")
    )
    return {"evidence": reduced.text, "reduced": reduced}
