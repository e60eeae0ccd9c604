"""The research loop's state and what its nodes work with: the checkpointed state, the
context (settings, agent, runtime, store), the spending of each node and the note reader."""

from __future__ import annotations

import logging
import operator
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from ..errors import BudgetExhausted
from ..notes.take import Reading
from ..text.measure import estimate_tokens

if TYPE_CHECKING:
    from ..config.models import ModelOptions, ResearchConfig, SourcesConfig
    from ..config.plan import PlannedAgent
    from ..gather.search import Searcher, SearchFn
    from ..llm.budget import BudgetGuard
    from ..llm.runtime import LLMRuntime
    from ..store.db import Store

log = logging.getLogger(__name__)


PLAN_TASK = "research:plan"
REFLECT_TASK = "research:reflect"
NOTES_TASK = "research:notes"
PLAN_OUTPUT_TOKENS = 700
# Of each page's main text, what the state keeps for checking the brief's figures later
# (the note is taken from the first `page_tokens` of it).
PAGE_TEXT_KEPT = 8000
REFLECT_OUTPUT_TOKENS = 600


# -- state -------------------------------------------------------------------------------------


def _spend(left: dict[str, int] | None, right: dict[str, int] | None) -> dict[str, int]:
    out = dict(left or {})
    for key, value in (right or {}).items():
        out[key] = out.get(key, 0) + value
    return out


class ResearchState(TypedDict, total=False):
    """Everything the loop knows; plain data, so every step's state can be checkpointed."""

    topic: str
    started_at: str
    round: int
    questions: list[dict[str, Any]]  # {id, question, queries, perspective}
    plan_source: str  # "model" | "fallback" | "edited"
    pending: list[dict[str, Any]]  # this round's queries: {query, question, why}
    searches: Annotated[list[dict[str, Any]], operator.add]
    results: list[dict[str, Any]]  # this round's results: {url, title, snippet, query, ...}
    pages: Annotated[list[dict[str, Any]], operator.add]  # every page chosen, read or not
    reflections: Annotated[list[dict[str, Any]], operator.add]
    trail: Annotated[list[dict[str, Any]], operator.add]  # {round, step, text}
    spent: Annotated[dict[str, int], _spend]  # calls, prompt_tokens, completion_tokens
    costs: Annotated[list[dict[str, Any]], operator.add]  # the same, per round and step
    budget_hit: bool
    review: bool  # stop after the plan for a person to edit it
    stop: str


@dataclass
class LoopContext:
    """What the nodes work with (not part of the checkpointed state)."""

    settings: ResearchConfig
    sources: SourcesConfig
    agent: PlannedAgent  # whose words and models the loop uses
    fallback_queries: list[str]
    runtime: LLMRuntime
    store: Store
    project_root: Path
    search_backend: Searcher | SearchFn | None = None
    say: Callable[[str], None] = log.info
    # The run's own budget (prompt tokens, output tokens, minutes: reading.BudgetGuard), on
    # top of the loop's token_budget; None: no run budget.
    guard: BudgetGuard | None = None

    @property
    def chain(self) -> list[str]:
        return list(self.runtime.resolve_chain(self.agent.llm))

    def options(self, num_predict: int) -> ModelOptions:
        options = self.agent.options
        if getattr(options, "num_predict", None):
            return options
        return options.model_copy(update={"num_predict": num_predict})

    def system(self, rules: str) -> str:
        agent = self.agent
        return f"You are the {agent.role}. {agent.goal}\n{agent.backstory}\n\n{rules}"


# -- spending and the budget --------------------------------------------------------------------


class Spending:
    """The model tokens one node spends, and the budget check before each of its calls."""

    def __init__(self, ctx: LoopContext, state: ResearchState):
        self.ctx = ctx
        self.before = dict(state.get("spent") or {})
        self.mark = len(ctx.runtime.ledger.records)

    def cost(self, rnd: int, step: str) -> list[dict[str, Any]]:
        """This node's spending as one entry of the state's per-round costs."""
        delta = self.delta()
        return [{"round": rnd, "step": step, **delta}] if delta["calls"] else []

    def delta(self) -> dict[str, int]:
        records = self.ctx.runtime.ledger.records[self.mark :]
        return {
            "calls": len(records),
            "prompt_tokens": sum(r.prompt_tokens for r in records),
            "completion_tokens": sum(r.completion_tokens for r in records),
        }

    def total(self) -> int:
        now = _spend(self.before, self.delta())
        return now.get("prompt_tokens", 0) + now.get("completion_tokens", 0)

    def check(self, messages: list[dict[str, str]], max_output: int) -> None:
        """Refuse a call that could take the loop past its token budget or the run's budget."""
        prompt = sum(estimate_tokens(str(m.get("content") or "")) + 4 for m in messages) + 24
        if self.ctx.guard is not None:  # raises BudgetExhausted naming the measure
            self.ctx.guard.acquire(prompt, max_output)
            self.ctx.guard.release(prompt, max_output)  # the call runs now; the ledger counts it
        budget = self.ctx.settings.token_budget
        if budget is None:
            return
        if self.total() + prompt + max_output > budget:
            raise BudgetExhausted(
                f"the research budget of {budget} tokens is spent ({self.total()} used; the "
                f"next call needs about {prompt + max_output})",
                limit=f"{budget} tokens",
            )


class LoopReader:
    """The note step's reader: the research agent's chain, with the loop's budget check."""

    parallel = 1

    def __init__(self, ctx: LoopContext, spending: Spending, task: str):
        self.ctx = ctx
        self.spending = spending
        self.task = task
        self.models: Sequence[str] = ctx.chain
        self.num_ctx = ctx.runtime.num_ctx(self.models[0], ctx.agent.options)
        profile = ctx.runtime.profile(self.models[0]) if hasattr(ctx.runtime, "profile") else None
        self.max_batch = profile.notes_batch if profile is not None else None

    def read(self, messages: list[dict[str, str]], *, max_tokens: int) -> Reading:
        self.spending.check(messages, max_tokens)
        result, text, spec = self.ctx.runtime.complete(
            self.models,
            messages,
            options=self.ctx.options(max_tokens),
            agent=self.ctx.agent.name,
            task=self.task,
        )
        return Reading(text=str(text), model=spec, cut=result.done_reason == "length")


STOP_REASONS = {
    "budget": "stopped: the token budget would be passed",
    "no gaps": "stopped: every sub-question is answered",
    "rounds": "stopped: the last round is done",
    "no new queries": "stopped: the gaps bring no query not searched already",
}


def initial_state(topic: str, started_at: str, review: bool = False) -> ResearchState:
    return {
        "topic": topic,
        "started_at": started_at,
        "review": review,
        "round": 1,
        "pending": [],
        "searches": [],
        "results": [],
        "pages": [],
        "reflections": [],
        "trail": [],
        "spent": {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0},
        "costs": [],
        "budget_hit": False,
        "stop": "",
    }


def event(rnd: int, step: str, text: str) -> dict[str, Any]:
    return {"round": rnd, "step": step, "text": text, "at": time.time()}
