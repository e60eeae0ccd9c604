"""Token use per agent and task, as a JSON list and as the plain table a run prints."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .model import agent_of

_COUNTERS = ("calls", "prompt_tokens", "completion_tokens", "wall_ms", "failed", "fallbacks")


def usage_by_agent(usage: Iterable[Any]) -> list[dict[str, Any]]:
    """Return one row per (agent, task): calls, tokens, time, models, failures, fallbacks."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in usage:
        agent, task = agent_of(rec), str(getattr(rec, "task", None) or "-")
        fresh = {"agent": agent, "task": task, "models": [], **dict.fromkeys(_COUNTERS, 0)}
        row = rows.setdefault((agent, task), fresh)
        row["calls"] += 1
        row["prompt_tokens"] += int(getattr(rec, "prompt_tokens", 0) or 0)
        row["completion_tokens"] += int(getattr(rec, "completion_tokens", 0) or 0)
        row["wall_ms"] += float(getattr(rec, "wall_ms", 0) or 0)
        row["failed"] += 0 if getattr(rec, "ok", True) else 1
        row["fallbacks"] += 1 if getattr(rec, "fallback_from", None) else 0
        spec = str(getattr(rec, "spec", "") or "?")
        if spec not in row["models"]:
            row["models"].append(spec)
    return list(rows.values())


def summary_table(usage: Sequence[Any]) -> str:
    """Return a plain-text table of tokens per agent and task, time and models, with a total."""
    rows = usage_by_agent(usage)
    if not rows:
        return "No model calls."
    total = {k: sum(r[k] for r in rows) for k in _COUNTERS}
    total |= {
        "agent": "Total",
        "task": "",
        "models": sorted({m for r in rows for m in r["models"]}),
    }
    header = ("Agent", "Task", "Calls", "Prompt", "Completion", "Time", "Models")
    table = [header, *(_summary_cells(r) for r in rows), _summary_cells(total)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]

    def fmt(row: tuple[str, ...]) -> str:
        cells = enumerate(zip(row, widths, strict=True))
        return "  ".join(c.rjust(w) if 2 <= i <= 5 else c.ljust(w) for i, (c, w) in cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [fmt(row) for row in table]
    return "\n".join([lines[0], rule, *lines[1:-1], rule, lines[-1]])


def _summary_cells(r: dict[str, Any]) -> tuple[str, ...]:
    extras = [f"{r['failed']} failed"] if r["failed"] else []
    extras += [f"{r['fallbacks']} fallback"] if r["fallbacks"] else []
    models = ", ".join(r["models"]) + (f" ({', '.join(extras)})" if extras else "")
    tokens = f"{r['prompt_tokens']:,}", f"{r['completion_tokens']:,}"
    return (r["agent"], r["task"], str(r["calls"]), *tokens, f"{r['wall_ms'] / 1000:.1f}s", models)
