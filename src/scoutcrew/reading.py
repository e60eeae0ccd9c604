"""The model side of the map and reduce steps: a note reader on the LLM runtime, and budgets.

evidence/notes.py and evidence/reduce.py never call a model themselves; they take a reader.
`runtime_reader` builds one on an LLMRuntime, so note taking goes through the same native
Ollama backend, ledger, model chains and retries as the crew's agents, and stops at the run's
`Budget` before a call would pass it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import BudgetExhausted
from .evidence.notes import Reading
from .text import estimate_tokens

NOTES_TASK = "notes"
REDUCE_TASK = "reduce"


@dataclass
class Budget:
    """A cap on one run's model work; None means no cap on that measure."""

    prompt_tokens: int | None = None
    output_tokens: int | None = None
    minutes: float | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def limited(self) -> bool:
        return any(v is not None for v in (self.prompt_tokens, self.output_tokens, self.minutes))

    def describe(self) -> str:
        parts = []
        if self.prompt_tokens is not None:
            parts.append(f"{self.prompt_tokens} prompt tokens")
        if self.output_tokens is not None:
            parts.append(f"{self.output_tokens} output tokens")
        if self.minutes is not None:
            parts.append(f"{self.minutes:g} minutes")
        return ", ".join(parts) or "no limit"

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
            "minutes": self.minutes,
        }


class BudgetGuard:
    """Refuse a model call that would take the run past its budget.

    Spending is read from the run's ledger (the servers' own counts). `reserve` keeps tokens
    and seconds back for the crew's tasks, which come after the map step.
    """

    def __init__(
        self,
        budget: Budget,
        ledger: Any,
        *,
        reserve_prompt: int = 0,
        reserve_output: int = 0,
        reserve_seconds: float = 0.0,
    ):
        self.budget = budget
        self.ledger = ledger
        self.reserve_prompt = reserve_prompt
        self.reserve_output = reserve_output
        self.reserve_seconds = reserve_seconds
        self._lock = threading.Lock()
        self._pending_prompt = 0
        self._pending_output = 0

    def spent(self) -> tuple[int, int]:
        records = self.ledger.records
        return sum(r.prompt_tokens for r in records), sum(r.completion_tokens for r in records)

    def acquire(self, prompt: int, output: int) -> None:
        """Reserve room for one call or raise BudgetExhausted naming the measure."""
        b = self.budget
        with self._lock:
            used_prompt, used_output = self.spent()
            used_prompt += self._pending_prompt
            used_output += self._pending_output
            if b.prompt_tokens is not None and (
                used_prompt + prompt + self.reserve_prompt > b.prompt_tokens
            ):
                raise BudgetExhausted(
                    f"the budget of {b.prompt_tokens} prompt tokens is spent ({used_prompt} used)",
                    limit="prompt_tokens",
                )
            if b.output_tokens is not None and (
                used_output + min(output, 256) + self.reserve_output > b.output_tokens
            ):
                raise BudgetExhausted(
                    f"the budget of {b.output_tokens} output tokens is spent ({used_output} used)",
                    limit="output_tokens",
                )
            if b.minutes is not None:
                elapsed = time.monotonic() - b.started
                if elapsed + self.reserve_seconds > b.minutes * 60:
                    raise BudgetExhausted(
                        f"the budget of {b.minutes:g} minutes is spent ({elapsed / 60:.1f} used)",
                        limit="minutes",
                    )
            self._pending_prompt += prompt
            self._pending_output += output

    def release(self, prompt: int, output: int) -> None:
        with self._lock:
            self._pending_prompt -= prompt
            self._pending_output -= output


