"""A cap on one run's model work, and the guard that refuses a call that would pass it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import BudgetExhausted
from .ledger import UsageLedger


@dataclass
class Budget:
    """A cap on one run's model work; None means no cap on that measure."""

    prompt_tokens: int | None = None
    output_tokens: int | None = None
    minutes: float | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def limited(self) -> bool:
        return any(v is not None for v in (self.prompt_tokens, self.output_tokens, self.minutes))

    def describe(self) -> str:
        parts = []
        if self.prompt_tokens is not None:
            parts.append(f"{self.prompt_tokens} prompt tokens")
        if self.output_tokens is not None:
            parts.append(f"{self.output_tokens} output tokens")
        if self.minutes is not None:
            parts.append(f"{self.minutes:g} minutes")
        return ", ".join(parts) or "no limit"

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
            "minutes": self.minutes,
        }


class BudgetGuard:
    """Refuse a model call that would take the run past its budget.

    Spending is read from the run's ledger (the servers' own counts). `reserve` keeps tokens
    and seconds back for the crew's tasks, which come after the map step.
    """

    def __init__(
        self,
        budget: Budget,
        ledger: UsageLedger,
        *,
        reserve_prompt: int = 0,
        reserve_output: int = 0,
        reserve_seconds: float = 0.0,
    ):
        self.budget = budget
        self.ledger = ledger
        self.reserve_prompt = reserve_prompt
        self.reserve_output = reserve_output
        self.reserve_seconds = reserve_seconds
        self._lock = threading.Lock()
        self._pending_prompt = 0
        self._pending_output = 0

    def spent(self) -> tuple[int, int]:
        records = self.ledger.records
        return sum(r.prompt_tokens for r in records), sum(r.completion_tokens for r in records)

    def acquire(self, prompt: int, output: int) -> None:
        """Reserve room for one call or raise BudgetExhausted naming the measure."""
        b = self.budget
        with self._lock:
            used_prompt, used_output = self.spent()
            used_prompt += self._pending_prompt
            used_output += self._pending_output
            if b.prompt_tokens is not None and (
                used_prompt + prompt + self.reserve_prompt > b.prompt_tokens
            ):
                raise BudgetExhausted(
                    f"the budget of {b.prompt_tokens} prompt tokens is spent ({used_prompt} used)",
                    limit="prompt_tokens",
                )
            if b.output_tokens is not None and (
                used_output + min(output, 256) + self.reserve_output > b.output_tokens
            ):
                raise BudgetExhausted(
                    f"the budget of {b.output_tokens} output tokens is spent ({used_output} used)",
                    limit="output_tokens",
                )
            if b.minutes is not None:
                elapsed = time.monotonic() - b.started
                if elapsed + self.reserve_seconds > b.minutes * 60:
                    raise BudgetExhausted(
                        f"the budget of {b.minutes:g} minutes is spent ({elapsed / 60:.1f} used)",
                        limit="minutes",
                    )
            self._pending_prompt += prompt
            self._pending_output += output

    def release(self, prompt: int, output: int) -> None:
        with self._lock:
            self._pending_prompt -= prompt
            self._pending_output -= output
