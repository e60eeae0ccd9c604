"""Run history, incremental re-runs, resume and interruption, on the real pipeline and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scoutcrew.cli import main
from scoutcrew.config.project import find_project
from scoutcrew.errors import LLMError
from scoutcrew.run.execute import resume_run, run_crew
from scoutcrew.run.options import RunOptions
from scoutcrew.store.db import Store
from scoutcrew.store.runs import get_run, list_runs
from scoutcrew.testing.fake_ollama import FakeOllama, count_prompt_tokens
from scoutcrew.testing.scripts import free_text_tasks, scripted_reader

EVIL = "http://evil.example/free-gpu-credits"


def text_of(body: dict) -> str:
    return "\n".join(str(m.get("content") or "") for m in body["messages"])


def scripted(body: dict) -> str:
    text = text_of(body)
    if "Write the digest" in text:
        # A model fooled by the injected feed item repeats its link.
        return (
            "Final Answer: Feed readers remain a cheap input for research agents [S1]. "
            f"Claim your credits at {EVIL} today."
        )
    if "name the 2 to 4 themes" in text:
        return "Final Answer: Feeds stay useful [S1]."
    return "Final Answer: - Most labs still publish RSS or Atom feeds [S1]"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    with FakeOllama(default_reply=scripted_reader(scripted)) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        yield fake


def new_only_crew(project_dir: Path, name: str = "digest") -> str:
    """The demo crew without `all_items: true`: a crew that reads only what is new."""
    demo = (project_dir / "crews" / "demo.yaml").read_text()
    text = "\n".join(line for line in demo.splitlines() if "all_items" not in line)
    (project_dir / "crews" / f"{name}.yaml").write_text(text + "\n")
    return name


def store_for(project_dir: Path) -> Store:
    return Store.open(find_project(project_dir).data_dir / "scoutcrew.sqlite")


def test_run_record_matches_server_counts_and_rerun_is_free(
    project_dir: Path, server: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    crew = new_only_crew(project_dir)
    assert main(["--project", str(project_dir), "run", crew, "--backend", "ollama"]) == 0
    captured = capsys.readouterr()
    report = Path(captured.out.strip())
    assert report.is_file() and report.parent.name == crew
    assert "researcher" in captured.err  # the summary table, per agent

    with store_for(project_dir) as store:
        [row] = list_runs(store)
        run = get_run(store, row.id[:12])
    assert run["status"] == "ok" and run["report"] == str(report)
    assert [t["task"] for t in run["tasks"]] == ["collect", "analyse", "write_digest"]
    # Every call recorded with the server's own token counts, agent and task.
    server_counts = [count_prompt_tokens(r["json"]["messages"]) for r in server.chat_requests]
    assert [c["prompt_tokens"] for c in run["calls"]] == server_counts
    # The writer cited the feed-readers sentence to [S1]; code placed its marker on the
    # source it matches, so the claim check has nothing to send back (no repair call).
    assert [c["task"] for c in run["calls"]] == ["notes", "collect", "analyse", "write_digest"]
    assert "Feed readers remain a cheap input for research agents [S3]." in report.read_text()
    assert {c["agent"] for c in run["calls"]} == {"reader", "researcher", "analyst", "writer"}

    assert main(["--project", str(project_dir), "runs"]) == 0
    assert row.id in capsys.readouterr().out
    assert main(["--project", str(project_dir), "show", row.id]) == 0
    shown = capsys.readouterr().out
    assert f"total: {sum(server_counts)} prompt" in shown

    calls_before = len(server.chat_requests)
    reports = sorted(report.parent.iterdir())
    assert main(["--project", str(project_dir), "run", crew, "--backend", "ollama"]) == 0
    captured = capsys.readouterr()
    # Said once, with the way to a report anyway; no report path on stdout, no new file.
    assert captured.err.count("nothing new for digest") == 1
    assert f"scoutcrew run {crew} --all-items" in captured.err
    assert captured.out == "" and sorted(report.parent.iterdir()) == reports
    assert len(server.chat_requests) == calls_before  # no model was called
    with store_for(project_dir) as store:
        assert list_runs(store)[0].status == "nothing-new"


def test_injected_link_is_flagged_and_not_live(
    project_dir: Path, server: FakeOllama, tmp_path: Path
) -> None:
    free_text_tasks(project_dir)  # a writer asked for free text repeats the injected link
    result = run_crew(
        find_project(project_dir), "demo", RunOptions(backend="ollama", output_dir=tmp_path)
    )
    md = result.paths.md.read_text()
    html = result.paths.html.read_text()
    assert EVIL not in md and EVIL not in html
    assert "foreign-url" in json.dumps(json.loads(result.paths.json.read_text())["flags"])
    assert "## References" in md and "[S1]" in md
    assert md.rstrip().splitlines()[-1].startswith("Trust:")


def test_failed_run_resumes_from_first_unfinished_task(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = {"analyse": True}

    def flaky(body: dict) -> str:
        if "name the 2 to 4 themes" in text_of(body) and broken["analyse"]:
            return ""  # an empty answer is a failure, not a result
        return scripted(body)

    project = find_project(project_dir)
    with FakeOllama(default_reply=scripted_reader(flaky)) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        with pytest.raises(LLMError):
            run_crew(project, "demo", RunOptions(backend="ollama"))
        with store_for(project_dir) as store:
            run = get_run(store, list_runs(store)[0].id)
        assert run["status"] == "failed"
        assert [t["task"] for t in run["tasks"]] == ["collect"]

        broken["analyse"] = False
        before = len(fake.chat_requests)
        result = resume_run(project, run["id"])
        resumed_prompts = [text_of(r["json"]) for r in fake.chat_requests[before:]]
    # (the claim check's one repair call for the digest comes after the tasks)
    resumed_prompts = [p for p in resumed_prompts if "failed a fact check" not in p]
    assert result.status == "ok" and result.report is not None
    assert len(resumed_prompts) == 2  # analyse and write_digest; collect is not run again
    assert "Most labs still publish RSS" in resumed_prompts[0]  # saved output as context
    with store_for(project_dir) as store:
        final = get_run(store, run["id"])
    assert final["status"] == "ok"
    assert [t["task"] for t in final["tasks"]] == ["collect", "analyse", "write_digest"]


def test_ctrl_c_marks_the_run_interrupted_and_keeps_finished_tasks(
    project_dir: Path, server: FakeOllama
) -> None:
    def progress(message: str) -> None:
        if message.startswith("task collect done"):
            raise KeyboardInterrupt

    project = find_project(project_dir)
    with pytest.raises(KeyboardInterrupt):
        run_crew(project, "demo", RunOptions(backend="ollama"), progress=progress)
    with store_for(project_dir) as store:
        run = get_run(store, list_runs(store)[0].id)
    assert run["status"] == "interrupted"
    assert [t["task"] for t in run["tasks"]] == ["collect"]
    assert main(["--project", str(project_dir), "resume", run["id"]]) == 0


def test_ctrl_c_does_not_wait_for_the_model_call_in_flight(project_dir: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    with FakeOllama(delay=60) as slow:  # the answer would take a minute
        env = dict(os.environ, OLLAMA_HOST=slow.url)
        exe = Path(sys.executable).with_name("scoutcrew")
        child = subprocess.Popen(
            [str(exe), "--project", str(project_dir), "run", "demo", "--backend", "ollama"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not slow.chat_requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert slow.chat_requests, "the run never reached the model"
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)  # well before the model would answer
    assert child.returncode == 130 and "interrupted" in err
    with store_for(project_dir) as store:
        run = get_run(store, list_runs(store)[0].id)
    assert run["status"] == "interrupted" and "scoutcrew resume" in run["error"]


def test_a_crew_whose_every_source_fails_fails_instead_of_reporting_nothing_new(
    project_dir: Path, server: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    (project_dir / "crews" / "dead.yaml").write_text(
        "description: A crew whose only feed is down\n"
        "agents: [researcher, analyst, writer]\n"
        "tasks: [collect, analyse, write_digest]\n"
        "sources:\n"
        "  feeds: [http://127.0.0.1:9/feed.xml]\n"  # nothing listens on port 9
        "  allow_private_hosts: true\n"
        "inputs:\n"
        "  topic: anything\n"
    )
    assert main(["--project", str(project_dir), "run", "dead", "--backend", "ollama"]) == 1
    err = capsys.readouterr().err
    assert "every source of dead failed (1 of 1)" in err and "127.0.0.1:9" in err
    assert not server.chat_requests
    with store_for(project_dir) as store:
        assert list_runs(store)[0].status == "failed"
