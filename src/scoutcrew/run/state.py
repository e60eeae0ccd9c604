"""The run's state: what one crew run knows after each step, checkpointed by LangGraph.

Each node of the graph (run/graph.py) returns only the keys it changed. The values are plain
data and the project's own dataclasses (items, the evidence pack, notes, stories, the
verification); `checkpoint_types` lists every class the checkpointer may bring back, so a
checkpoint can hold nothing else.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Annotated, Any, TypedDict

from ..gather.items import Gathered
from ..notes.take import Notes
from ..prefs.apply import Applied
from ..select.pack import EvidencePack
from ..stories.group import Story
from ..stories.reduce import Reduced
from ..verify.verdicts import Verification


def merge(left: dict[str, str] | None, right: dict[str, str] | None) -> dict[str, str]:
    """Reducer for finished crew tasks: each task step adds its own output."""
    return {**(left or {}), **(right or {})}


class RunState(TypedDict, total=False):
    """Everything a run knows; a node returns the keys it changed."""

    started_at: str  # when gathering began: items first seen since then are this run's
    gathered: Gathered | None  # feeds, searches and pages (None: a research crew)
    pack: EvidencePack  # the [S#] sources the crew may cite
    notes: Notes  # the map step's notes, and what could not be read
    stories: list[Story]  # every story the notes tell, new, updated or unchanged
    preferences: Applied  # the reader's preferences and what they moved (none: as before)
    evidence: str  # the crew's {evidence}: stories and notes, or the research outline
    reduced: Reduced | None  # how the evidence was fitted (levels of summaries)
    research: dict[str, Any]  # the research loop's final state (research crews)
    reviewed: dict[str, list[str]]  # what a person dropped at --review-evidence
    outputs: Annotated[dict[str, str], merge]  # finished crew tasks: name -> answer
    sections: list[tuple[str, str]]  # the report's (heading, text), checked and repaired
    verification: Verification
    report_base: str  # the report files' name, chosen before they are written
    stopped: str  # why the crew's tasks stopped early (a context overflow): the run is partial
    # How the run ended: "ok" | "partial" | "nothing-new"; set by the last node.
    status: str
    message: str
    report: str  # the Markdown report's path


def checkpoint_types(root: type = RunState) -> list[type]:
    """Every dataclass reachable from the state's annotations: what a checkpoint may hold."""
    found: dict[type, None] = {}

    def visit(tp: object) -> None:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            visit(typing.get_args(tp)[0])
            return
        if origin is not None or isinstance(tp, types.UnionType):
            for arg in typing.get_args(tp):
                visit(arg)
            return
        if isinstance(tp, type) and dataclasses.is_dataclass(tp) and tp not in found:
            found[tp] = None
            for hint in typing.get_type_hints(tp).values():
                visit(hint)

    for hint in typing.get_type_hints(root, include_extras=True).values():
        visit(hint)
    return list(found)
