"""What the nodes of a run work with that is not checkpointed: the plan, the store, the LLM
runtime, the run record, the progress printer. Rebuilt for every process that runs or resumes
the run, and handed to LangGraph as the graph's runtime context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config.plan import Plan
    from ..gather.search import Searcher, SearchFn
    from ..llm.budget import Budget
    from ..llm.runtime import LLMRuntime
    from ..store.db import Store
    from ..store.runs import RunRecorder
    from .options import RunOptions


@dataclass
class RunContext:
    """The run's collaborators, as the graph's nodes receive them."""

    plan: Plan
    options: RunOptions
    store: Store
    runtime: LLMRuntime
    recorder: RunRecorder
    budget: Budget
    say: Callable[[str], None]
    search_backend: Searcher | SearchFn | None = None

    @property
    def run_id(self) -> str:
        return self.recorder.run_id

    @property
    def all_items(self) -> bool:
        return self.options.all_items or self.plan.sources.all_items
