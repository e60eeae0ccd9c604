"""The research loop as a LangGraph graph: plan -> (review) -> search -> read -> reflect ->
(search again | outline).

Every node does its model work through the LLM runtime (native Ollama backend, ledger, model
chains) in the words of the crew's research agent, and its search and page work through
gather (store caches, fetch limits, address rules, page extraction). The graph's state is
plain data, checkpointed in SQLite after every step, so a run killed at any point continues
from its last finished step; searches, pages and notes done before the kill come from the
store's caches and the checkpoint, not from the network or a model again.

The loop stops after `rounds` rounds, when the token budget would be passed, when reflection
finds no gap, or when the gaps bring no new query. Each decision is kept in the state: the
queries and why, the pages read and why, the gaps, the reason the loop stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from .nodes import (
    after_reflect,
    outline_node,
    plan_node,
    read_node,
    reflect_node,
    review_node,
    search_node,
)
from .state import LoopContext, ResearchState

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.graph.state import CompiledStateGraph

# -- the graph -----------------------------------------------------------------------------------


class Step(Protocol):
    """A node as the graph calls it: the state in, the state's updates out."""

    def __call__(self, state: ResearchState) -> dict[str, Any]: ...


def build_graph(
    ctx: LoopContext, checkpointer: BaseCheckpointSaver[str] | None
) -> CompiledStateGraph[ResearchState, None, ResearchState, ResearchState]:
    """Compile the loop with its checkpointer (a LangGraph SqliteSaver)."""
    from langgraph.graph import END, START, StateGraph

    def node(
        fn: Callable[[LoopContext, ResearchState], dict[str, Any]],
    ) -> Step:
        def run(state: ResearchState) -> dict[str, Any]:
            return fn(ctx, state)

        run.__name__ = fn.__name__
        return run

    graph = StateGraph(ResearchState)
    graph.add_node("plan", node(plan_node))
    graph.add_node("review", node(review_node))
    graph.add_node("search", node(search_node))
    graph.add_node("read", node(read_node))
    graph.add_node("reflect", node(reflect_node))
    graph.add_node("outline", node(outline_node))
    graph.add_edge(START, "plan")
    graph.add_conditional_edges(
        "plan", lambda s: "review" if s.get("review") else "search", ["review", "search"]
    )
    graph.add_edge("review", "search")
    graph.add_edge("search", "read")
    graph.add_edge("read", "reflect")
    graph.add_conditional_edges("reflect", after_reflect, ["search", "outline"])
    graph.add_edge("outline", END)
    return graph.compile(checkpointer=checkpointer)
