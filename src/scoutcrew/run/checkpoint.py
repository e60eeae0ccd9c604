"""The run's checkpoints: one LangGraph SqliteSaver per project data directory.

Every run is a thread (its id is the run's id); the research loop's checkpoints live in the same
file, under the run's thread, as a subgraph's. The checkpointer is not the run history: that
is the store's `runs` tables (store/runs.py), which `runs`, `show` and the web app read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .state import checkpoint_types

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.types import StateSnapshot

CHECKPOINT_FILE = "checkpoints.sqlite"


@contextmanager
def checkpointer(data_dir: Path) -> Iterator[SqliteSaver]:
    """LangGraph's SqliteSaver on the data directory's checkpoint file.

    Its serializer brings back only the classes the run's state is declared to hold.
    """
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.checkpoint.sqlite import SqliteSaver

    data_dir.mkdir(parents=True, exist_ok=True)
    serde = JsonPlusSerializer(allowed_msgpack_modules=checkpoint_types())
    conn = sqlite3.connect(data_dir / CHECKPOINT_FILE, check_same_thread=False, timeout=30.0)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        yield SqliteSaver(conn, serde=serde)
    finally:
        conn.close()


def thread(run_id: str) -> RunnableConfig:
    """The LangGraph config of a run's thread."""
    return {"configurable": {"thread_id": run_id}}


def saved_state(data_dir: Path, run_id: str) -> dict[str, Any] | None:
    """A run's last checkpointed state, or None if it has none (it never started its graph)."""
    if not (data_dir / CHECKPOINT_FILE).is_file():
        return None
    with checkpointer(data_dir) as saver:
        found = saver.get_tuple(thread(run_id))
    if found is None:
        return None
    return dict(found.checkpoint.get("channel_values") or {})


def research_state(data_dir: Path, run_id: str) -> dict[str, Any] | None:
    """A research run's loop state: its result once the loop ended, else its last step's."""
    state = saved_state(data_dir, run_id)
    if state is None:
        return None
    if state.get("research"):
        return dict(state["research"])
    from .graph import build_graph

    with checkpointer(data_dir) as saver:
        return loop_state(saver, build_graph(saver).get_state(thread(run_id)), run_id)


def loop_state(saver: SqliteSaver, snapshot: StateSnapshot, run_id: str) -> dict[str, Any] | None:
    """The research loop's last checkpointed state while the run's research step is pending."""
    for task in snapshot.tasks:
        if task.name == "research":
            ns = {"thread_id": run_id, "checkpoint_ns": f"research:{task.id}"}
            found = saver.get_tuple({"configurable": ns})
            if found is not None:
                return dict(found.checkpoint.get("channel_values") or {})
    return None
