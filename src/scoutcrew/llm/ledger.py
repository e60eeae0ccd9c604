"""Usage records: one CallRecord per model call, collected by a thread-safe UsageLedger.

The run record and the report read the ledger; a progress display subscribes to it. Token
counts are the server's own (Ollama's prompt_eval_count/eval_count, or the embedded engine's),
never crewai's usage_metrics, which over-count.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class CallRecord:
    """One model call (one HTTP request, or one embedded engine call) and what it cost."""

    spec: str
    backend: str
    host: str | None = None
    agent: str | None = None
    task: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_ms: float = 0.0
    load_ms: float = 0.0
    prompt_eval_ms: float = 0.0
    eval_ms: float = 0.0
    wall_ms: float = 0.0
    ok: bool = True
    error: str | None = None
    fallback_from: str | None = None
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    num_ctx: int | None = None
    num_predict: int | None = None  # the output cap the call was sent with
    done_reason: str | None = None  # "stop", or "length" when the cap cut the answer
    mode: str | None = None  # how a writing task's answer was asked for (see llm/cited.py)

    @property
    def cut(self) -> bool:
        """True when the answer stopped at its output cap, not where the model ended it."""
        return self.done_reason == "length"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class UsageLedger:
    """Collect CallRecords from every thread of a run and tell subscribers about each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[CallRecord] = []
        self._subscribers: list[Callable[[CallRecord], None]] = []

    def add(self, record: CallRecord) -> None:
        with self._lock:
            self._records.append(record)
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(record)
            except Exception:  # a broken progress display must not fail the run
                log.exception("usage subscriber failed")

    def preload(self, records: list[CallRecord]) -> None:
        """Add the calls an earlier process of the same run made (no subscriber hears them)."""
        with self._lock:
            self._records[:0] = records

    @property
    def records(self) -> list[CallRecord]:
        with self._lock:
            return list(self._records)

    def subscribe(self, callback: Callable[[CallRecord], None]) -> Callable[[], None]:
        """Call `callback(record)` for every record added from now on; return an unsubscriber."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def totals(self) -> dict[str, int]:
        records = self.records
        return {
            "calls": len(records),
            "failed": sum(1 for r in records if not r.ok),
            "prompt_tokens": sum(r.prompt_tokens for r in records),
            "completion_tokens": sum(r.completion_tokens for r in records),
        }
