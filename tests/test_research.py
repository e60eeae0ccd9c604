"""The research process: a real LangGraph loop over a stand-in SearXNG and the fake Ollama,
with real crewai crews writing, through the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from research_web import (
    PAGES,
    QUESTIONS,
    TOPIC,
    brain,
    kinds,
    plan_json,
    reflect_answer,
    research_crew,
)

from scoutcrew.cli import main
from scoutcrew.config.project import find_project
from scoutcrew.config.schema import load_config
from scoutcrew.run.checkpoint import research_state
from scoutcrew.store.db import Store
from scoutcrew.store.runs import get_run, list_runs
from scoutcrew.testing.fake_ollama import FakeOllama
from scoutcrew.testing.fake_searxng import FakeSearxng

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def web():
    with FakeSearxng(PAGES, results=3) as server:
        yield server


def run_brief(project_dir: Path, crew: str, *extra: str) -> int:
    argv = ["--project", str(project_dir), "run", crew, "--input", f"topic={TOPIC}"]
    return main([*argv, "--backend", "ollama", *extra])


def last_run(project_dir: Path) -> dict:
    with Store.open(find_project(project_dir).data_dir / "scoutcrew.sqlite") as store:
        return get_run(store, list_runs(store)[0].id)


def state_of(project_dir: Path, run_id: str) -> dict:
    state = research_state(find_project(project_dir).data_dir, run_id)
    assert state is not None
    return state


def research_tokens(run: dict) -> int:
    return sum(
        c["prompt_tokens"] + c["completion_tokens"]
        for c in run["calls"]
        if str(c["task"]).startswith("research:")
    )


# -- config -------------------------------------------------------------------------------------


def test_research_block_is_validated_strictly(project_dir: Path) -> None:
    config = load_config(find_project(project_dir))
    assert not config.problems
    brief = config.crews["topic-brief"]
    assert brief.process == "research" and brief.research is not None
    assert brief.research.rounds == 3 and brief.research.agent == "researcher"

    crew = project_dir / "crews" / "bad.yaml"
    crew.write_text(
        "description: x\nagents: [researcher, writer]\ntasks: [outline]\nprocess: research\n"
        "research:\n  rounds: 0\n  page_per_round: 3\n",
        "utf-8",
    )
    found = "\n".join(load_config(find_project(project_dir)).problems)
    assert "crews/bad.yaml:6: research.rounds: Input should be greater than or equal to 1" in found
    assert "unknown key 'page_per_round' (did you mean 'pages_per_round'?)" in found
    crew.write_text(
        "description: x\nagents: [researcher, analyst, writer]\ntasks: [outline]\n"
        "research: {rounds: 2}\n",
        "utf-8",
    )
    assert "only a `process: research` crew has a research loop" in "\n".join(
        load_config(find_project(project_dir)).problems
    )
    crew.write_text(
        "description: x\nagents: [researcher, analyst, writer]\ntasks: [outline]\n"
        "process: research\nresearch: {agent: critic}\n",
        "utf-8",
    )
    found = "\n".join(load_config(find_project(project_dir)).problems)
    assert "research.agent: 'critic' is not in this crew's agents" in found
    crew.write_text(
        "description: x\nagents: [researcher, analyst, writer]\ntasks: [outline]\n"
        "process: research\nsources: {search_backend: searxng, searxng_url: localhost}\n",
        "utf-8",
    )
    found = "\n".join(load_config(find_project(project_dir)).problems)
    assert "searxng_url 'localhost' must be the http(s) address" in found


# -- the loop end to end --------------------------------------------------------------------------


def test_brief_researches_in_rounds_and_cites_searxng_pages(
    project_dir: Path,
    web: FakeSearxng,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeOllama(default_reply=brain()) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        crew = research_crew(project_dir, web.url)
        assert run_brief(project_dir, crew) == 0
        report = Path(capsys.readouterr().out.strip().splitlines()[-1])
        assert kinds(fake) == ["plan", "notes", "reflect", "notes", "reflect", "crew", "crew"]
        # Plan and reflect ask for JSON with Ollama's `format`, the schema of their answer.
        plan_request = fake.chat_requests[0]["json"]
        assert set(plan_request["format"]["properties"]) == {"sub_questions"}

    run = last_run(project_dir)
    state = state_of(project_dir, run["id"])
    # Round 1 searched the plan's first two queries; the makers question stayed open, so
    # round 2's only query is the one reflection gave for that gap.
    assert web.queries[:2] == [
        "solid-state battery electrolyte basics",
        "solid-state battery makers Toyota",
    ]
    [follow] = [s for s in state["searches"] if s["round"] == 2]
    assert follow["query"] == "who makes solid-state batteries"
    assert follow["why"].startswith("gap in Q2")
    assert state["reflections"][0]["gaps"][0]["question"] == "Q2"
    assert state["stop"] == "no gaps"

    text = report.read_text("utf-8")
    # The SearXNG results' pages, fetched from 127.0.0.1, are the report's references.
    assert f"[S1] What a solid-state battery is - <{web.page_url('basics')}>" in text
    assert "## How this was researched" in text
    assert "2 rounds of search, 3 queries, 3 pages read (3 gave notes)" in text
    assert "Round 2: `who makes solid-state batteries`" in text
    assert set(web.page_requests) == {"basics", "cost", "makers"}
    meta = json.loads(report.with_suffix(".json").read_text("utf-8"))["meta"]
    assert meta["process"] == "research" and meta["research"]["rounds"] == 2

    assert main(["--project", str(project_dir), "show", run["id"]]) == 0
    shown = capsys.readouterr().out
    assert "research: 2 rounds, 3 queries, 3 pages (3 with notes), stop: no gaps" in shown
    assert "query 'who makes solid-state batteries' for Q2: gap in Q2" in shown
    assert f"page [S1] {web.page_url('basics')}: result 1 of" in shown


def test_loop_stops_after_its_rounds_when_gaps_remain(
    project_dir: Path, web: FakeSearxng, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never_satisfied(body: dict) -> str:
        answer = json.loads(reflect_answer(body))
        searched = len(body["messages"][-1]["content"].split("Already searched:")[1].split(";"))
        gap = {"question": "Q3", "missing": "more", "queries": [f"battery angle {searched}"]}
        return json.dumps({"answered": answer["answered"], "gaps": [gap]})

    with FakeOllama(default_reply=brain(reflect=never_satisfied)) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        crew = research_crew(project_dir, web.url, research={"rounds": 2})
        assert run_brief(project_dir, crew) == 0
        assert kinds(fake).count("reflect") == 2
    state = state_of(project_dir, last_run(project_dir)["id"])
    assert state["stop"] == "rounds"
    assert max(s["round"] for s in state["searches"]) == 2


def test_loop_stops_when_gaps_bring_no_new_query(
    project_dir: Path, web: FakeSearxng, monkeypatch: pytest.MonkeyPatch
) -> None:
    def repeats(body: dict) -> str:
        gap = {"question": "Q3", "missing": "x", "queries": ["solid-state battery makers Toyota"]}
        return json.dumps({"answered": [], "gaps": [gap]})

    with FakeOllama(default_reply=brain(reflect=repeats)) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        assert run_brief(project_dir, research_crew(project_dir, web.url)) == 0
        assert kinds(fake).count("reflect") == 1
    state = state_of(project_dir, last_run(project_dir)["id"])
    assert state["stop"] == "no new queries"


def test_budget_is_respected(
    project_dir: Path, web: FakeSearxng, monkeypatch: pytest.MonkeyPatch
) -> None:
    budget = 1100  # the plan, a round's notes and part of a reflection
    with FakeOllama(default_reply=brain()) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        crew = research_crew(project_dir, web.url, research={"token_budget": budget})
        assert run_brief(project_dir, crew) == 0
    run = last_run(project_dir)
    state = state_of(project_dir, run["id"])
    assert state["stop"] == "budget"
    spent = research_tokens(run)
    assert 0 < spent <= budget
    assert spent == state["spent"]["prompt_tokens"] + state["spent"]["completion_tokens"]
    assert "token budget would be passed" in Path(run["report"]).read_text("utf-8")


# -- structured outputs -------------------------------------------------------------------------


def test_broken_plan_json_is_repaired_with_one_more_turn(
    project_dir: Path, web: FakeSearxng, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(['{"sub_questions": "three of them"}'])

    def plan(body: dict) -> str:
        return next(answers, plan_json())

    with FakeOllama(default_reply=brain(plan=plan)) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        assert run_brief(project_dir, research_crew(project_dir, web.url)) == 0
        repair = fake.chat_requests[1]["json"]["messages"]
        assert repair[-2] == {"role": "assistant", "content": '{"sub_questions": "three of them"}'}
        assert "could not be used" in repair[-1]["content"]
    run = last_run(project_dir)
    failed = [c for c in run["calls"] if not c["ok"]]
    assert [c["task"] for c in failed] == ["research:plan"]
    state = state_of(project_dir, run["id"])
    assert state["plan_source"] == "model" and len(state["questions"]) == 3
    assert any("after one repair" in e["text"] for e in state["trail"])


def test_a_model_that_breaks_the_format_falls_back_and_never_crashes(
    project_dir: Path, web: FakeSearxng, monkeypatch: pytest.MonkeyPatch
) -> None:
    def chatty(body: dict) -> str:
        return "Sure! Here are some sub-questions: 1. what 2. why"

    base = brain()

    def by_model(body: dict) -> str:
        # The small model cannot do JSON at all; the second model of the chain can.
        if body["model"] == "tiny:1b" and body.get("format"):
            return chatty(body)
        return base(body)

    with FakeOllama(default_reply=by_model) as fake:
        fake.add_model("tiny:1b", context_length=8192, capabilities=["completion"])
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        crew = research_crew(project_dir, web.url)
        assert run_brief(project_dir, crew, "--model", "ollama/tiny:1b,ollama/qwen3:8b") == 0
        plan_calls = [r["json"]["model"] for r in fake.chat_requests if r["json"].get("format")]
        # tiny: first answer and its repair; then the next model of the chain.
        assert plan_calls[:3] == ["tiny:1b", "tiny:1b", "qwen3:8b"]
    state = state_of(project_dir, last_run(project_dir)["id"])
    assert state["plan_source"] == "model" and "qwen3:8b" in state["trail"][0]["text"]

    with FakeOllama(default_reply=lambda b: chatty(b) if b.get("format") else base(b)) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        assert run_brief(project_dir, crew, "--all-items") == 0
    state = state_of(project_dir, last_run(project_dir)["id"])
    # No model gave a plan or a reflection: the crew's own queries and code-found gaps.
    assert state["plan_source"] == "fallback"
    assert [s["query"] for s in state["searches"] if s["round"] == 1] == [TOPIC]
    assert all(r["by"] == "code" for r in state["reflections"])


# -- plan review --------------------------------------------------------------------------------


def test_plan_review_stops_after_the_plan_and_resumes_with_the_edit(
    project_dir: Path,
    web: FakeSearxng,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeOllama(default_reply=brain()) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        crew = research_crew(project_dir, web.url)
        assert run_brief(project_dir, crew, "--review-plan") == 0
        err = capsys.readouterr().err
        assert "Q2 Who makes solid-state batteries?" in err
        assert "search: solid-state battery makers Toyota" in err
        assert kinds(fake) == ["plan"] and web.queries == []
        run = last_run(project_dir)
        assert run["status"] == "paused"
        plan_file = find_project(project_dir).data_dir / "plans" / f"{run['id']}.yaml"
        assert str(plan_file) in err
        edited = yaml.safe_load(plan_file.read_text("utf-8"))
        assert [q["queries"] for q in edited["questions"]][1] == [
            "solid-state battery makers Toyota"
        ]
        edited["questions"] = [
            {"question": "What does a solid-state cell cost?", "queries": ["cost per kWh"]}
        ]
        plan_file.write_text(yaml.safe_dump(edited), "utf-8")

        assert main(["--project", str(project_dir), "resume", run["id"]]) == 0
        assert web.queries[0] == "cost per kWh"
        assert kinds(fake).count("plan") == 1  # the plan was not asked for again
    state = state_of(project_dir, run["id"])
    assert state["plan_source"] == "edited"
    assert [q["question"] for q in state["questions"]] == ["What does a solid-state cell cost?"]
    assert last_run(project_dir)["status"] == "ok"


def test_a_broken_plan_edit_is_a_clear_error(
    project_dir: Path,
    web: FakeSearxng,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeOllama(default_reply=brain()) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        crew = research_crew(project_dir, web.url)
        assert run_brief(project_dir, crew, "--review-plan") == 0
        run_id = last_run(project_dir)["id"]
        plan_file = find_project(project_dir).data_dir / "plans" / f"{run_id}.yaml"
        plan_file.write_text("questions:\n  - question: only a question\n", "utf-8")
        capsys.readouterr()
        assert main(["--project", str(project_dir), "resume", run_id]) == 1
        assert "question 1 needs a question and at least one query" in capsys.readouterr().err
        assert web.queries == []


# -- kill -9 and resume -----------------------------------------------------------------------


def _cli(project_dir: Path, *args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "scoutcrew.cli", "--project", str(project_dir), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# Which call is in flight when the process is killed: the nth call of that kind.
KILL_AT = {"notes": 2, "reflect": 2, "crew": 1}


@pytest.mark.parametrize("kill_at", ["notes", "reflect", "crew"])
def test_kill_9_then_resume_pays_nothing_finished_again(
    project_dir: Path, web: FakeSearxng, data_home: Path, kill_at: str
) -> None:
    """Kill the run's process while a model call is in flight (round 2's notes, round 2's
    reflection, the crew's first task), then resume: no finished search, page or call again."""
    base = brain()
    seen: list[str] = []
    reached = threading.Event()
    release = threading.Event()

    def answer(body: dict) -> str:
        kind = kinds_of(body)
        seen.append(kind)
        if not reached.is_set() and kind == kill_at and seen.count(kind) == KILL_AT[kill_at]:
            reached.set()
            release.wait(30)  # the process is killed meanwhile
        return base(body)

    def kinds_of(body: dict) -> str:
        class One:
            chat_requests = [{"json": body}]

        return kinds(One())[0]

    with FakeOllama(default_reply=answer) as fake:
        crew = research_crew(project_dir, web.url)
        env = {
            **os.environ,
            "OLLAMA_HOST": fake.url,
            "SCOUTCREW_HOME": str(data_home),
            "PYTHONPATH": str(ROOT / "src"),
        }
        proc = _cli(
            project_dir, "run", crew, "--input", f"topic={TOPIC}", "--backend", "ollama", env=env
        )
        try:
            assert reached.wait(120), proc.stderr.read() if proc.poll() is not None else ""
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(30)
        finally:
            release.set()
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == -signal.SIGKILL
        before = list(seen)
        queries_before, pages_before = list(web.queries), list(web.page_requests)
        time.sleep(0.1)

        run_id = last_run(project_dir)["id"]
        done = _cli(project_dir, "resume", run_id, env=env)
        out, err = done.communicate(timeout=180)
        assert done.returncode == 0, err
        after = seen[len(before) :]

    # The killed call is asked again (it never finished); nothing before it is.
    if kill_at == "notes":
        assert before == ["plan", "notes", "reflect", "notes"]
        assert after == ["notes", "reflect", "crew", "crew"]
    elif kill_at == "reflect":
        assert before == ["plan", "notes", "reflect", "notes", "reflect"]
        assert after == ["reflect", "crew", "crew"]
    else:
        assert before[-1] == "crew" and "crew" not in before[:-1]
        assert after == ["crew", "crew"]
    assert web.queries == queries_before  # no search ran again
    assert web.page_requests == pages_before  # no page fetched again
    run = last_run(project_dir)
    assert run["status"] == "ok" and Path(out.strip().splitlines()[-1]).is_file()
    assert "research: continuing" in err or kill_at == "crew"


