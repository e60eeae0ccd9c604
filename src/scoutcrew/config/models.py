"""The strict pydantic models of the YAML files: agents, tasks, crews and their parts.

Every model forbids unknown keys; the loader (schema.py) turns their errors into problems that
name the file, the line and the key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    Tag,
    field_validator,
)

from ..errors import ConfigError
from .cron import check_timezone, parse_cron

DEFAULT_MODEL = "ollama/qwen3:8b"
# Tools an agent may name in agents.yaml (see crew.build_tools).
KNOWN_TOOLS = {"web_search", "read_page"}
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelOptions(Strict):
    """Per-agent model settings, passed to the LLM backend."""

    num_ctx: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0)
    seed: int | None = None
    keep_alive: str | int | None = None
    num_predict: int | None = Field(default=None, gt=0)


class ModelEntry(Strict):
    """One model of an llm chain with settings of its own: `{model: SPEC, num_ctx: N}`."""

    model: str
    num_ctx: int | None = Field(default=None, gt=0)

    @field_validator("model")
    @classmethod
    def _spec(cls, value: str) -> str:
        return check_model_spec(value)


def _entry_kind(value: object) -> str:
    return "entry" if isinstance(value, dict | ModelEntry) else "spec"


# A chain entry is a spec string or a {model, num_ctx} mapping; the discriminator makes a bad
# entry report the one problem it has, not one per shape it could have had.
ChainEntry = Annotated[
    Annotated[str, Tag("spec")] | Annotated[ModelEntry, Tag("entry")],
    Discriminator(_entry_kind),
]


def chain_specs(chain: Sequence[ChainEntry]) -> list[str]:
    """The model specs of a chain, in order."""
    return [e.model if isinstance(e, ModelEntry) else e for e in chain]


def chain_num_ctx(chain: Sequence[ChainEntry]) -> dict[str, int]:
    """The num_ctx each chain entry sets for its own model."""
    return {e.model: e.num_ctx for e in chain if isinstance(e, ModelEntry) and e.num_ctx}


def _check_chain(value: list[ChainEntry]) -> list[ChainEntry]:
    if not value:
        raise ValueError("llm needs at least one model spec, e.g. ollama/qwen3:8b")
    for entry in value:
        if isinstance(entry, str):
            check_model_spec(entry)
    return value


class AgentConfig(Strict):
    """One entry of agents.yaml."""

    role: str
    goal: str
    backstory: str
    llm: list[ChainEntry] = Field(default_factory=lambda: list[ChainEntry]([DEFAULT_MODEL]))
    num_ctx: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0)
    seed: int | None = None
    keep_alive: str | int | None = None
    num_predict: int | None = Field(default=None, gt=0)
    tools: list[str] = Field(default_factory=list)
    max_iter: int = Field(default=3, ge=1)
    allow_delegation: bool = False
    verbose: bool = False

    @field_validator("llm", mode="before")
    @classmethod
    def _chain(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("llm")
    @classmethod
    def _specs(cls, value: list[ChainEntry]) -> list[ChainEntry]:
        return _check_chain(value)

    @property
    def chain(self) -> list[str]:
        """The model specs of `llm`, in order."""
        return chain_specs(self.llm)

    @field_validator("tools")
    @classmethod
    def _tools(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in KNOWN_TOOLS:
                raise ValueError(
                    f"unknown tool '{name}'{suggest(name, KNOWN_TOOLS)}; "
                    f"available: {', '.join(sorted(KNOWN_TOOLS))}"
                )
        return value

    @property
    def options(self) -> ModelOptions:
        return ModelOptions(
            num_ctx=self.num_ctx,
            temperature=self.temperature,
            seed=self.seed,
            keep_alive=self.keep_alive,
            num_predict=self.num_predict,
        )


class TaskOutputConfig(Strict):
    """How a task's output appears in the report, and how the model is asked for it.

    format: `cited` (the model answers in JSON, each sentence with the ids it rests on, and
    code writes the Markdown and its [S#] markers), or `text` (free text, checked as it is).
    Unset: cited for a task that asks for [S#] ids, text otherwise.
    """

    in_report: bool | None = None
    heading: str | None = None
    format: Literal["cited", "text"] | None = None


class TaskConfig(Strict):
    """One entry of tasks.yaml."""

    description: str
    expected_output: str
    agent: str
    context: list[str] = Field(default_factory=list)
    output: TaskOutputConfig = Field(default_factory=TaskOutputConfig)


class SourcesConfig(Strict):
    """Where a crew's evidence comes from and how much of it is kept."""

    feeds: list[str] = Field(default_factory=list)
    search: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    # Leave out (as "off topic") items that mention none of the keywords; off by default,
    # since the keywords only rank items otherwise.
    require_keywords: bool = False
    # A cap the user sets on the items one run reads (the rest stay new); none by default.
    max_items: int | None = Field(default=None, ge=1)
    pages: int = Field(default=0, ge=0)
    search_results: int = Field(default=5, ge=1)
    search_backend: str = "auto"
    searxng_url: str | None = None  # else $SEARXNG_URL; used when search_backend is searxng
    allow_private_hosts: bool = False
    # Every run reads every item, as `--all-items` does: for crews over files that never
    # change (the bundled demo), where "new since the last run" would leave nothing to read.
    all_items: bool = False

    @field_validator("searxng_url")
    @classmethod
    def _searxng_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(
                f"searxng_url '{value}' must be the http(s) address of a SearXNG instance, "
                "e.g. http://localhost:8080"
            )
        return value


class ResearchConfig(Strict):
    """The research loop of a `process: research` crew: plan, search, read, reflect."""

    rounds: int = Field(default=3, ge=1, le=10)
    sub_questions: int = Field(default=4, ge=1, le=12)
    queries_per_round: int = Field(default=3, ge=1, le=10)
    pages_per_round: int = Field(default=5, ge=1, le=20)
    perspectives: int = Field(default=0, ge=0, le=6)
    token_budget: int | None = Field(default=None, gt=0)  # prompt + output tokens of the loop
    agent: str | None = None  # the agent that plans, takes notes and reflects
    page_tokens: int = Field(default=600, ge=50, le=4000)  # of each page, for its note


class ScheduleConfig(Strict):
    """When a crew runs by itself."""

    cron: str
    timezone: str | None = None
    misfire_grace: int = Field(default=3600, ge=0)  # seconds a missed run may still start

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        parse_cron(value)  # every field in its range, every name a month or weekday
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)


class OutputConfig(Strict):
    """Where and how a crew's reports are written."""

    dir: str | None = None
    formats: list[Literal["md", "html", "json"]] = ["md", "html", "json"]  # pydantic copies it
    title: str | None = None


class DeliveryConfig(Strict):
    """Who hears about a finished run: a webhook (JSON POST) and/or a local command."""

    webhook: str | None = None
    command: str | None = None
    on: list[Literal["success", "failure"]] = ["success", "failure"]
    retries: int = Field(default=3, ge=0)

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://", value):
            raise ValueError(f"webhook '{value}' must be an http(s) URL")
        return value


# The model work one run may do unless the crew or the command line says otherwise.
DEFAULT_BUDGET = {"prompt_tokens": 500_000, "output_tokens": 100_000, "minutes": None}


class BudgetConfig(Strict):
    """A cap on one run's model work; at the cap the run writes a partial report."""

    prompt_tokens: int | None = Field(default=DEFAULT_BUDGET["prompt_tokens"], gt=0)
    output_tokens: int | None = Field(default=DEFAULT_BUDGET["output_tokens"], gt=0)
    minutes: float | None = Field(default=DEFAULT_BUDGET["minutes"], gt=0)


class VerifyConfig(Strict):
    """How a crew's report is checked before it is published.

    The deterministic claim check always runs. judge: a model that also reads the sentences
    the code could not confirm, in one batched call per report (opt-in); its answer is shown
    beside the code's verdict. repair: how many rounds contradicted sentences go back to the
    writer (0 turns repair off); repair_not_confirmed: send the not-confirmed ones too.
    """

    judge: str | None = None
    repair: int = Field(default=1, ge=0, le=3)
    repair_not_confirmed: StrictBool = False

    @field_validator("judge")
    @classmethod
    def _judge(cls, value: str | None) -> str | None:
        return check_model_spec(value) if value is not None else None


class PreferencesConfig(Strict):
    """How a crew uses its reader's ratings (see `scoutcrew prefs`).

    skip_below: a new source the reader would want with less than this chance (0 to 1) is left
    out of the notes step (counted as a predicted skip, listed in "Also in the news"); by
    default every source is read and predicted skips are only moved aside after reading.
    """

    skip_below: float | None = Field(default=None, gt=0, lt=1)


class CrewConfig(Strict):
    """One file under crews/."""

    description: str
    agents: list[str]
    tasks: list[str]
    process: Literal["sequential", "hierarchical", "research"] = "sequential"
    manager: str | None = None
    research: ResearchConfig | None = None
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    inputs: dict[str, str | int | float] = Field(default_factory=dict)
    schedule: ScheduleConfig | None = None
    output: OutputConfig = Field(default_factory=OutputConfig)
    delivery: DeliveryConfig | None = None
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    # One model chain for every agent of this crew (e.g. a declared fallback to the embedded
    # engine), instead of each agent's own `llm`; `--model` still overrides it.
    llm: list[ChainEntry] | None = None

    @field_validator("llm", mode="before")
    @classmethod
    def _chain(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("llm")
    @classmethod
    def _specs(cls, value: list[ChainEntry] | None) -> list[ChainEntry] | None:
        return None if value is None else _check_chain(value)

    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    preferences: PreferencesConfig = Field(default_factory=PreferencesConfig)

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, value: object) -> object:
        return {"cron": value} if isinstance(value, str) else value


def check_model_spec(spec: str) -> str:
    """Reject a model spec that no backend understands."""
    backend, sep, name = spec.partition("/")
    if not sep or not name or backend not in {"ollama", "embedded"}:
        raise ValueError(
            f"'{spec}' is not a model spec: use ollama/NAME (e.g. ollama/qwen3:8b), "
            "embedded/default or embedded/PATH.gguf"
        )
    return spec


def parse_model_override(value: str) -> list[str]:
    """Turn `--model a,b` into a checked chain."""
    chain = [part.strip() for part in value.split(",") if part.strip()]
    if not chain:
        raise ConfigError(["--model needs at least one model spec, e.g. ollama/qwen3:8b"])
    try:
        return [check_model_spec(spec) for spec in chain]
    except ValueError as exc:
        raise ConfigError([f"--model: {exc}"]) from exc


def suggest(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest of `choices`, or nothing."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""
