"""The run graph: kill -9 at every step, then `scoutcrew resume`, gives the report an
uninterrupted run gives, and no model call is paid twice; reviews stop a run for a person.

Real parts throughout: the CLI in a child process, feeds over HTTP on 127.0.0.1, the fake
Ollama server, real SQLite files and LangGraph's SqliteSaver.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from feedserver import FeedServer, rss

from scoutcrew.config.project import find_project
from scoutcrew.run.checkpoint import saved_state
from scoutcrew.run.state import RunState, checkpoint_types
from scoutcrew.store.db import Store
from scoutcrew.store.runs import get_run, list_runs
from scoutcrew.testing.fake_ollama import FakeOllama
from scoutcrew.testing.scripts import (
    NOTE_MARK,
    REDUCE_MARK,
    REPAIR_MARK,
    news_item,
    scripted_reader,
)

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^\s*[-*]?\s*(.+?\[S\d+\](?:\[S\d+\])*)\.?\s*$")


def kind(body: dict) -> str:
    messages = body.get("messages") or []
    system = str(messages[0].get("content") or "") if messages else ""
    if system.startswith(NOTE_MARK):
        return "notes"
    if system.startswith(REDUCE_MARK):
        return "reduce"
    if REPAIR_MARK in json.dumps(messages):
        return "repair"
    return "crew"


def crew_reply(body: dict) -> str:
    """The crew's tasks: pass on the cited lines of the prompt; the writer adds one of them
    with its date changed (the claim check calls it contradicted) and removes it when asked to
    repair it."""
    text = "\n".join(str(m.get("content") or "") for m in body["messages"])
    if REPAIR_MARK in text:
        return "1: REMOVE"
    cited = [m.group(1) for line in text.splitlines() if (m := LINE.match(line))]
    bullets = [f"- {line}" for line in dict.fromkeys(cited)][:4]
    if "Write the digest" in text:
        bullets.append(f"- {wrong(cited)}")
    return "Final Answer:\n" + "\n".join(bullets or ["- Nothing cited [S1]."])


def wrong(cited: list[str]) -> str:
    """A cited line with its date a day off, citing its first source only."""
    for line in cited:
        found = re.search(r"\d{4}-\d{2}-(\d{2})", line)
        ids = re.findall(r"\[S\d+\]", line)
        if found and ids:
            day = int(found.group(1))
            other = found.group(0)[:-2] + f"{day + 1 if day < 28 else day - 1:02d}"
            return line[: found.start()] + other + f" {ids[0]}."
    return "Nothing cited [S1]."


class Gate:
    """Hold the nth model call of one kind until the process that asked for it is killed."""

    def __init__(self, call_kind: str | None = None, nth: int = 0):
        self.kind, self.nth = call_kind, nth
        self.seen: list[str] = []
        self.reached = threading.Event()
        self.release = threading.Event()
        self.answer = scripted_reader(crew_reply)

    def __call__(self, body: dict) -> str | dict:
        k = kind(body)
        self.seen.append(k)
        if k == self.kind and self.seen.count(k) == self.nth and not self.reached.is_set():
            self.reached.set()
            self.release.wait(60)
        return self.answer(body)


def write_crew(project_dir: Path, feeds: list[str]) -> None:
    lines = "\n".join(f"    - {url}" for url in feeds)
    (project_dir / "crews" / "news.yaml").write_text(
        "description: Test news crew\nagents: [researcher, analyst, writer]\n"
        f"tasks: [collect, analyse, write_digest]\nsources:\n  feeds:\n{lines}\n"
        "  allow_private_hosts: true\ninputs:\n  topic: local models\n",
        encoding="utf-8",
    )
    agents = project_dir / "agents.yaml"  # a small window: notes in batches, summaries
    agents.write_text(
        agents.read_text().replace("  max_iter: 2\n", "  max_iter: 2\n  num_ctx: 1024\n")
    )


def cli(project_dir: Path, home: Path, ollama: str, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "OLLAMA_HOST": ollama,
        "SCOUTCREW_HOME": str(home),
        "PYTHONPATH": str(ROOT / "src"),
        "SCOUTCREW_PROBE": "off",  # the gate counts every call: no capability probe
    }
    return subprocess.Popen(
        [sys.executable, "-m", "scoutcrew.cli", "--project", str(project_dir), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def comparable(report: Path) -> dict:
    """What two runs of the same crew over the same feeds must agree on, down to each call's
    tokens (what differs: times, the run's id)."""
    data = json.loads(report.with_suffix(".json").read_text())
    calls = Counter(
        (c["agent"], c["task"], c["prompt_tokens"], c["completion_tokens"], c["ok"])
        for c in data["usage"]
    )
    keep = ("findings", "citations", "claims", "flags", "stories", "left_out", "unread")
    trust = {k: v for k, v in data["trust"].items()}
    return {
        **{k: data[k] for k in keep},
        "sources": [(s["id"], s["url"], s["cited"]) for s in data["sources"]],
        "trust": trust,
        "calls": sorted(calls.items()),
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """Feeds, a fake Ollama with a gate, and the report of one uninterrupted run."""
    base = tmp_path_factory.mktemp("graph")
    gate = Gate()
    with FeedServer() as feeds, FakeOllama(default_reply=lambda b: gate(b)) as ollama:
        urls = []
        for n in range(3):
            body = rss(f"f{n} feed", [news_item(50 + n, i) for i in range(12)])
            feeds.extra[f"/f{n}.xml"] = (200, {"Content-Type": "application/rss+xml"}, body)
            urls.append(f"{feeds.url}/f{n}.xml")
        from scoutcrew.testing.scripts import copy_project

        project = copy_project(ROOT, base / "project")
        write_crew(project, urls)
        proc = cli(project, base / "home", ollama.url, "run", "news", "--backend", "ollama")
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        baseline = {
            "report": comparable(Path(out.strip().splitlines()[-1])),
            "calls": Counter(gate.seen),
        }
        yield (
            {"feeds": feeds, "ollama": ollama, "gate": gate, "project": project, "base": base},
            baseline,
        )


# Where each kill lands: a progress line a step prints (the process is killed as soon as it
# shows), or the nth model call of a kind, held until the process is killed.
KILLS = {
    "gather": ("line", "gathering sources"),
    "select": ("line", "evidence: "),
    "notes": ("call", "notes", 2),
    "stories": ("line", "stories: "),
    "fit": ("call", "reduce", 2),
    "task": ("call", "crew", 2),
    "verify": ("call", "repair", 1),
    "publish": ("line", "writing the report"),
}


@pytest.mark.parametrize("step", list(KILLS))
def test_kill_9_at_every_step_then_resume_gives_the_same_report_and_pays_nothing_twice(
    world, step: str, tmp_path: Path
) -> None:
    env, baseline = world
    assert baseline["calls"]["reduce"] >= 2 and baseline["calls"]["repair"] == 1  # every step works
    gate: Gate = env["gate"]
    how = KILLS[step]
    fresh = Gate(*how[1:]) if how[0] == "call" else Gate()
    gate.__dict__.update(fresh.__dict__)
    home = tmp_path / "home"
    env["feeds"].delay = 1.5 if step == "gather" else 0.0
    child = cli(env["project"], home, env["ollama"].url, "run", "news", "--backend", "ollama")
    killed = threading.Event()

    def watch() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            if how[0] == "line" and how[1] in line and not killed.is_set():
                os.kill(child.pid, signal.SIGKILL)
                killed.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        if how[0] == "call":
            assert gate.reached.wait(120), "the call to kill at never came"
            os.kill(child.pid, signal.SIGKILL)
            killed.set()
        child.wait(120)
    finally:
        gate.release.set()
        env["feeds"].delay = 0.0
        if child.poll() is None:
            child.kill()
    assert killed.is_set() and child.returncode == -signal.SIGKILL
    before = Counter(gate.seen)

    data_dir = home
    with Store.open(data_dir / "scoutcrew.sqlite") as store:
        [row] = list_runs(store)
    assert row.status == "running"  # as the dead process left it
    if step == "notes":  # whoever looks next sees it interrupted: the CLI, and the web app
        web_sees_the_run_interrupted(env["project"], home, row.id)
        listing = cli(env["project"], home, env["ollama"].url, "runs")
        assert re.search(rf"{row.id}\s+news\s+interrupted", listing.communicate(timeout=60)[0])
    resumed = cli(env["project"], home, env["ollama"].url, "resume", row.id)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert out.strip().endswith(".md"), (out, err)
    got = comparable(Path(out.strip().splitlines()[-1]))
    for key in got:
        assert got[key] == baseline["report"][key], key
    # Each kind of call was asked as often as in the uninterrupted run, plus at most the one
    # in flight when the process died (never answered, so never paid for by the run).
    asked = Counter(gate.seen)
    extra = asked - baseline["calls"]
    assert sum(extra.values()) <= 1, (before, asked, baseline["calls"])
    if how[0] == "call":
        assert extra == Counter({how[1]: 1})
    with Store.open(data_dir / "scoutcrew.sqlite") as store:
        run = get_run(store, row.id)
    assert run["status"] == "ok"
    assert len(run["calls"]) == sum(baseline["calls"].values())  # every call recorded once


# A process that dies right after LangGraph saved a step's writes, before the checkpoint that
# follows them: the hardest moment to resume from (no step is left to run next).
DIE_AFTER_WRITES = """
import os, sys
from langgraph.checkpoint.sqlite import SqliteSaver
put_writes, step = SqliteSaver.put_writes, sys.argv[1]
def dying(self, config, writes, task_id, task_path=""):
    put_writes(self, config, writes, task_id, task_path)
    if any(channel == step for channel, _ in writes):
        os._exit(9)
SqliteSaver.put_writes = dying
sys.argv = ["scoutcrew", *sys.argv[2:]]
from scoutcrew.cli import entry
entry()
"""


@pytest.mark.parametrize("channel", ["pack", "stories", "outputs"])
def test_dying_between_a_steps_writes_and_its_checkpoint_resumes_to_the_same_report(
    world, channel: str, tmp_path: Path
) -> None:
    env, baseline = world
    env["gate"].__dict__.update(Gate().__dict__)
    home = tmp_path / "home"
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            DIE_AFTER_WRITES,
            channel,
            "--project",
            str(env["project"]),
            "run",
            "news",
            "--backend",
            "ollama",
        ],
        env={
            **os.environ,
            "OLLAMA_HOST": env["ollama"].url,
            "SCOUTCREW_HOME": str(home),
            "PYTHONPATH": str(ROOT / "src"),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 9, child.stderr
    with Store.open(home / "scoutcrew.sqlite") as store:
        [row] = list_runs(store)
    resumed = cli(env["project"], home, env["ollama"].url, "resume", row.id)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0 and out.strip().endswith(".md"), (out, err)
    assert comparable(Path(out.strip().splitlines()[-1])) == baseline["report"]
    assert sum((Counter(env["gate"].seen) - baseline["calls"]).values()) == 0  # none paid twice


def web_sees_the_run_interrupted(project: Path, home: Path, run_id: str) -> None:
    import httpx
    from servekit import Server, Site

    server = Server(Site(project, home))
    try:
        page = httpx.get(f"{server.url}/runs/{run_id}").text
    finally:
        server.stop()
    assert "interrupted" in page and f"scoutcrew resume {run_id}" in page


def test_the_checkpointer_brings_back_exactly_the_state_types() -> None:
    names = {f"{t.__module__}.{t.__name__}" for t in checkpoint_types(RunState)}
    assert {
        "scoutcrew.select.pack.EvidencePack",
        "scoutcrew.notes.take.Notes",
        "scoutcrew.stories.group.Story",
        "scoutcrew.verify.verdicts.Verification",
    } <= names


def test_review_evidence_drops_a_story_before_the_crew_writes(world, tmp_path: Path) -> None:
    env, _baseline = world
    env["gate"].__dict__.update(Gate().__dict__)
    home = tmp_path / "home"
    first = cli(env["project"], home, env["ollama"].url, "run", "news", "--review-evidence")
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert "scoutcrew resume" in err and "evidence written to" in err
    assert "crew" not in env["gate"].seen  # the crew has not written yet
    review = home / "reviews"
    [path] = list(review.glob("*.yaml"))
    import yaml

    offered = yaml.safe_load(path.read_text())
    dropped = offered["stories"].pop(0)
    path.write_text(yaml.safe_dump(offered))
    run_id = path.stem
    with Store.open(home / "scoutcrew.sqlite") as store:
        assert get_run(store, run_id)["status"] == "paused"
    resumed = cli(env["project"], home, env["ollama"].url, "resume", run_id)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    report = json.loads(Path(out.strip().splitlines()[-1]).with_suffix(".json").read_text())
    assert dropped["id"] not in {s["id"] for s in report["stories"]}
    gone = {re.match(r"(S\d+)", s).group(1) for s in dropped["sources"]}
    crew_prompts = [
        "\n".join(str(m.get("content") or "") for m in r["json"]["messages"])
        for r in env["ollama"].chat_requests
        if kind(r["json"]) == "crew"
    ]
    collect = crew_prompts[-3]  # the collect task reads the evidence: no dropped source in it
    assert "BEGIN" in collect
    for sid in gone:
        assert not re.search(rf"^\[{sid}\]|\[{sid}\]$", collect, re.MULTILINE), sid
    assert report["left_out"]["dropped at review"] == 1
    state = saved_state(home, run_id)
    assert state is not None and state["reviewed"]["stories"] == [dropped["id"]]


def test_a_finished_run_cannot_be_resumed_and_says_why(world, tmp_path: Path) -> None:
    env, _baseline = world
    env["gate"].__dict__.update(Gate().__dict__)
    home = tmp_path / "home"
    run = cli(env["project"], home, env["ollama"].url, "run", "news", "--backend", "ollama")
    run.communicate(timeout=300)
    with Store.open(home / "scoutcrew.sqlite") as store:
        [row] = list_runs(store)
    again = cli(env["project"], home, env["ollama"].url, "resume", row.id)
    _out, err = again.communicate(timeout=60)
    assert again.returncode == 1 and "nothing to resume" in err
    assert find_project(env["project"])  # the project is untouched
