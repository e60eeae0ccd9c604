"""Strict YAML validation: errors name file, line, key and the likely fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoutcrew.config.plan import build_plan, parse_inputs
from scoutcrew.config.project import find_project
from scoutcrew.config.schema import load_config
from scoutcrew.config.templates import fill, placeholders
from scoutcrew.errors import ConfigError, MissingInput, UnknownCrew


def problems(project_dir: Path) -> list[str]:
    return load_config(find_project(project_dir)).problems


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def test_shipped_config_is_valid(project_dir: Path) -> None:
    config = load_config(find_project(project_dir))
    assert config.problems == []
    assert {"researcher", "analyst", "writer", "manager"} <= set(config.agents)
    assert {"demo", "ai-news", "topic-brief"} <= set(config.crews)
    assert config.required_inputs("topic-brief") == ["topic"]
    assert config.required_inputs("demo") == []


def test_misspelled_agent_key_names_file_line_key_and_fix(project_dir: Path) -> None:
    agents = project_dir / "agents.yaml"
    text = agents.read_text().replace("  backstory: >-", "  backstroy: >-", 1)
    agents.write_text(text)
    found = problems(project_dir)
    line = line_of(agents, "backstroy")
    assert found == [
        f"agents.yaml:{line}: researcher.backstroy: unknown key 'backstroy' "
        "(did you mean 'backstory'?)"
    ]


def test_task_referencing_missing_agent_and_context(project_dir: Path) -> None:
    tasks = project_dir / "tasks.yaml"
    tasks.write_text(
        tasks.read_text()
        .replace("agent: analyst", "agent: analist")
        .replace("context: [collect]", "context: [colect]")
    )
    found = "\n".join(problems(project_dir))
    assert (
        f"tasks.yaml:{line_of(tasks, 'agent: analist')}: analyse.agent: no agent 'analist'" in found
    )
    assert "(did you mean 'analyst'?)" in found
    assert "no task 'colect' in tasks.yaml (did you mean 'collect'?)" in found


def test_context_must_come_earlier_in_the_crew(project_dir: Path) -> None:
    crew = project_dir / "crews" / "demo.yaml"
    crew.write_text(
        crew.read_text().replace(
            "[collect, analyse, write_digest]", "[analyse, collect, write_digest]"
        )
    )
    found = "\n".join(problems(project_dir))
    assert (
        "crews/demo.yaml:3: tasks: task 'analyse' takes context from 'collect', "
        "which must come earlier" in found
    )


def test_hierarchical_checks(project_dir: Path) -> None:
    crews = project_dir / "crews"
    (crews / "h1.yaml").write_text(
        "description: no manager\nagents: [researcher]\ntasks: [collect]\nprocess: hierarchical\n"
    )
    (crews / "h2.yaml").write_text(
        "description: manager twice\nagents: [researcher, manager]\ntasks: [collect]\n"
        "process: hierarchical\nmanager: manager\n"
    )
    (crews / "s1.yaml").write_text(
        "description: manager in sequential\nagents: [researcher]\ntasks: [collect]\n"
        "manager: manager\n"
    )
    found = "\n".join(problems(project_dir))
    assert "crews/h1.yaml:4: manager: a hierarchical crew needs a manager agent" in found
    assert "crews/h2.yaml:5: manager: 'manager' must not also be in agents:" in found
    assert "crews/s1.yaml:4: manager: only a hierarchical crew has a manager" in found


def test_yaml_syntax_error_and_duplicate_key(project_dir: Path) -> None:
    (project_dir / "crews" / "broken.yaml").write_text("description: [unclosed\nagents: []\n")
    (project_dir / "crews" / "dup.yaml").write_text(
        "description: a\ndescription: b\nagents: [writer]\ntasks: [write_digest]\n"
    )
    found = "\n".join(problems(project_dir))
    assert "crews/broken.yaml:" in found and "invalid YAML" in found
    assert "crews/dup.yaml:2: duplicate key 'description'" in found


def test_bad_values_are_reported_with_their_line(project_dir: Path) -> None:
    (project_dir / "crews" / "bad.yaml").write_text(
        "description: x\nagents: [writer]\ntasks: [write_digest]\nprocess: parallel\n"
        "schedule: '0 7 * *'\nsources:\n  feeds: []\n  max_items: 0\n"
    )
    found = "\n".join(problems(project_dir))
    assert (
        "crews/bad.yaml:4: process: Input should be 'sequential', 'hierarchical' or 'research'"
        in found
    )
    assert "crews/bad.yaml:5: schedule.cron: '0 7 * *' is not a 5-field cron expression" in found
    assert "crews/bad.yaml:8: sources.max_items:" in found


def test_bad_model_spec_and_tool(project_dir: Path) -> None:
    agents = project_dir / "agents.yaml"
    agents.write_text(
        agents.read_text().replace(
            "  llm: ollama/qwen3:8b\n  temperature: 0.2\n  max_iter: 2",
            "  llm: [ollama/qwen3:8b, gpt-4]\n  tools: [web_serch]\n  temperature: 0.2",
            1,
        )
    )
    found = "\n".join(problems(project_dir))
    assert "'gpt-4' is not a model spec: use ollama/NAME" in found
    assert "unknown tool 'web_serch' (did you mean 'web_search'?)" in found


def test_missing_and_unknown_inputs_are_clear(project_dir: Path) -> None:
    config = load_config(find_project(project_dir))
    with pytest.raises(MissingInput, match=r"needs 'topic': pass --input topic=\.\.\."):
        build_plan(config, "topic-brief")
    with pytest.raises(MissingInput, match=r"has no placeholder \{colour\}"):
        build_plan(config, "demo", {"colour": "blue"})
    plan = build_plan(config, "topic-brief", {"topic": "solid-state batteries"})
    assert plan.sources.search[0] == "solid-state batteries"
    assert "solid-state batteries" in plan.tasks[0].description
    assert "{evidence}" in plan.tasks[0].description  # filled later, by the pipeline
    assert plan.title == "Brief: solid-state batteries"
    assert [t.in_report for t in plan.tasks] == [False, True]
    assert plan.config.process == "research"


def test_model_override_replaces_every_chain(project_dir: Path) -> None:
    config = load_config(find_project(project_dir))
    plan = build_plan(config, "weekly-report", model=["ollama/a", "ollama/b"])
    assert {tuple(a.llm) for a in plan.agents.values()} == {("ollama/a", "ollama/b")}
    assert plan.manager is not None and plan.manager.llm == ["ollama/a", "ollama/b"]


def test_unknown_crew_suggests(project_dir: Path) -> None:
    with pytest.raises(UnknownCrew, match="did you mean 'demo'"):
        load_config(find_project(project_dir), only_crew="dmeo")


def test_a_broken_crew_does_not_block_another(project_dir: Path) -> None:
    (project_dir / "crews" / "bad.yaml").write_text("description: x\nagentz: []\n")
    config = load_config(find_project(project_dir), only_crew="demo")
    assert config.problems == []
    with pytest.raises(ConfigError):
        build_plan(load_config(find_project(project_dir)), "demo")


def test_placeholders_and_fill() -> None:
    assert placeholders("a {x} {{literal}} {y}") == {"x", "y"}
    assert fill("{x} and {{x}}", {"x": "{y}"}) == "{y} and {x}"  # values are not re-read
    assert parse_inputs(["topic=a=b", "n=1"]) == {"topic": "a=b", "n": "1"}
    with pytest.raises(MissingInput):
        parse_inputs(["novalue"])


def test_a_crew_chain_with_per_model_num_ctx_reaches_the_plan(project_dir):
    crew = project_dir / "crews" / "demo.yaml"
    text = crew.read_text()
    assert "llm: [ollama/qwen3:8b, embedded/default]" in text
    crew.write_text(
        text.replace(
            "llm: [ollama/qwen3:8b, embedded/default]",
            "llm: [ollama/qwen3:8b, {model: ollama/qwen3:14b, num_ctx: 32768}, embedded/default]",
        )
    )
    config = load_config(find_project(project_dir))
    plan = build_plan(config, "demo")
    for agent in plan.agents.values():  # the crew's chain, for every agent
        assert agent.llm == ["ollama/qwen3:8b", "ollama/qwen3:14b", "embedded/default"]
        assert agent.model_num_ctx == {"ollama/qwen3:14b": 32768}
    assert config.agents["writer"].chain == ["ollama/qwen3:8b"]  # agents.yaml is unchanged
    override = build_plan(config, "demo", model=["ollama/small:1b"])
    assert override.agents["writer"].llm == ["ollama/small:1b"]
    assert override.agents["writer"].model_num_ctx == {}


def test_a_bad_chain_entry_is_one_clear_problem(project_dir):
    crew = project_dir / "crews" / "demo.yaml"
    crew.write_text(
        crew.read_text().replace("embedded/default]", "{model: gpt4, num_ctx: 1024}]", 1)
    )
    with pytest.raises(ConfigError) as caught:
        build_plan(load_config(find_project(project_dir)), "demo")
    (problem,) = caught.value.problems
    assert problem.startswith("crews/demo.yaml:") and "'gpt4' is not a model spec" in problem
