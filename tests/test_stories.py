"""Notes, stories, budgets and carry-over on the real pipeline: HTTP feeds on 127.0.0.1, the fake
Ollama with scripted notes, a real SQLite store and real crewai Crews."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from feedserver import FeedServer, rss

from scoutcrew.cli import main
from scoutcrew.config.project import find_project
from scoutcrew.notes.take import SourceNote
from scoutcrew.run.execute import resume_run, run_crew
from scoutcrew.run.options import RunOptions
from scoutcrew.store.db import Store
from scoutcrew.store.runs import get_run, list_runs
from scoutcrew.stories.group import group_stories
from scoutcrew.testing.fake_ollama import FakeOllama
from scoutcrew.testing.scripts import (
    NOTE_MARK,
    REDUCE_MARK,
    news_item,
    scripted_reader,
    sources_in_prompt,
)

SRC = Path(__file__).resolve().parents[1] / "src"


def crew_answer(request: dict) -> str:
    text = "\n".join(str(m.get("content") or "") for m in request["messages"])
    if "Write the digest" in text:
        return "Thought: done\nFinal Answer: The labs shipped models this week [S1]."
    if "name the 2 to 4 themes" in text:
        return "Final Answer: Releases keep coming [S1]."
    return "Final Answer: - A lab released a model [S1]"


def kind(request: dict) -> str:
    system = str(request["json"]["messages"][0].get("content") or "")
    if system.startswith(NOTE_MARK):
        return "notes"
    if system.startswith(REDUCE_MARK):
        return "reduce"
    if "`1: REMOVE`" in json.dumps(request["json"]["messages"]):
        return "repair"  # the writer asked to fix a flagged sentence, after the crew
    return "crew"


def items(feed: str, count: int, start: int = 0) -> list[tuple[str, str, str]]:
    number = sum(map(ord, feed))
    return [news_item(number, i) for i in range(start, start + count)]


def serve(server: FeedServer, name: str, entries: list[tuple[str, str, str]]) -> str:
    body = rss(f"{name} feed", entries)
    server.extra[f"/{name}.xml"] = (
        200,
        {"Content-Type": "application/rss+xml", "ETag": "x"},
        body,
    )
    return f"{server.url}/{name}.xml"


def write_crew(project_dir: Path, name: str, feeds: list[str], extra: str = "") -> None:
    lines = "\n".join(f"    - {url}" for url in feeds)
    (project_dir / "crews" / f"{name}.yaml").write_text(
        f"description: Test news crew\nagents: [researcher, analyst, writer]\n"
        f"tasks: [collect, analyse, write_digest]\nsources:\n  feeds:\n{lines}\n"
        f"  allow_private_hosts: true\ninputs:\n  topic: local models\n{extra}",
        encoding="utf-8",
    )


@pytest.fixture
def ollama(monkeypatch: pytest.MonkeyPatch):
    with FakeOllama(default_reply=scripted_reader(crew_answer)) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        yield server


@pytest.fixture
def feeds():
    with FeedServer() as server:
        yield server


def requests_of(server: FakeOllama, since: int = 0) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {"notes": [], "reduce": [], "crew": [], "repair": []}
    for request in server.chat_requests[since:]:
        out[kind(request)].append(request)
    return out


def delivered(project_dir: Path, crew: str) -> set[str]:
    with Store.open(find_project(project_dir).data_dir / "scoutcrew.sqlite") as store:
        return store.delivered(crew)


def report_json(result) -> dict:
    return json.loads(result.paths.json.read_text())


def test_rerun_hits_the_note_cache_and_another_crew_pays_no_notes(
    project_dir: Path, ollama: FakeOllama, feeds: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = [serve(feeds, "alpha", items("alpha", 8)), serve(feeds, "beta", items("beta", 8))]
    write_crew(project_dir, "news", urls)
    write_crew(project_dir, "other", urls)
    project = find_project(project_dir)
    first = run_crew(project, "news", RunOptions(backend="ollama"))
    assert first.status == "ok"
    calls = requests_of(ollama)
    assert len(calls["notes"]) == 1 and len(calls["crew"]) == 3
    sources = report_json(first)["sources"]
    assert len(sources) == 16  # every item was read, none left out
    assert len(delivered(project_dir, "news")) == 16

    before = len(ollama.chat_requests)
    # `plan` tells the truth before anything runs, and calls no model either.
    assert main(["--project", str(project_dir), "plan", "news", "--backend", "ollama"]) == 0
    planned = capsys.readouterr().out
    assert "nothing new to read: a run now would make no model call" in planned
    assert "Left out: 16 already reported" in planned
    assert main(["--project", str(project_dir), "plan", "other", "--backend", "ollama"]) == 0
    planned = capsys.readouterr().out
    assert "16 sources already have a note in the store (no model call)" in planned
    assert "notes: 0 sources" not in planned and "to read in" not in planned
    assert "measured speed" in planned  # the first run's calls gave the model a speed
    assert len(ollama.chat_requests) == before

    again = run_crew(project, "news", RunOptions(backend="ollama"))
    assert again.status == "nothing-new" and len(ollama.chat_requests) == before

    other = run_crew(project, "other", RunOptions(backend="ollama"))
    assert other.status == "ok"
    calls = requests_of(ollama, before)
    assert calls["notes"] == [] and len(calls["crew"]) == 3
    # The crew still read every note, from the cache, with this run's ids.
    fact = news_item(sum(map(ord, "alpha")), 3)[2][3:60]
    assert fact in json.dumps(calls["crew"][0]["json"]["messages"])


def test_a_changed_source_is_read_again_and_its_story_is_updated(
    project_dir: Path, ollama: FakeOllama, feeds: FeedServer
) -> None:
    entries = items("alpha", 5)
    url = serve(feeds, "alpha", entries)
    write_crew(project_dir, "news", [url])
    project = find_project(project_dir)
    first = run_crew(project, "news", RunOptions(backend="ollama"))
    assert first.status == "ok"
    stories = report_json(first)["stories"]
    assert [s["status"] for s in stories] == ["new"] * 5

    title, link, _ = entries[2]
    entries[2] = (title, link, "<p>The lab recalled the model after 4 days.</p>")
    serve(feeds, "alpha", entries)
    before = len(ollama.chat_requests)
    second = run_crew(project, "news", RunOptions(backend="ollama"))
    assert second.status == "ok"
    calls = requests_of(ollama, before)
    [note_call] = calls["notes"]
    prompt = note_call["json"]["messages"][1]["content"]
    assert [t for _i, t, _b in sources_in_prompt(prompt)] == [title]
    data = report_json(second)
    [story] = data["stories"]
    assert story["status"] == "updated" and story["last_reported"]
    assert story["changed"] == ["The lab recalled the model after 4 days. [S1]"]
    assert story["id"] == stories[2]["id"]  # the same story, across runs
    markdown = second.report.read_text()
    assert "**updated** since" in markdown and "new: The lab recalled the model" in markdown
    # The crew read the update only, not the four stories it reported before.
    crew_prompt = json.dumps(calls["crew"][0]["json"]["messages"])
    assert "recalled the model" in crew_prompt and entries[0][0] not in crew_prompt


def test_same_event_from_two_feeds_is_one_story() -> None:
    def note(i: int, title: str, url: str, fact: str) -> SourceNote:
        return SourceNote(f"S{i}", url, title, [fact], f"h{i}", "m")

    notes = [
        note(1, "Northwind releases Kestrel-7B open weights model", "https://a/1", "It is 7B."),
        note(2, "Kestrel-7B open weights model released by Northwind", "https://b/2", "Open."),
        note(
            3,
            "Quantisation below four bits loses quality",
            "https://c/3",
            "Quantisation below four bits loses quality in a study of small models",
        ),
    ]
    stories = group_stories(notes)
    # Two outlets tell the Kestrel story: it comes first, with both.
    assert [s.source_ids for s in stories] == [["S1", "S2"], ["S3"]]
    assert stories[0].to_dict()["also_reported"] == 1
    asked: list[tuple[str, str]] = []

    def decide(a: SourceNote, b: SourceNote) -> bool:
        asked.append((a.source_id, b.source_id))
        return True

    notes.append(
        note(
            4,
            "Small models lose quality when quantised",
            "https://d",
            "Tests of small models show a loss of quality at low bit widths",
        )
    )
    assert [s.source_ids for s in group_stories(notes)] == [["S1", "S2"], ["S3"], ["S4"]]
    stories = group_stories(notes, decide=decide)
    assert asked == [("S3", "S4")]  # only the pair code could not decide went to the model
    assert sorted(s.source_ids for s in stories) == [["S1", "S2"], ["S3", "S4"]]


def test_budget_cut_writes_a_partial_report_and_the_next_run_reads_the_rest(
    project_dir: Path, ollama: FakeOllama, feeds: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = [serve(feeds, name, items(name, 20)) for name in ("alpha", "beta", "gamma")]
    write_crew(project_dir, "news", urls)
    (project_dir / "agents.yaml").write_text(
        (project_dir / "agents.yaml")
        .read_text()
        .replace("  max_iter: 2\n", "  max_iter: 2\n  num_ctx: 2048\n", 1)
    )
    args = ["--project", str(project_dir), "run", "news", "--backend", "ollama"]
    status = main([*args, "--budget-prompt-tokens", "6500"])
    captured = capsys.readouterr()
    assert status == 3, captured.err
    assert "partial:" in captured.err and "not read" in captured.err
    report = Path(captured.out.strip().splitlines()[-1])
    data = json.loads(report.with_suffix(".json").read_text())
    assert data["partial"] is True
    read = {s["url"] for s in data["sources"]}
    unread = {u["title"] for u in data["unread"]}
    assert read and unread and len(read) + len(unread) == 60
    assert {u["reason"] for u in data["unread"]} == {"over budget (prompt_tokens)"}
    assert "not read by a model" in report.read_text()
    # Only what a model read counts as reported.
    assert delivered(project_dir, "news") == read
    with Store.open(find_project(project_dir).data_dir / "scoutcrew.sqlite") as store:
        [row] = list_runs(store)
        assert row.status == "partial" and row.prompt_tokens <= 6500

    before = len(ollama.chat_requests)
    assert main(args) == 0
    second = json.loads(
        Path(capsys.readouterr().out.strip().splitlines()[-1]).with_suffix(".json").read_text()
    )
    assert {s["title"] for s in second["sources"]} == unread
    note_calls = requests_of(ollama, before)["notes"]
    titles = [
        t
        for r in note_calls
        for _i, t, _b in sources_in_prompt(r["json"]["messages"][1]["content"])
    ]
    assert sorted(titles) == sorted(unread)  # nothing read before was paid for again
    assert len(delivered(project_dir, "news")) == 60


def test_num_ctx_512_with_200_items_reports_only_what_was_read(
    project_dir: Path, ollama: FakeOllama, feeds: FeedServer
) -> None:
    urls = [serve(feeds, f"f{n}", items(f"f{n}", 20)) for n in range(10)]
    write_crew(project_dir, "news", urls)
    text = (
        (project_dir / "agents.yaml")
        .read_text()
        .replace("  max_iter: 2\n", "  max_iter: 2\n  num_ctx: 512\n")
    )
    (project_dir / "agents.yaml").write_text(text)
    project = find_project(project_dir)
    try:
        result = run_crew(project, "news", RunOptions(backend="ollama"))
    except Exception:  # the crew's own prompts may not fit 512 tokens: then nothing counts
        assert delivered(project_dir, "news") == set()
        assert len(requests_of(ollama)["notes"]) > 20  # the map step did read in small pieces
        return
    if result.status == "partial":  # the crew's prompts did not fit: a report of what was
        assert "Not written" in Path(result.report).read_text()  # done, and nothing reported
        assert delivered(project_dir, "news") == set()
        return
    read = {s["url"] for s in report_json(result)["sources"]}
    assert delivered(project_dir, "news") == read
    assert len(read) == 200


def test_kill_9_mid_map_then_resume_pays_only_the_unfinished_notes(
    project_dir: Path, feeds: FeedServer, tmp_path: Path
) -> None:
    urls = [serve(feeds, f"f{n}", items(f"f{n}", 20)) for n in range(3)]
    write_crew(project_dir, "news", urls)
    text = (
        (project_dir / "agents.yaml")
        .read_text()
        .replace("  max_iter: 2\n", "  max_iter: 2\n  num_ctx: 1024\n")
    )
    (project_dir / "agents.yaml").write_text(text)
    with FakeOllama(default_reply=scripted_reader(crew_answer), delay=0.4) as server:
        env = {
            **os.environ,
            "OLLAMA_HOST": server.url,
            "PYTHONPATH": str(SRC),
            "OTEL_SDK_DISABLED": "true",
            "CREWAI_DISABLE_TELEMETRY": "true",
        }
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from scoutcrew.cli import entry; entry()",
                "--project",
                str(project_dir),
                "run",
                "news",
                "--backend",
                "ollama",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        try:
            while len(server.chat_requests) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
        killed_after = len(server.chat_requests)
        assert 4 <= killed_after
        store_path = find_project(project_dir).data_dir / "scoutcrew.sqlite"
        with Store.open(store_path) as store:
            saved = store.execute("SELECT COUNT(*) AS n FROM notes")[0]["n"]
            [row] = list_runs(store)
        assert saved > 0
        finished = {
            t
            for r in server.chat_requests
            for _i, t, _b in sources_in_prompt(r["json"]["messages"][1]["content"])
        }
        os.environ["OLLAMA_HOST"] = server.url
        try:
            result = resume_run(find_project(project_dir), row.id)
        finally:
            os.environ["OLLAMA_HOST"] = "http://127.0.0.1:9"
        assert result.status == "ok"
        after = requests_of(server, killed_after)
        read_again = [
            t
            for r in after["notes"]
            for _i, t, _b in sources_in_prompt(r["json"]["messages"][1]["content"])
        ]
        with Store.open(store_path) as store:
            cached_titles = {r["url"] for r in store.execute("SELECT url FROM notes")}
            assert get_run(store, row.id)["status"] == "ok"
        assert len(read_again) == 60 - saved  # finished notes were not paid again
        assert len(set(read_again)) == len(read_again)
        assert len(cached_titles) == 60
        assert len(report_json(result)["sources"]) == 60
        assert finished  # (the killed run had really started reading)


def test_a_model_outage_leaves_every_item_new(
    project_dir: Path, ollama: FakeOllama, feeds: FeedServer
) -> None:
    from scoutcrew.errors import RunFailed

    write_crew(project_dir, "news", [serve(feeds, "alpha", items("alpha", 6))])
    project = find_project(project_dir)
    ollama.fail_next(500, "model runner crashed", times=50)
    with pytest.raises(RunFailed, match="could be read by a model"):
        run_crew(project, "news", RunOptions(backend="ollama"))
    assert delivered(project_dir, "news") == set()
    with Store.open(project.data_dir / "scoutcrew.sqlite") as store:
        assert list_runs(store)[0].status == "failed"
    ollama._failures.clear()
    result = run_crew(project, "news", RunOptions(backend="ollama"))
    assert result.status == "ok" and len(report_json(result)["sources"]) == 6
