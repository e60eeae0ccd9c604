"""Build a real crewai Crew from a plan. crewai is imported here, lazily, and nowhere earlier."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..config.plan import Plan, PlannedAgent
from ..config.templates import fill
from ..errors import ContextOverflow, cause_of
from ..llm.cited import CitedTask, evidence_ids, most_sentences, source_words, style_of
from ..llm.crewai_env import import_crewai
from ..llm.limits import task_output_cap

if TYPE_CHECKING:
    from crewai import Agent, Crew
    from crewai.tasks.task_output import TaskOutput

    from ..llm.runtime import LLMRuntime


@dataclass
class TaskResult:
    """One finished task, as handed to the pipeline when it completes."""

    name: str
    agent: str
    output: str


def build_crew(
    plan: Plan,
    runtime: LLMRuntime,
    evidence: str,
    on_task_done: Callable[[TaskResult], None] | None = None,
    done: dict[str, str] | None = None,
    only: str | None = None,
) -> Crew:
    """Assemble crewai Agents, Tasks and the Crew for `plan`.

    `evidence` fills the {evidence} placeholder. Each task receives only the tasks its
    `context` names. Tasks listed in `done` are not run again: their saved output is given to
    the tasks that name them as context. `only`: the one task this crew runs (the run graph
    runs a crew's tasks one step each, so each finished task is checkpointed).
    """
    crewai = import_crewai()
    from crewai.tasks.task_output import TaskOutput

    # Our task callbacks are closures; crewai warns that they block its checkpointing, which
    # scoutcrew does not use (it saves each task's output itself, for `scoutcrew resume`).
    warnings.filterwarnings("ignore", message="function callbacks cannot be serialized")

    done = done or {}
    # A research crew's loop runs before the crew; the crew itself then runs its tasks in order.
    process = "hierarchical" if plan.config.process == "hierarchical" else "sequential"
    values = {"evidence": evidence}
    root = plan.project.root
    # A base model cannot judge what is on topic: it is told the topic (see llm/basemodel.py).
    focus = plan.inputs.get("topic", "")
    agents = {
        name: _agent(crewai, spec, runtime, root, focus) for name, spec in plan.agents.items()
    }
    tasks: dict[str, Any] = {}
    register_limits(plan, runtime, evidence)
    for planned in plan.tasks:
        context = [tasks[name] for name in planned.context]
        task = crewai.Task(
            name=planned.name,
            description=fill(planned.description, values),
            expected_output=fill(planned.expected_output, values),
            agent=agents[planned.agent] if process == "sequential" else None,
            context=context,
            callback=_callback(planned.name, planned.agent, on_task_done),
        )
        if planned.name in done:
            task.output = TaskOutput(
                name=planned.name,
                description=task.description,
                raw=done[planned.name],
                agent=planned.agent,
            )
        tasks[planned.name] = task
    pending = [tasks[t.name] for t in plan.tasks if t.name not in done and only in (None, t.name)]
    kwargs: dict[str, Any] = {}
    if plan.config.process == "hierarchical":
        assert plan.manager is not None  # checked by config validation
        kwargs["manager_agent"] = _agent(crewai, plan.manager, runtime, root)
    return crewai.Crew(
        name=plan.crew,
        agents=list(agents.values()),
        tasks=pending,
        process=process,
        verbose=any(a.verbose for a in plan.agents.values()),
        memory=False,
        cache=False,
        **kwargs,
    )


def register_limits(plan: Plan, runtime: LLMRuntime, evidence: str) -> None:
    """Tell the runtime each task's output cap, and which tasks answer cited by construction
    (llm/cited.py): the ids that exist are those of the evidence."""
    ids = evidence_ids(evidence)
    vocab = source_words(evidence, ids)
    for planned in plan.tasks:
        runtime.task_caps[planned.name] = task_output_cap(planned.expected_output)
        agent = plan.agents.get(planned.agent)
        if planned.format != "cited" or not ids or (agent is not None and agent.tools):
            runtime.cited_tasks.pop(planned.name, None)
            continue
        asked = planned.description.replace("{evidence}", "") + " " + planned.expected_output
        runtime.cited_tasks[planned.name] = CitedTask(
            name=planned.name,
            ids=ids,
            agent=planned.agent,
            style=style_of(planned.expected_output),
            max_sentences=most_sentences(planned.expected_output),
            instructions=asked,
            vocab=vocab,
        )


def _agent(
    crewai: ModuleType, spec: PlannedAgent, runtime: LLMRuntime, plan_root: Path, focus: str = ""
) -> Agent:
    options = {**spec.options.model_dump(exclude_none=True), "focus": focus}
    return crewai.Agent(
        role=spec.role,
        goal=spec.goal,
        backstory=spec.backstory,
        llm=runtime.llm_for(spec.llm, options, agent=spec.name, model_num_ctx=spec.model_num_ctx),
        tools=build_tools(spec.tools, plan_root),
        max_iter=spec.max_iter,
        allow_delegation=spec.allow_delegation,
        verbose=spec.verbose,
        # An overflow must surface as an error, never be summarised away behind our back.
        respect_context_window=False,
        max_retry_limit=0,
        inject_date=False,
    )


def _callback(
    name: str, agent: str, on_task_done: Callable[[TaskResult], None] | None
) -> Callable[[TaskOutput], None]:
    def record(output: TaskOutput) -> None:
        if on_task_done is not None:
            on_task_done(TaskResult(name=name, agent=agent, output=str(output.raw)))

    return record


def build_tools(names: list[str], project_root: Path) -> list[Any]:
    """Create the crewai tools an agent names in agents.yaml."""
    if not names:
        return []
    from .tools import make_tools

    return make_tools(names, project_root)


def crew_stop(exc: BaseException) -> ContextOverflow | None:
    """The context overflow that stopped a crew's tasks (crewai wraps our errors), or None.

    An overflow is not retried and no model of the chain fits the prompt: the run then
    publishes what its finished tasks wrote, marks the rest not written, and ends partial.
    """
    return cause_of(exc, ContextOverflow)


def not_written(task: str, stop: ContextOverflow) -> str:
    """The section text of a task the run could not write (scoutcrew's words, not a claim)."""
    return (
        f"_Not written: task {task} stopped because its prompt did not fit the model's "
        "context (see Models). The sources stay new for the next run._"
    )
