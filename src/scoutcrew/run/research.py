"""The research loop as a step of the run: plan, search, read, reflect, in rounds, as a
LangGraph subgraph under the run's own thread and checkpointer (research crews only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import RunFailed
from ..llm.budget import BudgetGuard
from ..store.db import utcnow
from .gathering import pack_record
from .state import RunState

if TYPE_CHECKING:
    from .context import RunContext


def research_node(ctx: RunContext, state: RunState) -> RunState:
    """Run the crew's research loop (or continue it from its last step); its notes become
    the crew's sources and its outline the crew's {evidence}."""
    from ..research.loop import build_graph
    from ..research.result import evidence_text, research_pack
    from ..research.run import degraded_of, loop_context, no_sources_message
    from ..research.state import initial_state

    plan = ctx.plan
    loop = loop_context(
        plan,
        store=ctx.store,
        runtime=ctx.runtime,
        say=ctx.say,
        search_backend=ctx.search_backend,
        guard=BudgetGuard(ctx.budget, ctx.runtime.ledger),
    )
    # Compiled without a checkpointer, the loop runs as a subgraph: its steps are checkpointed
    # in the run's thread, and called again it continues from the last of them.
    graph = build_graph(loop, None)
    topic = plan.inputs.get("topic") or plan.config.description
    first = initial_state(topic, state.get("started_at") or utcnow(), ctx.options.review_plan)
    final: dict[str, Any] = dict(graph.invoke(first))
    pack = research_pack(final, degraded_of(final))
    if not pack.sources:  # the search, or the model: the message says which failed
        raise RunFailed(no_sources_message(final, plan.crew, ctx.run_id))
    ctx.recorder.save_evidence(pack_record(pack, None), [str(n) for n in pack.notes], [])
    return {"research": final, "pack": pack, "evidence": evidence_text(final, pack)}
