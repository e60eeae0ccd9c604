"""Real crewai Crews built from YAML, run against the fake Ollama server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scoutcrew.cli import main
from scoutcrew.config.project import find_project
from scoutcrew.run.execute import run_crew
from scoutcrew.run.options import RunOptions
from scoutcrew.testing.fake_ollama import FakeOllama
from scoutcrew.testing.scripts import NOTE_MARK, scripted_reader

COLLECT = "- Local inference got faster this month [S1]\n- A new open-weights model shipped [S2]"
ANALYSE = "Theme: open weights are catching up, and local inference is cheaper [S1] [S2]."
DIGEST = (
    "Local inference on laptops got noticeably faster this month [S1]. "
    "A new open-weights model was released [S2]."
)
CRITIQUE = "The digest is fair but thin on numbers [S1]."


def prompt_text(request: dict) -> str:
    """All message text of a chat request (a recorded request or a bare request body)."""
    body = request.get("json", request)
    return "\n".join(str(m.get("content") or "") for m in body["messages"])


def by_task(request: dict) -> str:
    """Answer like a model would, depending on which task's prompt this is."""
    text = prompt_text(request)
    if "Review the digest" in text:
        return "Final Answer: " + CRITIQUE
    if "Write the digest" in text:
        return "Thought: I can write it now.\nFinal Answer: " + DIGEST
    if "name the 2 to 4 themes" in text:
        return "Final Answer: " + ANALYSE
    return COLLECT  # no "Final Answer:" marker: small models often leave it out


@pytest.fixture
def ollama(monkeypatch: pytest.MonkeyPatch):
    with FakeOllama(default_reply=scripted_reader(by_task)) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        yield server


def task_requests(server: FakeOllama) -> dict[str, list[str]]:
    """Group the prompts the server saw by the task they belong to."""
    groups: dict[str, list[str]] = {}
    for request in server.chat_requests:
        text = prompt_text(request)
        if str(request["json"]["messages"][0].get("content")).startswith(NOTE_MARK):
            key = "notes"
        elif "failed a fact check" in text:
            key = "repair"  # the claim check sends unsupported sentences back once
        elif "Review the digest" in text:
            key = "critique"
        elif "Write the digest" in text:
            key = "write_digest"
        elif "name the 2 to 4 themes" in text:
            key = "analyse"
        else:
            key = "collect"
        groups.setdefault(key, []).append(text)
    return groups


