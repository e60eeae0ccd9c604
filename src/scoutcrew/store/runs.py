"""Run history: every run, each task's output as it completes, each model call's real usage.

This is the project's own accounting. crewai's crew.usage_metrics over-counts (agents sharing
an LLM object, runs accumulating in one process), so it is never read.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import ScoutcrewError
from .db import Store

if TYPE_CHECKING:
    from ..config.project import Project

# The schema lives in store.migrations (migration 2: run history).

CALL_FIELDS = (
    "spec backend host agent task prompt_tokens completion_tokens total_ms load_ms "
    "prompt_eval_ms eval_ms wall_ms ok error fallback_from started_at"
).split()


class RunNotFound(ScoutcrewError):
    """No run with that id (or id prefix) is in the store."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def config_hash(*texts: str) -> str:
    """Hash the YAML a run was planned from, so `show` can tell when it changed since."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@dataclass
class RunRow:
    id: str
    crew: str
    status: str
    started_at: str
    ended_at: str | None
    report: str | None
    error: str | None
    prompt_tokens: int
    completion_tokens: int
    calls: int


class RunRecorder:
    """Write one run's record as it happens, so a crash or Ctrl-C loses nothing."""

    def __init__(self, store: Store, run_id: str):
        self.store = store
        self.run_id = run_id

    @classmethod
    def start(
        cls,
        store: Store,
        crew: str,
        *,
        cfg_hash: str,
        inputs: dict[str, str],
        options: dict[str, Any],
    ) -> RunRecorder:
        run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO runs (id, crew, config_hash, inputs, options, status, started_at)"
                " VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (run_id, crew, cfg_hash, json.dumps(inputs), json.dumps(options), now()),
            )
        return cls(store, run_id)

    def save_evidence(self, evidence: dict, notes: list[str], degraded: list[str]) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE runs SET evidence = ?, notes = ?, degraded = ? WHERE id = ?",
                (json.dumps(evidence), json.dumps(notes), json.dumps(degraded), self.run_id),
            )

    def task_done(self, position: int, task: str, agent: str | None, output: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO run_tasks (run_id, position, task, agent, output,"
                " finished_at) VALUES (?, ?, ?, ?, ?, ?)",
                (self.run_id, position, task, agent, output, now()),
            )

    def call(self, record: object) -> None:
        """Store one model call (an llm.CallRecord, or its fields) with the server's counts."""
        if is_dataclass(record) and not isinstance(record, type):
            data = asdict(record)
        elif isinstance(record, dict):
            data = dict(record)
        else:
            raise TypeError(f"not a call record: {record!r}")
        values = [data.get(name) for name in CALL_FIELDS]
        values[CALL_FIELDS.index("ok")] = int(bool(data.get("ok", True)))
        with self.store.transaction() as conn:
            conn.execute(
                f"INSERT INTO llm_calls (run_id, {', '.join(CALL_FIELDS)}) "
                f"VALUES (?, {', '.join('?' * len(CALL_FIELDS))})",
                (self.run_id, *values),
            )

    def calls(self) -> list[dict[str, Any]]:
        """The model calls recorded for this run so far, oldest first (CallRecord fields)."""
        rows = self.store.execute(
            f"SELECT {', '.join(CALL_FIELDS)} FROM llm_calls WHERE run_id = ? ORDER BY id",
            [self.run_id],
        )
        return [dict(row) | {"ok": bool(row["ok"])} for row in rows]

    def replay(self) -> RunAnswers:
        """The answers this run was given, keyed by call (see llm.runtime's `replay`)."""
        return RunAnswers(self.store, self.run_id)

    def forget_replay(self) -> None:
        """Drop the run's kept answers: a finished run is never continued."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM run_answers WHERE run_id = ?", (self.run_id,))

    def finish(self, status: str, *, report: str | None = None, error: str | None = None) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, ended_at = ?, report = COALESCE(?, report),"
                " error = ? WHERE id = ?",
                (status, now(), report, error, self.run_id),
            )


class RunAnswers:
    """The model answers one run was given: a call asked again by the same run, after a
    crash or an interrupt, gets its answer back instead of being paid again."""

    def __init__(self, store: Store, run_id: str):
        self.store = store
        self.run_id = run_id

    def get(self, key: str) -> dict[str, Any] | None:
        rows = self.store.execute(
            "SELECT answer FROM run_answers WHERE run_id = ? AND key = ?", [self.run_id, key]
        )
        return json.loads(rows[0]["answer"]) if rows else None

    def put(self, key: str, answer: dict[str, Any]) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO run_answers (run_id, key, answer, created)"
                " VALUES (?, ?, ?, ?)",
                (self.run_id, key, json.dumps(answer), now()),
            )


def mark_stale(store: Store, crew: str) -> int:
    """Mark runs of `crew` still recorded as running as interrupted; call with its lock held."""
    with store.transaction() as conn:
        cursor = conn.execute(
            "UPDATE runs SET status = 'interrupted', ended_at = COALESCE(ended_at, ?),"
            " error = COALESCE(error, 'the process ended before the run finished;"
            " `scoutcrew resume ' || id || '` continues it')"
            " WHERE crew = ? AND status = 'running'",
            (now(), crew),
        )
    return cursor.rowcount


def mark_dead_runs(store: Store, project: Project) -> int:
    """Mark runs recorded as running whose process is gone as interrupted; return how many.

    Without taking any lock (that could refuse a run starting at the same moment): a running
    record is dead when its crew's lock names no holder, a holder whose process no longer
    exists, or a holder that took the lock after the record's run had started.
    """
    from .locks import lock_owner, process_alive

    rows = store.execute("SELECT id, crew, started_at FROM runs WHERE status = 'running'")
    dead: list[tuple[str, str]] = []
    for row in rows:
        owner = lock_owner(project, row["crew"])
        if owner is None:
            why = "the process running it ended before the run finished"
        elif not process_alive(owner["pid"]):
            why = f"its process (pid {owner['pid']}) ended before the run finished"
        elif _stamp(owner["since"]) > _stamp(row["started_at"]):
            why = "the process running it ended; a later run holds the crew's lock"
        else:
            continue
        dead.append((row["id"], why))
    with store.transaction() as conn:
        for run_id, why in dead:
            conn.execute(
                "UPDATE runs SET status = 'interrupted', ended_at = COALESCE(ended_at, ?),"
                " error = COALESCE(error, ?) WHERE id = ? AND status = 'running'",
                (now(), f"{why}; `scoutcrew resume {run_id}` continues it", run_id),
            )
    return len(dead)


def _stamp(iso: str) -> str:
    """An ISO time as 'YYYY-MM-DDTHH:MM:SS' (UTC), comparable as text at second precision."""
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso[:19]
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S")


def list_runs(store: Store, crew: str | None = None, limit: int = 20) -> list[RunRow]:
    """The latest runs, newest first, with their token totals."""
    where, params = ("WHERE r.crew = ?", [crew]) if crew else ("", [])
    rows = store.execute(
        "SELECT r.id, r.crew, r.status, r.started_at, r.ended_at, r.report, r.error,"
        " COALESCE(SUM(c.prompt_tokens), 0) AS p, COALESCE(SUM(c.completion_tokens), 0) AS c,"
        f" COUNT(c.id) AS n FROM runs r LEFT JOIN llm_calls c ON c.run_id = r.id {where}"
        " GROUP BY r.id ORDER BY r.started_at DESC, r.rowid DESC LIMIT ?",
        [*params, limit],
    )
    return [RunRow(*row) for row in rows]


def get_run(store: Store, run_id: str) -> dict[str, Any]:
    """One run with its tasks and calls; `run_id` may be a unique prefix."""
    rows = store.execute("SELECT * FROM runs WHERE id LIKE ? ORDER BY id", [run_id + "%"])
    if not rows:
        raise RunNotFound(f"no run '{run_id}': `scoutcrew runs` lists them")
    if len(rows) > 1:
        ids = ", ".join(r["id"] for r in rows[:5])
        raise RunNotFound(f"'{run_id}' matches several runs ({ids}): give more of the id")
    run = dict(rows[0])
    for key in ("inputs", "options", "evidence", "notes", "degraded"):
        run[key] = json.loads(run[key]) if run.get(key) else None
    run["tasks"] = [
        dict(r)
        for r in store.execute(
            "SELECT position, task, agent, output, finished_at FROM run_tasks"
            " WHERE run_id = ? ORDER BY position",
            [run["id"]],
        )
    ]
    run["calls"] = [
        dict(r)
        for r in store.execute("SELECT * FROM llm_calls WHERE run_id = ? ORDER BY id", [run["id"]])
    ]
    return run


def last_run(store: Store, crew: str) -> RunRow | None:
    runs = list_runs(store, crew, limit=1)
    return runs[0] if runs else None


def format_runs(rows: list[RunRow]) -> str:
    if not rows:
        return "no runs yet"
    lines = [
        f"{'RUN':<23} {'CREW':<16} {'STATUS':<12} {'STARTED':<20} {'CALLS':>5} "
        f"{'PROMPT':>8} {'OUTPUT':>7}"
    ]
    for r in rows:
        lines.append(
            f"{r.id:<23} {r.crew:<16} {r.status:<12} {r.started_at:<20} {r.calls:>5} "
            f"{r.prompt_tokens:>8} {r.completion_tokens:>7}"
        )
    return "\n".join(lines)


def format_run(run: dict[str, Any]) -> str:
    """The detail of one run, for `scoutcrew show`."""
    lines = [
        f"run {run['id']}  crew {run['crew']}  status {run['status']}",
        f"started {run['started_at']}  ended {run.get('ended_at') or '-'}",
        f"inputs {json.dumps(run.get('inputs') or {})}",
        f"report {run.get('report') or '-'}",
    ]
    if run.get("error"):
        lines.append(f"error {run['error']}")
    for note in (run.get("degraded") or []) + (run.get("notes") or []):
        lines.append(f"note {note}")
    lines.append("")
    lines.append(f"tasks ({len(run['tasks'])} finished):")
    for task in run["tasks"]:
        first = " ".join(task["output"].split())[:90]
        lines.append(f"  {task['position'] + 1}. {task['task']} ({task['agent']}): {first}")
    lines.append("")
    lines.append(f"model calls ({len(run['calls'])}):")
    lines.append(
        f"  {'AGENT':<12} {'TASK':<16} {'MODEL':<26} {'PROMPT':>7} {'OUTPUT':>7} {'MS':>8}  NOTE"
    )
    for c in run["calls"]:
        note = "ok" if c["ok"] else f"failed: {c['error']}"
        if c.get("fallback_from"):
            note += f" (fallback from {c['fallback_from']})"
        lines.append(
            f"  {str(c['agent'] or '-'):<12} {str(c['task'] or '-'):<16} {c['spec']:<26} "
            f"{c['prompt_tokens']:>7} {c['completion_tokens']:>7} {c['wall_ms'] or 0:>8.0f}  {note}"
        )
    total_p = sum(c["prompt_tokens"] for c in run["calls"])
    total_c = sum(c["completion_tokens"] for c in run["calls"])
    lines.append(f"  total: {total_p} prompt + {total_c} output tokens")
    return "\n".join(lines)


def import_run(store: Store, run: dict[str, Any]) -> None:
    """Copy a run record (runs.get_run's shape) into this store, keeping its id."""
    tables = {row[0] for row in store.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "runs" not in tables:
        return
    row = {k: v for k, v in run.items() if k not in ("tasks", "calls")}
    for key in ("inputs", "options", "evidence", "notes", "degraded"):
        if key in row and row[key] is not None and not isinstance(row[key], str):
            row[key] = json.dumps(row[key])
    with store.transaction() as conn:
        _insert(conn, "runs", row)
        for task in run.get("tasks") or []:
            _insert(conn, "run_tasks", {**task, "run_id": run["id"]})
        for call in run.get("calls") or []:
            _insert(conn, "llm_calls", {k: v for k, v in call.items() if k != "id"})


def _insert(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    marks = ", ".join("?" * len(row))
    conn.execute(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})", list(row.values()))
