"""The YAML configuration: strict models, cross-checks, and the plan of one crew run.

Every problem names the file, the line, the key and, where it can, the likely fix. Nothing
runs on a bad config: `load_config` collects all problems and `ConfigError` carries them.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
)

from ..errors import ConfigError, UnknownCrew
from .project import Project
from .yamlsource import YamlDoc, load_yaml

DEFAULT_MODEL = "ollama/qwen3:8b"
# Filled in by scoutcrew itself at run time; a crew never has to declare them.
BUILTIN_INPUTS = {"evidence", "today", "crew"}
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


def _entry_kind(value: Any) -> str:
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
    def _chain(cls, value: Any) -> Any:
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
                    f"unknown tool '{name}'{_suggest(name, KNOWN_TOOLS)}; "
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
        fields = value.split()
        if len(fields) != 5 or not all(re.fullmatch(r"[\d*/,\-A-Za-z?]+", f) for f in fields):
            raise ValueError(
                f"'{value}' is not a 5-field cron expression (minute hour day month weekday), "
                "e.g. '0 7 * * *' for 07:00 every day"
            )
        return value


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
    the code could not decide, in one batched call per report (opt-in). repair: how many rounds
    flagged sentences go back to the writer (0 turns repair off).
    """

    judge: str | None = None
    repair: int = Field(default=1, ge=0, le=3)

    @field_validator("judge")
    @classmethod
    def _judge(cls, value: str | None) -> str | None:
        return check_model_spec(value) if value is not None else None


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
    def _chain(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("llm")
    @classmethod
    def _specs(cls, value: list[ChainEntry] | None) -> list[ChainEntry] | None:
        return None if value is None else _check_chain(value)

    verify: VerifyConfig = Field(default_factory=VerifyConfig)

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, value: Any) -> Any:
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


def placeholders(text: str) -> set[str]:
    """Return the {names} in `text` ({{ and }} are literal braces)."""
    names = set()
    for _, name, _, _ in string.Formatter().parse(text.replace("{{", "").replace("}}", "")):
        if name:
            names.add(name)
    return names


def fill(text: str, values: dict[str, str]) -> str:
    """Replace {name} by its value in one pass; the values themselves are never re-read."""

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "{{":
            return "{"
        if match.group(0) == "}}":
            return "}"
        return values[match.group(1)]

    return re.sub(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}", sub, text)


# --------------------------------------------------------------------------- loading


@dataclass
class ProjectConfig:
    """Every YAML file of a project, validated."""

    project: Project
    agents: dict[str, AgentConfig]
    tasks: dict[str, TaskConfig]
    crews: dict[str, CrewConfig]
    problems: list[str]

    def crew(self, name: str) -> CrewConfig:
        if name not in self.crews:
            known = sorted(self.crews)
            raise UnknownCrew(
                f"no crew '{name}'{_suggest(name, known)}: crews are {', '.join(known) or 'none'} "
                f"(files under {self.project.crews_dir})"
            )
        return self.crews[name]

    def required_inputs(self, name: str) -> list[str]:
        """The placeholders of crew `name` that have no default."""
        crew = self.crews[name]
        return sorted(crew_placeholders(self, name) - BUILTIN_INPUTS - set(crew.inputs))


def _suggest(word: str, choices: Any) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _entry_problems(doc: YamlDoc, loc: tuple, exc: ValidationError, model: type) -> list[str]:
    out = []
    errors = exc.errors()
    typos = {
        (tuple(e["loc"][:-1]), m)
        for e in errors
        if e["type"] == "extra_forbidden"
        for m in difflib.get_close_matches(str(e["loc"][-1]), _fields_at(model, e["loc"][:-1]))
    }
    for err in errors:
        err_loc = tuple(err["loc"])
        if err["type"] == "missing" and (err_loc[:-1], err_loc[-1]) in typos:
            continue  # the misspelled key's message already names it
        full = (*loc, *err_loc)
        key = ".".join(str(p) for p in full)
        if err["type"] == "extra_forbidden":
            bad = str(err_loc[-1])
            fields = _fields_at(model, err_loc[:-1])
            out.append(f"{doc.where(full)}: {key}: unknown key '{bad}'{_suggest(bad, fields)}")
        elif err["type"] == "missing":
            out.append(f"{doc.where(loc)}: {key}: missing required key '{err_loc[-1]}'")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            out.append(f"{doc.where(full)}: {key}: {msg}")
    return out


def _fields_at(model: type, loc: tuple) -> list[str]:
    """Field names of the (nested) model found at `loc`, for suggestions."""
    current: Any = model
    for part in loc:
        field_info = getattr(current, "model_fields", {}).get(part)
        if field_info is None:
            return []
        current = _model_of(field_info.annotation)
    return list(getattr(current, "model_fields", {}))


