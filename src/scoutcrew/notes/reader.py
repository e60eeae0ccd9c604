"""The model side of the map and reduce steps: a note reader on the LLM runtime, and budgets.

notes/take.py and notes/reduce.py never call a model themselves; they take a reader.
`runtime_reader` builds one on an LLMRuntime, so note taking goes through the same native
Ollama backend, ledger, model chains and retries as the crew's agents, and stops at the run's
`Budget` before a call would pass it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..config.models import ModelOptions
from ..llm.budget import BudgetGuard
from ..text.measure import estimate_tokens
from .take import Reading

if TYPE_CHECKING:
    from ..llm.runtime import LLMRuntime

NOTES_TASK = "notes"
REDUCE_TASK = "reduce"

# A model's settings: an agent's options from its YAML, or plain keys for one call.
Options = ModelOptions | dict[str, Any] | None


class RuntimeReader:
    """A NoteReader on an LLMRuntime: one chain, its num_ctx, the host's parallel slots."""

    def __init__(
        self,
        runtime: LLMRuntime,
        chain: Sequence[str] | str,
        options: Options = None,
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
        # Sources per call: what the model's measured profile allows (one at a time for a
        # model that mixes their ids up); None: as many as fit.
        profile = runtime.profile(self.models[0]) if hasattr(runtime, "profile") else None
        self.max_batch = profile.notes_batch if profile is not None else None
        self.guard = guard
        self.task = task
        self.agent = agent

    def read(self, messages: list[dict[str, str]], *, max_tokens: int) -> Reading:
        prompt = sum(estimate_tokens(m["content"]) for m in messages)
        if self.guard is not None:
            self.guard.acquire(prompt, max_tokens)
        try:
            options = _with_num_predict(self.options, max_tokens)
            result, value, spec = self.runtime.complete(
                self.models, messages, options=options, agent=self.agent, task=self.task
            )
        finally:
            if self.guard is not None:
                self.guard.release(prompt, max_tokens)
        return Reading(text=str(value), model=spec, cut=result.done_reason == "length")


def runtime_reader(
    runtime: LLMRuntime,
    chain: Sequence[str] | str,
    options: Options = None,
    *,
    guard: BudgetGuard | None = None,
    parallel: int | None = None,
    task: str = NOTES_TASK,
) -> RuntimeReader:
    """Build the reader `take_notes` uses on `runtime` (see notes/take.py)."""
    return RuntimeReader(runtime, chain, options, guard=guard, parallel=parallel, task=task)


def host_slots(runtime: LLMRuntime, spec: str) -> int:
    """How many calls may run at once: OLLAMA_NUM_PARALLEL per Ollama host; 1 in process."""
    if spec.startswith("embedded/"):
        return 1
    per_host = max(1, int(os.environ.get("OLLAMA_NUM_PARALLEL", "1") or 1))
    hosts = 1 if "@" in spec else max(1, len(runtime.hosts))
    return per_host * hosts


def _with_num_predict(options: Options, max_tokens: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if options is not None:
        items = options.items() if isinstance(options, dict) else options.model_dump().items()
        out = {k: v for k, v in items if v is not None}
    out["num_predict"] = min(int(out.get("num_predict") or max_tokens), max_tokens)
    out.setdefault("temperature", 0.1)
    return out
