"""Loading the YAML configuration: every file into its models, then the cross-checks.

Every problem names the file, the line, the key and, where it can, the likely fix. Nothing
runs on a bad config: `load_config` collects all problems and `ConfigError` carries them.
The models themselves live in models.py, the {placeholders} in templates.py.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from pydantic import BaseModel, ValidationError

from ..errors import UnknownCrew
from .cron import never_fires, parse_cron
from .models import (
    NAME_RE,
    AgentConfig,
    CrewConfig,
    ResearchConfig,
    TaskConfig,
    TaskOutputConfig,
    chain_specs,
    suggest,
)
from .project import Project
from .templates import BUILTIN_INPUTS, placeholders
from .yamlsource import YamlDoc, load_yaml

# --------------------------------------------------------------------------- loading


@dataclass
class ProjectConfig:
    """Every YAML file of a project, validated."""

    project: Project
    agents: dict[str, AgentConfig]
    tasks: dict[str, TaskConfig]
    crews: dict[str, CrewConfig]
    problems: list[str]
    # What is valid but most likely not meant (a schedule that never fires): said, not refused.
    warnings: list[str] = field(default_factory=list)

    def crew(self, name: str) -> CrewConfig:
        if name not in self.crews:
            known = sorted(self.crews)
            raise UnknownCrew(
                f"no crew '{name}'{suggest(name, known)}: crews are {', '.join(known) or 'none'} "
                f"(files under {self.project.crews_dir})"
            )
        return self.crews[name]

    def required_inputs(self, name: str) -> list[str]:
        """The placeholders of crew `name` that have no default."""
        crew = self.crews[name]
        return sorted(crew_placeholders(self, name) - BUILTIN_INPUTS - set(crew.inputs))


def _entry_problems(
    doc: YamlDoc, loc: tuple[str | int, ...], exc: ValidationError, model: type[BaseModel]
) -> list[str]:
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
            out.append(f"{doc.where(full)}: {key}: unknown key '{bad}'{suggest(bad, fields)}")
        elif err["type"] == "missing":
            out.append(f"{doc.where(loc)}: {key}: missing required key '{err_loc[-1]}'")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            out.append(f"{doc.where(full)}: {key}: {msg}")
    return out


def _fields_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """Field names of the (nested) model found at `loc`, for suggestions."""
    current: type[BaseModel] | None = model
    for part in loc:
        field_info = getattr(current, "model_fields", {}).get(part)
        if field_info is None:
            return []
        current = _model_of(field_info.annotation)
    return list(getattr(current, "model_fields", {}))


def _model_of(annotation: object) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as `ResearchConfig | None`."""
    import typing

    if _is_model(annotation):
        return annotation
    return next((a for a in typing.get_args(annotation) if _is_model(a)), None)


def _is_model(annotation: object) -> TypeGuard[type[BaseModel]]:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


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
    agents_doc = load_yaml(project.agents_file, "agents.yaml", AGENT_KEYS)
    tasks_doc = load_yaml(project.tasks_file, "tasks.yaml", TASK_KEYS)
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
                f"agents.yaml{suggest(task.agent, agents)}"
            )
        for index, ctx in enumerate(task.context):
            if ctx not in tasks:
                problems.append(
                    f"{tasks_doc.where((name, 'context', index))}: {name}.context: no task "
                    f"'{ctx}' in tasks.yaml{suggest(ctx, tasks)}"
                )

    names = [only_crew] if only_crew else project.crew_names()
    if only_crew and not project.crew_file(only_crew).is_file():
        known = project.crew_names()
        raise UnknownCrew(
            f"no crew '{only_crew}'{suggest(only_crew, known)}: crews are "
            f"{', '.join(known) or 'none'} (files under {project.crews_dir})"
        )
    crews: dict[str, CrewConfig] = {}
    warnings: list[str] = []
    for crew_name in names:
        doc = load_yaml(project.crew_file(crew_name), f"crews/{crew_name}.yaml", CREW_KEYS)
        crew = _load_crew(doc)
        problems.extend(doc.problems)
        if crew is None:
            continue
        crew_problems = _check_crew(crew_name, crew, doc, agents, tasks, unread)
        crew_problems += _missing_local_feeds(crew, doc, project.root)
        problems.extend(crew_problems)
        warnings += _schedule_warnings(crew, doc)
        if not crew_problems and all(agents.get(a) for a in _crew_agent_names(crew)):
            if all(tasks.get(t) for t in crew.tasks):
                crews[crew_name] = crew
    valid_agents = {k: v for k, v in agents.items() if v is not None}
    valid_tasks = {k: v for k, v in tasks.items() if v is not None}
    return ProjectConfig(project, valid_agents, valid_tasks, crews, problems, warnings)


def _schedule_warnings(crew: CrewConfig, doc: YamlDoc) -> list[str]:
    """A schedule that is valid cron but never fires (`0 7 31 2 *`)."""
    if crew.schedule is None:
        return []
    why = never_fires(parse_cron(crew.schedule.cron))
    if why is None:
        return []
    return [
        f"{doc.where(('schedule', 'cron'))}: schedule: '{crew.schedule.cron}': {why}; the "
        "crew will not run by itself (check the day and month fields)"
    ]


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
                f"{suggest(agent, agents)}"
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
                f"{where}: tasks: no task '{task_name}' in tasks.yaml{suggest(task_name, tasks)}"
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
                f"{suggest(crew.manager, agents)}"
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
            f"this crew's agents{suggest(research.agent, crew.agents)}"
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


def crew_chains(config: ProjectConfig) -> dict[str, list[list[str]]]:
    """The model chain of each agent of each valid crew (the crew's `llm` before the agent's)."""
    return {
        name: [
            chain_specs(crew.llm) if crew.llm else config.agents[agent].chain
            for agent in _crew_agent_names(crew)
        ]
        for name, crew in config.crews.items()
    }


def _crew_agent_names(crew: CrewConfig) -> list[str]:
    return [*crew.agents, *([crew.manager] if crew.manager else [])]


# The keys each depth of a file may hold (None: any name), for the hints on a syntax error.
AGENT_KEYS = (None, frozenset(AgentConfig.model_fields))
TASK_KEYS = (None, frozenset(TaskConfig.model_fields), frozenset(TaskOutputConfig.model_fields))
CREW_KEYS = (
    frozenset(CrewConfig.model_fields),
    frozenset().union(
        *(
            model.model_fields
            for info in CrewConfig.model_fields.values()
            if (model := _model_of(info.annotation)) is not None
        )
    ),
)