def _model_of(annotation: Any) -> Any:
    """The pydantic model inside an annotation such as `ResearchConfig | None`."""
    import typing

    if hasattr(annotation, "model_fields"):
        return annotation
    return next((a for a in typing.get_args(annotation) if hasattr(a, "model_fields")), None)


def _load_entries(doc: YamlDoc, model: type[BaseModel], what: str) -> dict[str, Any]:
    """Validate a name -> mapping file (agents.yaml, tasks.yaml).

    Entries that exist but are invalid map to None, so references to them are not reported
    a second time as missing.
    """
    if doc.data is None:
        if not doc.problems:
            doc.problems.append(f"{doc.display}:1: no {what} defined")
        return {}
    if not isinstance(doc.data, dict):
        doc.problems.append(f"{doc.display}:1: expected a mapping of {what} names to settings")
        return {}
    entries: dict[str, BaseModel | None] = {}
    for name, body in doc.data.items():
        name = str(name)
        if not NAME_RE.match(name):
            doc.problems.append(
                f"{doc.where((name,))}: '{name}' is not a valid name "
                "(lower-case letters, digits, '-' and '_')"
            )
            continue
        if not isinstance(body, dict):
            doc.problems.append(f"{doc.where((name,))}: {name}: expected a mapping of settings")
            continue
        try:
            entries[name] = model.model_validate(body)
        except ValidationError as exc:
            entries[name] = None
            doc.problems.extend(_entry_problems(doc, (name,), exc, model))
    return entries


def load_config(project: Project, only_crew: str | None = None) -> ProjectConfig:
    """Load and cross-check agents.yaml, tasks.yaml and the crews (or just `only_crew`)."""
    agents_doc = load_yaml(project.agents_file, "agents.yaml")
    tasks_doc = load_yaml(project.tasks_file, "tasks.yaml")
    agents = _load_entries(agents_doc, AgentConfig, "agents")
    tasks = _load_entries(tasks_doc, TaskConfig, "tasks")
    problems = agents_doc.problems + tasks_doc.problems
    # A file that could not be read at all is reported once: references into it are not
    # reported a second time as missing names.
    unread = {"agents": agents_doc.unreadable, "tasks": tasks_doc.unreadable}

    for name, task in tasks.items():
        if task is None:
            continue
        if task.agent not in agents and not unread["agents"]:
            problems.append(
                f"{tasks_doc.where((name, 'agent'))}: {name}.agent: no agent '{task.agent}' in "
                f"agents.yaml{_suggest(task.agent, agents)}"
            )
        for index, ctx in enumerate(task.context):
            if ctx not in tasks:
                problems.append(
                    f"{tasks_doc.where((name, 'context', index))}: {name}.context: no task "
                    f"'{ctx}' in tasks.yaml{_suggest(ctx, tasks)}"
                )

    names = [only_crew] if only_crew else project.crew_names()
    if only_crew and not project.crew_file(only_crew).is_file():
        known = project.crew_names()
        raise UnknownCrew(
            f"no crew '{only_crew}'{_suggest(only_crew, known)}: crews are "
            f"{', '.join(known) or 'none'} (files under {project.crews_dir})"
        )
    crews: dict[str, CrewConfig] = {}
    for crew_name in names:
        doc = load_yaml(project.crew_file(crew_name), f"crews/{crew_name}.yaml")
        crew = _load_crew(doc)
        problems.extend(doc.problems)
        if crew is None:
            continue
        crew_problems = _check_crew(crew_name, crew, doc, agents, tasks, unread)
        crew_problems += _missing_local_feeds(crew, doc, project.root)
        problems.extend(crew_problems)
        if not crew_problems and all(agents.get(a) for a in _crew_agent_names(crew)):
            if all(tasks.get(t) for t in crew.tasks):
                crews[crew_name] = crew
    valid_agents = {k: v for k, v in agents.items() if v is not None}
    valid_tasks = {k: v for k, v in tasks.items() if v is not None}
    return ProjectConfig(project, valid_agents, valid_tasks, crews, problems)


def _load_crew(doc: YamlDoc) -> CrewConfig | None:
    if doc.problems:
        return None
    if not isinstance(doc.data, dict):
        doc.problems.append(f"{doc.display}:1: expected a mapping (description, agents, tasks...)")
        return None
    try:
        return CrewConfig.model_validate(doc.data)
    except ValidationError as exc:
        doc.problems.extend(_entry_problems(doc, (), exc, CrewConfig))
        return None


