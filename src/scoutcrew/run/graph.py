"""The run as one LangGraph graph: every crew run, feeds or research, goes through it.

    gather -> select -> notes -> stories -> [review evidence] -> fit -> task (xN) -> verify
        -> publish                                         (crews that read feeds and searches)
    research (plan, search, read, reflect: a subgraph) -> [review evidence] -> task (xN) -> ...

and the turns off the main road: nothing new (after select, or after stories when every story
was told before), nothing read (after notes: the budget allowed no call, or every call
failed), a crew whose tasks read no {evidence} (straight to its tasks), and the reviews that
stop for a person (`--review-plan` inside the research loop, `--review-evidence`).

Each step is a node that returns only what it changed (run/state.py); the checkpointer saves
the state after every step, so `scoutcrew resume RUN` goes on from the last finished one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

# LangGraph reads the nodes' annotations when the graph is built: Runtime must be importable.
from langgraph.runtime import Runtime

from .context import RunContext
from .gathering import gather_node, nothing_new_node, select_node
from .reading import after_notes, fit_node, notes_node, nothing_read_node, shown, stories_node
from .research import research_node
from .review import review_evidence_node
from .state import RunState
from .writing import (
    after_task,
    check_interrupted,
    needs_evidence,
    out_of_budget_node,
    publish_node,
    task_node,
    told_before_node,
    verify_node,
)

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.graph.state import CompiledStateGraph

Node = Callable[[RunContext, RunState], RunState]


def build_graph(
    checkpointer: BaseCheckpointSaver[str],
) -> CompiledStateGraph[RunState, RunContext, RunState, RunState]:
    """Compile the run's graph with its checkpointer; nodes get the run's context."""
    from langgraph.graph import END, START, StateGraph

    graph = StateGraph(RunState, context_schema=RunContext)
    for name, node in NODES.items():
        graph.add_node(name, _with_context(node))

    def start(state: RunState, runtime: Runtime[RunContext]) -> str:
        return "research" if runtime.context.plan.config.process == "research" else "gather"

    def after_select(state: RunState, runtime: Runtime[RunContext]) -> str:
        ctx = runtime.context
        if not needs_evidence(ctx.plan):
            return "task"  # no task reads {evidence}: the crew gets the pack as it is
        if not state["pack"].sources and not ctx.all_items:
            return "nothing_new"
        return "notes"

    def after_stories(state: RunState, runtime: Runtime[RunContext]) -> str:
        if not shown(state["stories"]):
            return "told_before"
        return "review_evidence" if runtime.context.options.review_evidence else "fit"

    def after_research(state: RunState, runtime: Runtime[RunContext]) -> str:
        return "review_evidence" if runtime.context.options.review_evidence else "task"

    def after_review(state: RunState) -> str:
        return "task" if state.get("research") else "fit"

    def next_task(state: RunState, runtime: Runtime[RunContext]) -> str:
        return after_task(runtime.context, state)

    graph.add_conditional_edges(START, start, ["research", "gather"])
    graph.add_edge("gather", "select")
    graph.add_conditional_edges("select", after_select, ["task", "nothing_new", "notes"])
    graph.add_conditional_edges("notes", after_notes, ["stories", "out_of_budget", "nothing_read"])
    graph.add_conditional_edges("stories", after_stories, ["told_before", "review_evidence", "fit"])
    graph.add_conditional_edges("research", after_research, ["review_evidence", "task"])
    graph.add_conditional_edges("review_evidence", after_review, ["task", "fit"])
    graph.add_edge("fit", "task")
    graph.add_edge("out_of_budget", "verify")
    graph.add_conditional_edges("task", next_task, ["task", "verify"])
    graph.add_edge("verify", "publish")
    for last in ("publish", "nothing_new", "told_before", "nothing_read"):
        graph.add_edge(last, END)
    return graph.compile(checkpointer=checkpointer)


NODES: dict[str, Node] = {
    "gather": gather_node,
    "select": select_node,
    "notes": notes_node,
    "stories": stories_node,
    "review_evidence": review_evidence_node,
    "fit": fit_node,
    "research": research_node,
    "task": task_node,
    "verify": verify_node,
    "publish": publish_node,
    "nothing_new": nothing_new_node,
    "told_before": told_before_node,
    "out_of_budget": out_of_budget_node,
    "nothing_read": nothing_read_node,
}


class Step(Protocol):
    """A node as LangGraph calls it: the state, and the run's context as `runtime`."""

    def __call__(self, state: RunState, *, runtime: Runtime[RunContext]) -> RunState: ...


def _with_context(node: Node) -> Step:
    def step(state: RunState, *, runtime: Runtime[RunContext]) -> RunState:
        # A Ctrl-C that crewai swallowed left the runtime aborted: no further step starts.
        check_interrupted(runtime.context.runtime)
        return node(runtime.context, state)

    step.__name__ = node.__name__
    return step
