"""The plan of one crew run: a validated crew with its inputs resolved, ready to execute."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..errors import ConfigError, MissingInput
from .project import Project
from .schema import (
    BUILTIN_INPUTS,
    ChainEntry,
    CrewConfig,
    ModelOptions,
    ProjectConfig,
    SourcesConfig,
    chain_num_ctx,
    chain_specs,
    crew_placeholders,
    fill,
    placeholders,
)


@dataclass
class PlannedTask:
    name: str
    agent: str
    description: str
    expected_output: str
    context: list[str]
    in_report: bool
    heading: str
    format: str = "text"  # "cited" (JSON with ids, Markdown by code) or "text"


@dataclass
class PlannedAgent:
    name: str
    role: str
    goal: str
    backstory: str
    llm: list[str]
    options: ModelOptions
    tools: list[str]
    max_iter: int
    allow_delegation: bool
    verbose: bool
    # num_ctx a chain entry sets for its own model ({model: SPEC, num_ctx: N}); the agent's
    # own num_ctx (in options) is for the first model of the chain only.
    model_num_ctx: dict[str, int] = field(default_factory=dict)


@dataclass
class Plan:
    """Everything one run of one crew needs, with inputs resolved (but not {evidence})."""

    crew: str
    config: CrewConfig
    agents: dict[str, PlannedAgent]
    tasks: list[PlannedTask]
    manager: PlannedAgent | None
    sources: SourcesConfig
    inputs: dict[str, str]
    title: str
    project: Project
    extra: dict[str, Any] = field(default_factory=dict)

    def evidence_readers(self) -> list[PlannedAgent]:
        """The agents whose task text carries {evidence}."""
        return [
            self.agents[t.agent]
            for t in self.tasks
            if "evidence" in placeholders(t.description) and t.agent in self.agents
        ]


def build_plan(
    config: ProjectConfig,
    crew_name: str,
    inputs: dict[str, str] | None = None,
    model: list[str] | None = None,
) -> Plan:
    """Resolve a crew's inputs and references into a runnable plan."""
    if config.problems:
        raise ConfigError(config.problems)
    crew = config.crew(crew_name)
    given = {k: str(v) for k, v in (inputs or {}).items()}
    values = {k: str(v) for k, v in crew.inputs.items()} | given
    wanted = crew_placeholders(config, crew_name)
    unknown = sorted(set(given) - wanted - BUILTIN_INPUTS)
    if unknown:
        raise MissingInput(
            f"crew '{crew_name}' has no placeholder {', '.join('{' + u + '}' for u in unknown)}"
            f"; its inputs are: {', '.join(sorted(wanted - BUILTIN_INPUTS)) or 'none'}"
        )
    missing = sorted(wanted - BUILTIN_INPUTS - set(values))
    if missing:
        flags = " ".join(f"--input {m}=..." for m in missing)
        raise MissingInput(
            f"crew '{crew_name}' needs {', '.join(repr(m) for m in missing)}: pass {flags} "
            f"(or give a default under inputs: in crews/{crew_name}.yaml)"
        )
    values.setdefault("today", date.today().isoformat())
    values.setdefault("crew", crew_name)
    # {evidence} is filled in by the pipeline once the evidence pack exists.
    keep = {"evidence": "{evidence}"}

    def text(t: str) -> str:
        return fill(t, values | keep)

    def planned_agent(name: str) -> PlannedAgent:
        a = config.agents[name]
        # --model beats the crew's `llm`, which beats the agent's own chain.
        chain: list[ChainEntry] = list(model) if model else list(crew.llm or a.llm)
        return PlannedAgent(
            name=name,
            role=text(a.role),
            goal=text(a.goal),
            backstory=text(a.backstory),
            llm=chain_specs(chain),
            model_num_ctx=chain_num_ctx(chain),
            options=a.options,
            tools=list(a.tools),
            max_iter=a.max_iter,
            allow_delegation=a.allow_delegation,
            verbose=a.verbose,
        )

    agents = {name: planned_agent(name) for name in crew.agents}
    tasks = []
    for index, task_name in enumerate(crew.tasks):
        t = config.tasks[task_name]
        last = index == len(crew.tasks) - 1
        in_report = t.output.in_report if t.output.in_report is not None else last
        tasks.append(
            PlannedTask(
                name=task_name,
                agent=t.agent,
                description=text(t.description),
                expected_output=text(t.expected_output),
                context=list(t.context),
                in_report=in_report,
                heading=t.output.heading or task_name.replace("_", " ").replace("-", " ").title(),
                format=t.output.format or _default_format(t.description, t.expected_output),
            )
        )
    sources = crew.sources.model_copy(
        update={
            "search": [text(q) for q in crew.sources.search],
            "keywords": [text(k) for k in crew.sources.keywords],
        }
    )
    title = fill(crew.output.title, values) if crew.output.title else crew.description
    return Plan(
        crew=crew_name,
        config=crew,
        agents=agents,
        tasks=tasks,
        manager=planned_agent(crew.manager) if crew.manager else None,
        sources=sources,
        inputs=values,
        title=title,
        project=config.project,
    )


def _default_format(description: str, expected_output: str) -> str:
    """Cited when the task asks for [S#] ids, free text otherwise."""
    return "cited" if "[S#]" in description + expected_output else "text"


def parse_inputs(pairs: list[str]) -> dict[str, str]:
    """Turn ['key=value', ...] from --input into a dict."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise MissingInput(f"--input takes key=value, got '{pair}'")
        out[key.strip()] = value
    return out
