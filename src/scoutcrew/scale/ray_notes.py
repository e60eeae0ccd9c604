"""The map step on Ray: each batch of sources is read by a Ray task holding one `ollama` slot.

It is the same mechanism as `scoutcrew batch --executor ray` (scale/ray_cluster.py): every
node declares its Ollama's parallel slots as the custom resource "ollama", a task asks for one,
and inside the task the node's own Ollama is found the same way. So a big backlog spreads over
machines without ever giving a host more calls than it can serve.

`RayReader` is a NoteReader (see notes/take.py): `take_notes` keeps the batching, the cache
and the unread rules; only the call moves to the cluster. Each task returns the model's text and
its call records, which the driver adds to its own ledger, so the run's record, budget and
report count the remote calls like local ones.

    reader = RayReader(["ollama/qwen3:8b"], num_ctx=8192, ledger=runtime.ledger)
    notes = take_notes(sources, reader=reader, store=store)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import LLMError
from ..llm.ledger import CallRecord, UsageLedger
from ..notes.take import Reading
from ..text.measure import estimate_tokens
from .jobs import RESOURCE
from .ray_cluster import import_ray, node_ollama_host

if TYPE_CHECKING:
    from ..config.plan import PlannedAgent
    from ..llm.budget import BudgetGuard
    from ..llm.runtime import LLMRuntime


def _read_on_node(job: dict[str, Any]) -> dict[str, Any]:
    """The body of one Ray task: call the node's Ollama once, return the text and the records."""
    from ..llm.runtime import LLMRuntime

    host = node_ollama_host(job.get("hosts") or {})
    ledger = UsageLedger()
    runtime = LLMRuntime(
        ledger=ledger,
        backend="ollama",
        hosts=[host] if host else None,
        default_num_ctx=job["num_ctx"],
    )
    try:
        _result, value, spec = runtime.complete(
            list(job["models"]),
            job["messages"],
            options=job["options"],
            agent="reader",
            task=job["task"],
        )
        return {"text": str(value), "model": spec, "records": _records(ledger)}
    except LLMError as exc:
        return {"error": str(exc), "records": _records(ledger)}
    finally:
        runtime.close()


def _records(ledger: UsageLedger) -> list[dict[str, Any]]:
    return [r.to_dict() for r in ledger.records]


class RayReader:
    """Read note batches as Ray tasks, one `ollama` slot each, on whichever node has one free."""

    def __init__(
        self,
        models: Sequence[str],
        *,
        num_ctx: int,
        ledger: UsageLedger,
        options: Mapping[str, Any] | None = None,
        hosts: Mapping[str, str] | None = None,
        guard: BudgetGuard | None = None,
        task: str = "notes",
    ):
        self.ray = import_ray()
        if not self.ray.is_initialized():
            raise LLMError(
                "the Ray map step needs a running Ray session: call ray.init(address=...) first"
            )
        slots = int(self.ray.cluster_resources().get(RESOURCE, 0))
        if slots < 1:
            raise LLMError(
                "no node of the Ray cluster offers the 'ollama' resource: start each Ollama "
                "machine's node with `ray start ... --resources='{\"ollama\": N}'`"
            )
        self.models = list(models)
        self.num_ctx = num_ctx
        self.parallel = slots
        self.ledger = ledger
        self.options = dict(options or {})
        self.hosts = dict(hosts or {})
        self.guard = guard
        self.task = task
        self._remote = self.ray.remote(num_cpus=0, resources={RESOURCE: 1}, max_retries=1)(
            _read_on_node
        )

    def read(self, messages: list[dict[str, str]], *, max_tokens: int) -> Reading:
        prompt = sum(estimate_tokens(m["content"]) for m in messages)
        if self.guard is not None:
            self.guard.acquire(prompt, max_tokens)
        try:
            job = {
                "models": self.models,
                "messages": messages,
                "options": {**self.options, "num_predict": max_tokens},
                "num_ctx": self.num_ctx,
                "hosts": self.hosts,
                "task": self.task,
            }
            data = self.ray.get(self._remote.remote(job))
        finally:
            if self.guard is not None:
                self.guard.release(prompt, max_tokens)
        for record in data.get("records") or []:
            self.ledger.add(CallRecord(**record))
        if "error" in data:
            raise LLMError(data["error"])
        return Reading(text=data["text"], model=data["model"])


def ray_reader_factory(
    address: str | None = None,
) -> Callable[[LLMRuntime, PlannedAgent, BudgetGuard | None], RayReader]:
    """A `RunOptions.reader_factory` that takes a run's notes on Ray (connecting to `address`,
    or the running session); the crew's own calls stay on the run's runtime."""

    def build(runtime: LLMRuntime, agent: PlannedAgent, guard: BudgetGuard | None) -> RayReader:
        ray = import_ray()
        if not ray.is_initialized():
            ray.init(address=address or "auto", log_to_driver=False)
        models = runtime.resolve_chain(agent.llm)
        options = {
            k: v
            for k, v in vars(agent.options).items()
            if v is not None and k in {"temperature", "seed", "keep_alive"}
        }
        return RayReader(
            models,
            num_ctx=runtime.num_ctx(models[0], agent.options),
            ledger=runtime.ledger,
            options=options,
            guard=guard,
        )

    return build