class RuntimeReader:
    """A NoteReader on an LLMRuntime: one chain, its num_ctx, the host's parallel slots."""

    def __init__(
        self,
        runtime: Any,
        chain: Sequence[str] | str,
        options: Any = None,
        *,
        guard: BudgetGuard | None = None,
        parallel: int | None = None,
        task: str = NOTES_TASK,
        agent: str = "reader",
    ):
        self.runtime = runtime
        self.models = list(
            runtime.resolve_chain(list(chain) if not isinstance(chain, str) else chain)
        )
        self.options = options
        self.num_ctx = runtime.num_ctx(self.models[0], options)
        self.parallel = parallel or host_slots(runtime, self.models[0])
        self.guard = guard
        self.task = task
        self.agent = agent

    def read(self, messages: list[dict[str, str]], *, max_tokens: int) -> Reading:
        prompt = sum(estimate_tokens(m["content"]) for m in messages)
        if self.guard is not None:
            self.guard.acquire(prompt, max_tokens)
        try:
            options = _with_num_predict(self.options, max_tokens)
            _result, value, spec = self.runtime.complete(
                self.models, messages, options=options, agent=self.agent, task=self.task
            )
        finally:
            if self.guard is not None:
                self.guard.release(prompt, max_tokens)
        return Reading(text=str(value), model=spec)


def runtime_reader(
    runtime: Any,
    chain: Sequence[str] | str,
    options: Any = None,
    *,
    guard: BudgetGuard | None = None,
    parallel: int | None = None,
    task: str = NOTES_TASK,
) -> RuntimeReader:
    """Build the reader `take_notes` uses on `runtime` (see evidence/notes.py)."""
    return RuntimeReader(runtime, chain, options, guard=guard, parallel=parallel, task=task)


def host_slots(runtime: Any, spec: str) -> int:
    """How many calls may run at once: OLLAMA_NUM_PARALLEL per Ollama host; 1 in process."""
    if spec.startswith("embedded/"):
        return 1
    per_host = max(1, int(os.environ.get("OLLAMA_NUM_PARALLEL", "1") or 1))
    hosts = 1 if "@" in spec else max(1, len(runtime.hosts))
    return per_host * hosts


def _with_num_predict(options: Any, max_tokens: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if options is not None:
        items = options.items() if isinstance(options, dict) else vars(options).items()
        out = {k: v for k, v in items if v is not None}
    out["num_predict"] = min(int(out.get("num_predict") or max_tokens), max_tokens)
    out.setdefault("temperature", 0.1)
    return out


# -- one run's reading: notes, stories, reduce -------------------------------------------------

# crewai's scaffolding around a task prompt, and the answer a task is assumed to give.
CREW_SCAFFOLD_TOKENS = 400
TASK_ANSWER_TOKENS = 500


@dataclass
class ReadOutcome:
    """What the map and reduce steps of a run produced."""

    notes: Any  # evidence.notes.Notes
    stories: list[Any]  # evidence.stories.Story, every story read this run
    evidence: str  # the crew's {evidence}
    reduced: Any = None  # evidence.reduce.Reduced

    @property
    def shown(self) -> list[Any]:
        return [s for s in self.stories if s.status != "unchanged"]


def reader_agent(plan: Any) -> Any:
    """The agent whose model takes the notes: the first that reads {evidence}."""
    readers = plan.evidence_readers() or list(plan.agents.values())[:1]
    return readers[0]


def crew_reserve(plan: Any, runtime: Any, evidence_tokens: int) -> tuple[int, int]:
    """(prompt, output) tokens the crew's tasks are expected to take after the map step."""
    from .config.schema import placeholders

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
) -> ReadOutcome:
    """Take the notes of the pack's sources, group them into stories and fit them to the crew."""
    from .evidence.notes import take_notes
    from .evidence.reduce import fit_evidence
    from .evidence.stories import group_stories, match_known

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
    say(
        f"stories: {len(shown)} ({new} new, {len(shown) - new} updated, "
        f"{len(stories) - len(shown)} unchanged); evidence ~{reduced.tokens} tokens"
        + (f" after {reduced.levels} level(s) of summaries" if reduced.levels else "")
    )
    return ReadOutcome(notes=notes, stories=stories, evidence=reduced.text, reduced=reduced)
