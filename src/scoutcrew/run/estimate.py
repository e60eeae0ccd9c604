"""What a run would cost, before it runs: calls, tokens and time for `scoutcrew plan`.

The calls and tokens come from the plan itself (the same batching the map step uses, the same
reduce rule, the crew's task prompts). Time comes from the models' measured speeds in the run
history (the servers' own prompt_eval and eval durations); with no history for a model, the
plan says so instead of guessing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..llm.budget import Budget
from ..notes.reader import host_slots
from ..notes.take import (
    OUTPUT_PER_SOURCE,
    cached_notes,
    fixed_prompt_tokens,
    note_messages,
    plan_batches,
)
from ..stories.reduce import SHRINK
from ..text.measure import estimate_tokens
from .reading import crew_reserve, reader_agent

if TYPE_CHECKING:
    from ..config.plan import Plan
    from ..config.project import Project
    from ..llm.runtime import LLMRuntime
    from ..select.pack import EvidencePack
    from ..store.db import Store
    from .options import RunOptions

# A note is about this share of its source, at most OUTPUT_PER_SOURCE tokens.
NOTE_SHARE = 0.3


@dataclass
class Speed:
    prompt_per_s: float | None
    output_per_s: float | None
    calls: int


@dataclass
class Estimate:
    """The expected cost of one run."""

    reader: str
    num_ctx: int
    parallel: int
    sources: int
    cached: int
    note_calls: int
    note_prompt: int
    note_output: int
    reduce_calls: int
    reduce_levels: int
    reduce_prompt: int
    reduce_output: int
    crew_calls: int
    crew_prompt: int
    crew_output: int
    evidence_budget: int
    budget: Budget
    readable: int  # sources the budget lets the run read
    speeds: dict[str, Speed] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        return self.note_calls + self.reduce_calls + self.crew_calls

    @property
    def prompt_tokens(self) -> int:
        return self.note_prompt + self.reduce_prompt + self.crew_prompt

    @property
    def output_tokens(self) -> int:
        return self.note_output + self.reduce_output + self.crew_output


def measured_speeds(store: Store, specs: list[str]) -> dict[str, Speed]:
    """Prompt and output tokens per second of each model over its successful recorded calls."""
    out = {}
    for spec in dict.fromkeys(specs):
        row = store.execute(
            "SELECT COUNT(*) AS n, SUM(prompt_tokens) AS p, SUM(prompt_eval_ms) AS pm,"
            " SUM(completion_tokens) AS c, SUM(eval_ms) AS cm FROM llm_calls"
            " WHERE spec = ? AND ok = 1 AND eval_ms > 0",
            [spec],
        )[0]
        prompt = row["p"] / (row["pm"] / 1000) if row["pm"] else None
        output = row["c"] / (row["cm"] / 1000) if row["cm"] else None
        out[spec] = Speed(prompt, output, int(row["n"] or 0))
    return out


def estimate_run(
    plan: Plan,
    pack: EvidencePack,
    runtime: LLMRuntime,
    store: Store,
    budget: Budget,
    evidence_budget: int,
) -> Estimate:
    """Estimate the calls and tokens of a run over `pack` (no model is called)."""
    agent = reader_agent(plan)
    models = runtime.resolve_chain(agent.llm)
    num_ctx = runtime.num_ctx(models[0], agent.options)
    cached = cached_notes(store, pack.sources, models)
    todo = [s for s in pack.sources if s.id not in cached]
    batches, _ = plan_batches(todo, num_ctx)
    note_prompt = sum(
        sum(estimate_tokens(m["content"]) for m in note_messages(b)) + 24 for b in batches
    )
    per_source = [
        min(OUTPUT_PER_SOURCE, math.ceil(NOTE_SHARE * estimate_tokens(s.render())))
        for s in pack.sources
    ]
    note_output = sum(
        o for s, o in zip(pack.sources, per_source, strict=True) if s.id not in cached
    )
    notes_tokens = sum(per_source) + 12 * len(pack.sources)
    reduce_calls = reduce_levels = reduce_prompt = reduce_output = 0
    tokens = notes_tokens
    room = max(256, int((num_ctx - fixed_prompt_tokens()) / (1 + SHRINK)))
    while tokens > evidence_budget and reduce_levels < 6:
        calls = math.ceil(tokens / room)
        reduce_calls += calls
        reduce_levels += 1
        reduce_prompt += tokens + calls * 150
        tokens = int(tokens * SHRINK)
        reduce_output += tokens
    crew_prompt, crew_output = crew_reserve(plan, min(tokens, evidence_budget))
    readable = len(pack.sources)
    if budget.prompt_tokens is not None:
        room_left = budget.prompt_tokens - crew_prompt
        spent, readable = 0, len(cached)
        for batch in batches:
            cost = sum(estimate_tokens(m["content"]) for m in note_messages(batch)) + 24
            if spent + cost > room_left:
                break
            spent += cost
            readable += len(batch)
    specs = list(models)
    for task in plan.tasks:
        owner = plan.agents.get(task.agent) or plan.manager
        if owner is not None:
            specs.append(runtime.resolve_chain(owner.llm)[0])
    return Estimate(
        reader=models[0],
        num_ctx=num_ctx,
        parallel=host_slots(runtime, models[0]),
        sources=len(pack.sources),
        cached=len(cached),
        note_calls=len(batches),
        note_prompt=note_prompt,
        note_output=note_output,
        reduce_calls=reduce_calls,
        reduce_levels=reduce_levels,
        reduce_prompt=reduce_prompt,
        reduce_output=reduce_output,
        crew_calls=len(plan.tasks),
        crew_prompt=crew_prompt,
        crew_output=crew_output,
        evidence_budget=evidence_budget,
        budget=budget,
        readable=readable,
        speeds=measured_speeds(store, specs),
    )


def format_estimate(e: Estimate) -> list[str]:
    """The plan's lines about reading, the crew, tokens, time and the budget."""
    lines = ["What a run would do (no model was called to plan it):"]
    if e.note_calls:
        lines.append(
            f"  notes: {e.sources - e.cached} sources to read in {e.note_calls} calls "
            f"({e.reader}, num_ctx {e.num_ctx}, {e.parallel} at once), "
            f"~{e.note_prompt} prompt / ~{e.note_output} output tokens"
        )
    if e.cached:
        lines.append(
            f"  notes: {e.cached} sources already have a note in the store (no model call)"
        )
    if e.reduce_calls:
        lines.append(
            f"  reduce: ~{e.reduce_calls} calls in {e.reduce_levels} level(s): the notes do not "
            f"fit the crew's evidence budget ({e.evidence_budget} tokens)"
        )
    lines.append(
        f"  crew: {e.crew_calls} tasks, ~{e.crew_calls} calls or more, "
        f"~{e.crew_prompt} prompt tokens"
    )
    lines.append(
        f"  total: ~{e.calls} calls, ~{e.prompt_tokens} prompt tokens, "
        f"~{e.output_tokens} output tokens"
    )
    lines.append("  " + _time_line(e))
    budget = e.budget
    if not budget.limited:
        lines.append("  budget: none set")
    elif e.readable < e.sources or (
        budget.output_tokens is not None and e.output_tokens > budget.output_tokens
    ):
        lines.append(
            f"  budget ({budget.describe()}): would stop early; about {e.readable} of "
            f"{e.sources} sources read, the rest carried over (status partial)"
        )
    else:
        lines.append(f"  budget ({budget.describe()}): fits")
    return lines