def _check_crew(
    name: str,
    crew: CrewConfig,
    doc: YamlDoc,
    agents: dict[str, AgentConfig | None],
    tasks: dict[str, TaskConfig | None],
    unread: dict[str, bool] | None = None,
) -> list[str]:
    out = []
    unread = unread or {}
    if not NAME_RE.match(name):
        out.append(f"{doc.display}:1: crew name '{name}' must use lower-case letters, digits, -, _")
    if unread.get("agents") or unread.get("tasks"):
        # agents.yaml or tasks.yaml is unreadable and already reported: the crew cannot be
        # checked against it, and it will not run until that file is fixed.
        return out
    for index, agent in enumerate(crew.agents):
        if agent not in agents:
            out.append(
                f"{doc.where(('agents', index))}: agents: no agent '{agent}' in agents.yaml"
                f"{_suggest(agent, agents)}"
            )
    if not crew.tasks:
        out.append(f"{doc.where(('tasks',))}: tasks: a crew needs at least one task")
    earlier: set[str] = set()
    for index, task_name in enumerate(crew.tasks):
        where = doc.where(("tasks", index))
        if task_name in tasks and tasks[task_name] is None:
            earlier.add(task_name)
            continue  # invalid entry, already reported in tasks.yaml
        task = tasks.get(task_name)
        if task is None:
            out.append(
                f"{where}: tasks: no task '{task_name}' in tasks.yaml{_suggest(task_name, tasks)}"
            )
            continue
        if (
            crew.process != "hierarchical"
            and task.agent in agents
            and task.agent not in crew.agents
        ):
            out.append(
                f"{where}: tasks: task '{task_name}' is done by agent '{task.agent}', "
                f"which is not in this crew's agents: add it to agents:"
            )
        for ctx in task.context:
            if ctx in tasks and ctx not in earlier:
                out.append(
                    f"{where}: tasks: task '{task_name}' takes context from '{ctx}', which must "
                    "come earlier in this crew's task list"
                )
        earlier.add(task_name)
    if crew.process == "hierarchical":
        if not crew.manager:
            out.append(
                f"{doc.where(('process',))}: manager: a hierarchical crew needs a manager agent "
                "(e.g. manager: manager)"
            )
        elif crew.manager not in agents:
            out.append(
                f"{doc.where(('manager',))}: manager: no agent '{crew.manager}' in agents.yaml"
                f"{_suggest(crew.manager, agents)}"
            )
        elif agents[crew.manager] is not None:
            if crew.manager in crew.agents:
                out.append(
                    f"{doc.where(('manager',))}: manager: '{crew.manager}' must not also be in "
                    "agents: (crewai's manager only delegates)"
                )
            if agents[crew.manager].tools:  # type: ignore[union-attr]
                out.append(
                    f"{doc.where(('manager',))}: manager: '{crew.manager}' holds tools; a "
                    "manager may not (remove tools: from its entry in agents.yaml)"
                )
    elif crew.manager:
        out.append(
            f"{doc.where(('manager',))}: manager: only a hierarchical crew has a manager "
            "(set process: hierarchical or remove manager:)"
        )
    out += _check_research(crew, doc)
    return out


def _missing_local_feeds(crew: CrewConfig, doc: YamlDoc, root: Path) -> list[str]:
    """Feeds given as a path (or file:// URL) that name no file: found now, not at run time."""
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    out = []
    for index, feed in enumerate(crew.sources.feeds):
        parts = urlsplit(feed)
        if parts.scheme not in ("", "file"):
            continue
        raw = Path(url2pathname(parts.path)) if parts.scheme == "file" else Path(feed)
        path = raw if raw.is_absolute() else root / raw
        if not path.is_file():
            what = "is not a file" if path.exists() else "does not exist"
            out.append(
                f"{doc.where(('sources', 'feeds', index))}: sources.feeds: {feed!r} {what} "
                f"(looked for {path}); fix the path, relative to the project folder, or give "
                "a web feed as a URL starting with https://"
            )
    return out


def _check_research(crew: CrewConfig, doc: YamlDoc) -> list[str]:
    """A research block belongs to a research crew, and its agent to the crew."""
    if crew.process != "research":
        if crew.research is not None:
            return [
                f"{doc.where(('research',))}: research: only a `process: research` crew has a "
                "research loop (set process: research or remove research:)"
            ]
        return []
    research = crew.research or ResearchConfig()
    if research.agent is not None and research.agent not in crew.agents:
        return [
            f"{doc.where(('research', 'agent'))}: research.agent: '{research.agent}' is not in "
            f"this crew's agents{_suggest(research.agent, crew.agents)}"
        ]
    return []


# --------------------------------------------------------------------------- the plan


def crew_placeholders(config: ProjectConfig, name: str) -> set[str]:
    """Every {placeholder} used by the crew's agents, tasks and sources."""
    crew = config.crews[name]
    texts: list[str] = [*crew.sources.search, *crew.sources.keywords]
    if crew.output.title:
        texts.append(crew.output.title)
    for agent_name in _crew_agent_names(crew):
        agent = config.agents[agent_name]
        texts += [agent.role, agent.goal, agent.backstory]
    for task_name in crew.tasks:
        task = config.tasks[task_name]
        texts += [task.description, task.expected_output]
    found: set[str] = set()
    for text in texts:
        found |= placeholders(text)
    return found


def _crew_agent_names(crew: CrewConfig) -> list[str]:
    return [*crew.agents, *([crew.manager] if crew.manager else [])]