def test_demo_crew_runs_sequentially_with_declared_context_only(
    project_dir: Path, ollama: FakeOllama, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run_crew(
        find_project(project_dir),
        "demo",
        RunOptions(backend="ollama", output_dir=out, model=["ollama/qwen3:8b"]),
    )
    assert result.status == "ok"
    assert result.report is not None and result.report.parent == out / "demo"
    report = result.report.read_text()
    assert "Local inference on laptops got noticeably faster" in report

    prompts = task_requests(ollama)
    assert [len(prompts[k]) for k in ("notes", "collect", "analyse", "write_digest")] == [
        1,
        1,
        1,
        1,
    ]
    sources = json.loads(result.paths.json.read_text())["sources"]
    first_title = sources[0]["title"]
    # The evidence reaches the researcher only; later tasks get exactly their context.
    assert first_title in prompts["collect"][0]
    assert first_title not in prompts["analyse"][0]
    assert first_title not in prompts["write_digest"][0]
    # The tasks answer cited by construction: code wrote each answer's Markdown and markers.
    assert "- Local inference got faster this month [S1]\n" in prompts["analyse"][0]
    assert "Local inference got faster this month [S1]" in prompts["write_digest"][0]
    assert "open weights are catching up" in prompts["write_digest"][0]
    assert "noticeably faster" not in prompts["analyse"][0]
    tasks = [
        r
        for r in ollama.chat_requests
        if not str(r["json"]["messages"][0].get("content")).startswith(NOTE_MARK)
        and "failed a fact check" not in prompt_text(r)
    ]
    assert len(tasks) == 3
    for request in tasks:  # every task asked for the cited JSON schema
        ids = request["json"]["format"]["properties"]["sections"]["items"]["properties"]
        assert set(ids["sentences"]["items"]["properties"]["ids"]["items"]["enum"]) >= {"S1"}

    # Native API only, with a fixed context and no silent truncation.
    assert not [r for r in ollama.requests if r["path"].startswith("/v1")]
    for request in ollama.chat_requests:
        assert request["json"]["truncate"] is False
        assert request["json"]["options"]["num_ctx"] > 0
    assert len({r["json"]["options"]["num_ctx"] for r in ollama.chat_requests}) == 1


def test_hierarchical_crew_delegates_through_the_manager(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (project_dir / "crews" / "demo-led.yaml").write_text(
        (project_dir / "crews" / "demo.yaml")
        .read_text()
        .replace("process: sequential", "process: hierarchical\nmanager: manager")
        .replace("tasks: [collect, analyse, write_digest]", "tasks: [collect]")
    )

    def script(request: dict) -> str:
        messages = request["messages"]
        if "Research lead" in str(messages[0].get("content")):
            if len(messages) > 2:  # the delegation's result came back
                return "Thought: The analyst answered.\nFinal Answer: " + COLLECT
            return (
                "Thought: The researcher should do this.\n"
                "Action: delegate_work_to_coworker\n"
                'Action Input: {"task": "List the key facts with ids", '
                '"context": "Use the evidence given.", "coworker": "Research analyst"}'
            )
        return "Final Answer: " + COLLECT

    models = {"qwen3:8b": {"context_length": 32768, "capabilities": ["completion"]}}
    with FakeOllama(models=models, default_reply=scripted_reader(script)) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        result = run_crew(
            find_project(project_dir),
            "demo-led",
            RunOptions(backend="ollama", output_dir=tmp_path / "out"),
        )
        requests = [
            r
            for r in server.chat_requests
            if not str(r["json"]["messages"][0].get("content")).startswith(NOTE_MARK)
            and "failed a fact check" not in prompt_text(r)
        ]
    systems = [str(r["json"]["messages"][0].get("content")) for r in requests]
    assert result.status == "ok"
    assert len(requests) == 3  # manager delegates, researcher answers, manager concludes
    assert "You are Research lead" in systems[0] and "You are Research analyst" in systems[1]
    assert "List the key facts with ids" in prompt_text(requests[1])
    assert "Observation: " + COLLECT in prompt_text(requests[2])
    assert "Local inference got faster this month" in result.report.read_text()


def test_adding_an_agent_is_a_yaml_edit(project_dir: Path, ollama: FakeOllama) -> None:
    with (project_dir / "agents.yaml").open("a") as fh:
        fh.write(
            "\ncritic:\n  role: Critic\n  goal: >-\n    Point out what the digest gets wrong.\n"
            "  backstory: >-\n    You are a careful, fair editor.\n  llm: ollama/qwen3:8b\n"
        )
    with (project_dir / "tasks.yaml").open("a") as fh:
        fh.write(
            "\ncritique:\n  description: >-\n    Review the digest below for {topic}.\n"
            "  expected_output: >-\n    Three bullet points.\n  agent: critic\n"
            "  context: [write_digest]\n  output:\n    in_report: true\n    heading: Critique\n"
        )
    (project_dir / "crews" / "reviewed.yaml").write_text(
        (project_dir / "crews" / "demo.yaml")
        .read_text()
        .replace("[researcher, analyst, writer]", "[researcher, analyst, writer, critic]")
        .replace("[collect, analyse, write_digest]", "[collect, analyse, write_digest, critique]")
    )
    assert main(["--project", str(project_dir), "validate"]) == 0
    out = project_dir / "reports"
    assert main(["--project", str(project_dir), "run", "reviewed", "--backend", "ollama"]) == 0
    report = (out / "reviewed" / "latest.md").read_text()
    assert CRITIQUE.split(" [S1]")[0] in report and DIGEST.split(" [S1]")[0] in report
    critique_prompt = task_requests(ollama)["critique"][0]
    assert DIGEST.split(" [S1]")[0] in critique_prompt and "shipped [S2]" not in critique_prompt


def test_cli_run_survives_503s_and_speaks_only_the_native_api(
    project_dir: Path, ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    ollama.fail_next(503, times=2)  # Ollama's queue is full for the first two requests
    argv = ["--project", str(project_dir), "run", "demo", "--model", "ollama/qwen3:8b"]
    assert main(argv) == 0
    report = Path(capsys.readouterr().out.strip())
    assert "Local inference on laptops got noticeably faster" in report.read_text()
    assert {r["path"] for r in ollama.requests} <= {"/api/version", "/api/show", "/api/chat"}
    chats = [c for c in ollama.chat_requests if "failed a fact check" not in prompt_text(c)]
    assert len(chats) == 6  # two refused, then the notes, then one per task
    assert all(c["json"]["truncate"] is False and c["json"]["options"]["num_ctx"] for c in chats)


def test_a_crew_that_names_no_embedded_model_fails_when_ollama_is_down(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like a scheduled ai-news run with Ollama down: a failed run, no junk report."""
    (project_dir / "crews" / "offline.yaml").write_text(
        (project_dir / "crews" / "demo.yaml")
        .read_text()
        .replace("llm: [ollama/qwen3:8b, embedded/default]\n", "")
    )
    argv = ["--project", str(project_dir), "run", "offline"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Ollama is not reachable" in err and "ollama serve" in err
    assert not (project_dir / "reports" / "offline").exists()
    from scoutcrew.store.db import Store

    with Store.open(find_project(project_dir).data_dir / "scoutcrew.sqlite") as store:
        assert not store.delivered("offline")  # nothing counts as reported


def test_an_explicit_model_is_honoured_or_the_run_fails_with_the_fix(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The demo crew declares an embedded fallback, but --model names the one model to use.
    argv = ["--project", str(project_dir), "run", "demo", "--model", "ollama/qwen3:8b"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "--model ollama/qwen3:8b,embedded/default" in err
    assert not (project_dir / "reports" / "demo").exists()


def test_a_model_fallback_shows_in_the_markdown_and_html_report(
    project_dir: Path, ollama: FakeOllama, tmp_path: Path
) -> None:
    result = run_crew(
        find_project(project_dir),
        "demo",
        RunOptions(
            backend="ollama", output_dir=tmp_path, model=["ollama/missing:1b", "ollama/qwen3:8b"]
        ),
    )
    assert result.status == "ok"
    expected = "collect (researcher): ollama/qwen3:8b, after ollama/missing:1b failed"
    md = result.report.read_text()
    assert expected in md.split("## Models", 1)[1]
    assert "ollama pull missing:1b" in md.split("## Models", 1)[1]
    html = result.paths.html.read_text()
    assert "<h2>Models</h2>" in html and expected in html
