"""What a run is asked to do (RunOptions) and what it produced (RunResult)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..llm.budget import Budget

if TYPE_CHECKING:
    from ..config.plan import Plan
    from ..llm.ledger import CallRecord
    from ..notes.take import NoteReader
    from ..report.files import ReportPaths

STORE_FILE = "scoutcrew.sqlite"


@dataclass
class RunResult:
    """What a run produced."""

    crew: str
    # "ok" | "partial" | "nothing-new" | "failed" | "paused" (waiting for a person's review)
    status: str
    report: Path | None = None
    paths: ReportPaths | None = None
    run_id: str | None = None
    usage: list[CallRecord] = field(default_factory=list)
    summary: str = ""
    message: str = ""


@dataclass
class RunOptions:
    """How to run a crew: inputs, models, where the report goes, budgets and reviews."""

    inputs: dict[str, str] = field(default_factory=dict)
    model: list[str] | None = None
    output_dir: Path | None = None
    backend: str | None = None
    all_items: bool = False
    review_plan: bool = False  # research crews: stop after the plan for a person to edit it
    review_evidence: bool = False  # stop before the crew writes, to drop stories or sources
    # Overrides of the crew's budget: prompt_tokens, output_tokens, minutes (0 = no cap).
    budget: dict[str, float] = field(default_factory=dict)
    # Builds the map step's reader (runtime, agent, guard) -> NoteReader, e.g. on Ray
    # (scoutcrew.scale.ray_notes.ray_reader_factory); None: the run's own LLM runtime.
    reader_factory: Callable[..., NoteReader] | None = None

    def to_record(self) -> dict[str, Any]:
        """The options a resumed run needs again, as JSON for the run record."""
        return {
            "model": self.model,
            "backend": self.backend,
            "all_items": self.all_items,
            "review_plan": self.review_plan,
            "review_evidence": self.review_evidence,
            "budget": dict(self.budget or {}),
            "output_dir": str(self.output_dir) if self.output_dir else None,
        }

    @classmethod
    def from_record(cls, inputs: dict[str, str] | None, saved: dict[str, Any] | None) -> RunOptions:
        saved = saved or {}
        return cls(
            inputs=dict(inputs or {}),
            model=saved.get("model"),
            output_dir=Path(saved["output_dir"]) if saved.get("output_dir") else None,
            backend=saved.get("backend"),
            all_items=bool(saved.get("all_items")),
            review_plan=bool(saved.get("review_plan")),
            review_evidence=bool(saved.get("review_evidence")),
            budget=dict(saved.get("budget") or {}),
        )


def run_budget(plan: Plan, options: RunOptions) -> Budget:
    """The run's budget: the crew's `budget:` with the command line's overrides (0 = none)."""
    values = plan.config.budget.model_dump()
    for key, value in (options.budget or {}).items():
        values[key] = value if value else None
    return Budget(
        prompt_tokens=int(values["prompt_tokens"]) if values["prompt_tokens"] else None,
        output_tokens=int(values["output_tokens"]) if values["output_tokens"] else None,
        minutes=float(values["minutes"]) if values["minutes"] else None,
    )
