"""The plan of one crew run: a validated crew with its inputs resolved, ready to execute."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..errors import BadInput, ConfigError, InputsNeeded, MissingInput
from .models import ChainEntry, CrewConfig, ModelOptions, SourcesConfig, chain_num_ctx, chain_specs
from .project import Project
from .schema import ProjectConfig, crew_placeholders
from .templates import BUILTIN_INPUTS, as_literal, fill, placeholders


@dataclass
class PlannedTask:
    """One task of a plan. Its description and expected_output are templates whose one
    placeholder is {evidence}; braces from the inputs are doubled in them (fill gives them
    back as typed)."""

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
    check_inputs(given)
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
        raise InputsNeeded(
            f"crew '{crew_name}' needs {', '.join(repr(m) for m in missing)}: pass {flags} "
            f"(or give a default under inputs: in crews/{crew_name}.yaml)",
            missing,
        )
    values.setdefault("today", date.today().isoformat())
    values.setdefault("crew", crew_name)
    # {evidence} is filled in by the pipeline once the evidence pack exists.
    keep = {"evidence": "{evidence}"}

    def text(t: str) -> str:
        return fill(t, values | keep)

    # A task's text is filled twice (its {evidence} comes later), so the inputs go into it
    # with their braces doubled: what a user typed stays data on the second fill.
    literal = {k: as_literal(v) for k, v in values.items()}

    def task_text(t: str) -> str:
        return fill(t, literal | keep)

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
                description=task_text(t.description),
                expected_output=task_text(t.expected_output),
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


# An input is a line or a paragraph of text: a topic, a name, a question.
MAX_INPUT_CHARS = 4000
INPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tab, LF, CR are text


def check_inputs(inputs: dict[str, str]) -> None:
    """Refuse input names that no {placeholder} can have and values that are not plain text."""
    for key, value in inputs.items():
        if not INPUT_NAME.fullmatch(key):
            shown = ascii(key[:40])
            raise BadInput(f"{shown} is not an input name: use letters, digits and _ (e.g. topic)")
        if len(value) > MAX_INPUT_CHARS:
            raise BadInput(
                f"input '{key}' has {len(value):,} characters; an input may have at most "
                f"{MAX_INPUT_CHARS:,} (put long material in a feed or a file instead)"
            )
        bad = _CONTROL.search(value)
        if bad:
            char = "NUL" if bad.group() == "\x00" else f"U+{ord(bad.group()):04X}"
            raise BadInput(
                f"input '{key}' holds a control character ({char}); inputs are plain text"
            )