def _time_line(e: Estimate) -> str:
    reader = e.speeds.get(e.reader)
    if reader is None or not reader.prompt_per_s or not reader.output_per_s:
        return (
            f"time: no measured speed for {e.reader} in the run history yet (it is measured on "
            "every run; benchmarks/bench_notes.py measures the embedded engine)"
        )
    seconds = (e.note_prompt + e.reduce_prompt) / reader.prompt_per_s / max(1, e.parallel)
    seconds += (e.note_output + e.reduce_output) / reader.output_per_s / max(1, e.parallel)
    seconds += e.crew_prompt / reader.prompt_per_s + e.crew_output / reader.output_per_s
    return (
        f"time: ~{_duration(seconds)} at {e.reader}'s measured speed "
        f"({reader.prompt_per_s:.0f} prompt tok/s, {reader.output_per_s:.0f} output tok/s "
        f"over {reader.calls} calls)"
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def plan_crew(project: Project, crew: str, options: RunOptions | None = None) -> str:
    """Gather and select, then say what a run would read and estimate its calls, tokens and
    time; no model is called (the speeds come from the run history)."""
    from ..llm.ledger import UsageLedger
    from ..select.pack import format_plan_summary
    from ..store.db import Store, utcnow
    from .execute import load_plan, make_runtime
    from .gathering import gather_evidence
    from .options import STORE_FILE, RunOptions, run_budget
    from .reading import evidence_budget
    from .writing import needs_evidence

    options = options or RunOptions()
    plan = load_plan(project, crew, options)
    if plan.config.process == "research":
        from ..research.run import describe_loop

        return describe_loop(plan)
    runtime = make_runtime(project, options.backend, UsageLedger())
    project.data_dir.mkdir(parents=True, exist_ok=True)
    with Store.open(project.data_dir / STORE_FILE) as store:
        gathered, pack = gather_evidence(plan, store, options.all_items, carried_before=utcnow())
        lines = [format_plan_summary(pack, gathered, full=False), ""]
        if not pack.sources and needs_evidence(plan):
            lines.append(
                "nothing new to read: a run now would make no model call (it ends as 'nothing-new')"
            )
            return "\n".join(lines)
        estimate = estimate_run(
            plan, pack, runtime, store, run_budget(plan, options), evidence_budget(plan, runtime)
        )
    lines += format_estimate(estimate)
    return "\n".join(lines)