# -- SearXNG ------------------------------------------------------------------------------------


def test_searxng_backend_from_the_environment_and_its_errors(
    web: FakeSearxng, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from scoutcrew.errors import SourceError
    from scoutcrew.gather.search import searxng_search, searxng_url

    monkeypatch.setenv("SEARXNG_URL", web.url + "/")
    assert searxng_url(SimpleNamespace(searxng_url=None)) == web.url
    assert searxng_url(SimpleNamespace(searxng_url="http://x:8080")) == "http://x:8080"
    results = searxng_search(web.url)("solid-state battery cost", "searxng", 2)
    assert results[0] == {
        "title": "Solid-state battery cost per kWh",
        "href": web.page_url("cost"),
        "body": PAGES["cost"][1][:160],
    }
    assert len(results) == 2
    with pytest.raises(SourceError, match="not reachable at http://127.0.0.1:9"):
        searxng_search("http://127.0.0.1:9")("q", "searxng", 3)


def test_pages_on_loopback_are_refused_without_allow_private_hosts(
    project_dir: Path, web: FakeSearxng, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOllama(default_reply=brain()) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        crew = research_crew(project_dir, web.url)
        path = project_dir / "crews" / f"{crew}.yaml"
        data = yaml.safe_load(path.read_text("utf-8"))
        data["sources"]["allow_private_hosts"] = False
        path.write_text(yaml.safe_dump(data), "utf-8")
        assert run_brief(project_dir, crew) == 0
    assert web.page_requests == []  # the search engine is the user's; the pages are not
    state = state_of(project_dir, last_run(project_dir)["id"])
    assert {p["status"] for p in state["pages"]} == {"snippet only"}
    assert all(
        "private" in p["fetch_note"] or "loopback" in p["fetch_note"] for p in state["pages"]
    )


def test_shipped_topic_brief_researches_on_searxng_from_the_environment(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A fourth question whose page no first-round query finds: only its follow-up does.
    limits = ("What limits them?", "lithium dendrites cracks", "dendrites")
    questions = [*QUESTIONS, limits]
    pages = {
        **PAGES,
        "dendrites": ("Dendrites", "Dendrites of lithium metal grow through cracks and short it."),
    }

    def reflect(body: dict) -> str:
        return reflect_answer(body, questions, {"Q4": "lithium dendrites cracks"})

    model = brain(plan=plan_json(questions), reflect=reflect)
    with FakeSearxng(pages, results=3) as web, FakeOllama(default_reply=model) as fake:
        monkeypatch.setenv("SEARXNG_URL", web.url)
        monkeypatch.setenv("SCOUTCREW_ALLOW_PRIVATE_HOSTS", "1")  # the stand-in pages are local
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        assert run_brief(project_dir, "topic-brief") == 0
        assert kinds(fake)[:3] == ["plan", "notes", "reflect"]
        basics = web.page_url("basics")
    report = Path(capsys.readouterr().out.strip().splitlines()[-1])
    run = last_run(project_dir)
    state = state_of(project_dir, run["id"])
    assert max(s["round"] for s in state["searches"]) >= 2  # a gap remained after round 1
    assert web.queries[0] == "solid-state battery electrolyte basics"
    text = report.read_text("utf-8")
    assert f"<{basics}>" in text and "## How this was researched" in text
    assert "dendrites" in web.page_requests and state["stop"] == "no gaps"
    assert research_tokens(run) <= 40000  # the crew's token_budget


def test_perspectives_shape_the_plan(
    project_dir: Path,
    web: FakeSearxng,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def plan(body: dict) -> str:
        data = json.loads(plan_json())
        for q, angle in zip(data["sub_questions"], ["engineer", "buyer", "buyer"], strict=True):
            q["perspective"] = angle
        return json.dumps(data)

    with FakeOllama(default_reply=brain(plan=plan)) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        crew = research_crew(project_dir, web.url, research={"perspectives": 2})
        assert run_brief(project_dir, crew, "--review-plan") == 0
        asked = fake.chat_requests[0]["json"]["messages"]
    assert "think of 2 different perspectives" in asked[1]["content"]
    assert '"perspective"' in asked[0]["content"]
    err = capsys.readouterr().err
    assert "Q1 [engineer] What is a solid-state battery?" in err
    state = state_of(project_dir, last_run(project_dir)["id"])
    assert [q["perspective"] for q in state["questions"]] == ["engineer", "buyer", "buyer"]


def test_plan_of_a_research_crew_says_what_the_loop_may_spend(
    project_dir: Path, web: FakeSearxng, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--project", str(project_dir), "plan", "topic-brief", "--input", "topic=x"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "up to 3 rounds of 3 searches and 5 pages" in out
    assert "at most 7" in out and "40000 tokens" in out
    assert web.queries == []  # nothing is searched ahead of the model's plan


def test_the_runs_own_budget_also_stops_the_loop(
    project_dir: Path, web: FakeSearxng, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOllama(default_reply=brain()) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        crew = research_crew(project_dir, web.url)
        assert run_brief(project_dir, crew, "--budget-prompt-tokens", "700") == 0
    run = last_run(project_dir)
    state = state_of(project_dir, run["id"])
    assert state["stop"] == "budget"
    loop_prompt = sum(c["prompt_tokens"] for c in run["calls"] if c["task"].startswith("research"))
    assert 0 < loop_prompt <= 700


def test_a_small_model_s_plan_and_reflection_are_read_as_meant(
    project_dir: Path, web: FakeSearxng, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Junk queries ("...", "S2") are refused and repaired; a reflection that names its
    sub-questions by their text is read by id, with no repair turn."""
    junk = json.dumps(
        {
            "sub_questions": [
                {"question": q, "queries": ["...", "S2"] if i == 0 else [query]}
                for i, (q, query, _w) in enumerate(QUESTIONS)
            ]
        }
    )
    answers = iter([junk])

    def by_text(body: dict) -> str:
        data = json.loads(reflect_answer(body))
        names = {f"Q{i}": q for i, (q, _query, _w) in enumerate(QUESTIONS, start=1)}
        for item in data["answered"] + data["gaps"]:
            item["question"] = names[item["question"]].upper()  # the text, not the id
        return json.dumps(data)

    with FakeOllama(
        default_reply=brain(plan=lambda b: next(answers, plan_json()), reflect=by_text)
    ) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        assert run_brief(project_dir, research_crew(project_dir, web.url)) == 0
        plan_repair = fake.chat_requests[1]["json"]["messages"][-1]["content"]
        seen = kinds(fake)
    assert "'...', 'S2' is not a web search query" in plan_repair
    assert seen.count("plan") == 2 and seen.count("reflect") == 2  # no reflect repaired
    state = state_of(project_dir, last_run(project_dir)["id"])
    assert not {"...", "S2"} & {s["query"] for s in state["searches"]}
    assert state["reflections"][0]["gaps"][0]["question"] == "Q2"
    assert state["reflections"][0]["by"] == "ollama/qwen3:8b"


def test_search_failures_and_model_failures_are_told_apart() -> None:
    from scoutcrew.research.run import no_sources_message

    pages = [{"status": "not noted: model error: boom"}, {"status": "not noted: over budget"}]
    searched = [{"query": "q", "results": 4, "failed": False}]
    model = no_sources_message({"searches": searched, "pages": pages}, "brief", "R1")
    assert "the search worked, the model did not" in model and "1 model error" in model
    assert "search backend" not in model
    failed = [{"query": "q", "results": 0, "failed": True}]
    search = no_sources_message({"searches": failed, "pages": []}, "brief", "R1")
    assert "every search" in search and "search backend" in search


def test_killed_right_after_a_search_the_run_resumes_and_reads_its_pages(
    project_dir: Path, web: FakeSearxng, data_home: Path
) -> None:
    """kill -9 the moment round 1's searches are done (before or while the step is saved):
    the resumed run reads the pages those searches found, and searches nothing again."""
    with FakeOllama(default_reply=brain()) as fake:
        crew = research_crew(project_dir, web.url)
        env = {
            **os.environ,
            "OLLAMA_HOST": fake.url,
            "SCOUTCREW_HOME": str(data_home),
            "PYTHONPATH": str(ROOT / "src"),
        }
        proc = _cli(
            project_dir, "run", crew, "--input", f"topic={TOPIC}", "--backend", "ollama", env=env
        )
        assert proc.stderr is not None
        for line in proc.stderr:
            if "research round 1: searched" in line:
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait(30)
        assert proc.returncode == -signal.SIGKILL
        queries = list(web.queries)
        done = _cli(project_dir, "resume", last_run(project_dir)["id"], env=env)
        out, err = done.communicate(timeout=180)
    assert done.returncode == 0, err
    assert last_run(project_dir)["status"] == "ok"
    assert web.queries[: len(queries)] == queries
    round_one = [q for q in web.queries[len(queries) :] if q in queries]
    assert not round_one  # round 1's queries were not searched again
