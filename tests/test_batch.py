"""`scoutcrew batch`: many real crew runs at once, locally and on a two-node local Ray cluster."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scoutcrew.cli import main
from scoutcrew.config.project import find_project
from scoutcrew.run.options import RunOptions
from scoutcrew.scale.batch import run_batch
from scoutcrew.scale.jobs import CrewOutcome
from scoutcrew.scale.ray_cluster import collect
from scoutcrew.store.db import Store
from scoutcrew.store.runs import RunRecorder, get_run
from scoutcrew.testing.fake_ollama import FakeOllama
from scoutcrew.testing.scripts import scripted_reader

ANSWER = "Local inference got faster this month [S1]."
GHOST_AGENT = (
    "\nghost:\n  role: Ghost writer\n  goal: >-\n    Write about {crew}.\n"
    "  backstory: >-\n    You use a model no host has.\n  llm: ollama/nosuch:1b\n"
)
GHOST_TASK = (
    "\nghost_collect:\n  description: >-\n    List the facts for {topic}.\n\n    {evidence}\n"
    "  expected_output: >-\n    Bullets.\n  agent: ghost\n"
)


def crew_reply(request: dict) -> str:
    return "Final Answer: " + ANSWER


reply = scripted_reader(crew_reply)  # notes as a careful reader takes them, then the crew


def crew_of(request: dict, crews: list[str]) -> str | None:
    """Which crew a chat request belongs to: each crew's topic ends with its name."""
    text = "\n".join(str(m.get("content") or "") for m in request["json"]["messages"])
    found = [c for c in crews if f"({c})" in text]
    return found[0] if len(found) == 1 else None


def make_crews(project: Path, count: int, broken: bool = False) -> list[str]:
    """Replace the shipped crews with `count` offline copies of the demo crew."""
    crews_dir = project / "crews"
    demo = (crews_dir / "demo.yaml").read_text()
    for path in crews_dir.glob("*.yaml"):
        path.unlink()
    names = [f"crew-{i}" for i in range(count)]
    topic = "topic: local and open AI models"
    assert topic in demo
    for name in names:
        (crews_dir / f"{name}.yaml").write_text(demo.replace(topic, f"{topic} ({name})"))
    if broken:  # a crew whose model is missing on every host: it fails twice, then is reported
        with (project / "agents.yaml").open("a") as fh:
            fh.write(GHOST_AGENT)
        with (project / "tasks.yaml").open("a") as fh:
            fh.write(GHOST_TASK)
        # Its own chain only: the demo's crew-wide `llm:` (with its declared fallback) goes.
        lines = [line for line in demo.splitlines() if not line.startswith("llm:")]
        (crews_dir / "broken.yaml").write_text(
            "\n".join(lines)
            .replace("[researcher, analyst, writer]", "[ghost]")
            .replace("[collect, analyse, write_digest]", "[ghost_collect]")
        )
    return names


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOUTCREW_BACKEND", "ollama")


@pytest.fixture
def cluster(env: None):
    """A local Ray cluster of two nodes, each one standing for a machine with its own Ollama."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    with (
        FakeOllama(delay=0.2, default_reply=reply) as a,
        FakeOllama(delay=0.2, default_reply=reply) as b,
    ):
        nodes = Cluster()
        try:
            nodes.add_node(
                num_cpus=1,
                resources={"ollama": 1},
                env_vars={"SCOUTCREW_NODE_OLLAMA_HOST": a.url},
                include_dashboard=False,
            )
            nodes.add_node(
                num_cpus=1, resources={"ollama": 2}, env_vars={"SCOUTCREW_NODE_OLLAMA_HOST": b.url}
            )
            yield nodes, {"a": (a, 1), "b": (b, 2)}
        finally:
            if ray.is_initialized():
                ray.shutdown()
            nodes.shutdown()


def test_ray_batch_spreads_runs_over_hosts_within_their_slots(
    project_dir: Path, cluster, data_home: Path
) -> None:
    nodes, hosts = cluster
    names = make_crews(project_dir, 5, broken=True)
    project = find_project(project_dir)

    result = run_batch(project, None, executor="ray", address=nodes.address)

    by_crew = {o.crew: o for o in result.outcomes}
    assert sorted(by_crew) == sorted([*names, "broken"])
    assert not result.ok
    broken = by_crew.pop("broken")
    assert broken.status == "failed" and broken.attempts == 2
    assert "nosuch" in (broken.error or "")
    for crew, outcome in by_crew.items():
        assert outcome.status == "ok" and outcome.attempts == 1, outcome
        # The report came back to the driver's reports folder.
        assert (
            outcome.report is not None and outcome.report.parent == project_dir / "reports" / crew
        )
        assert ANSWER.split(" [S1]")[0] in outcome.report.read_text()
        assert (project_dir / "reports" / crew / "latest.md").is_file()

    seen: dict[str, set[str]] = {}  # crew -> the hosts whose server saw its calls
    for server, slots in hosts.values():
        assert server.max_concurrent <= slots  # never more runs at once than the node's slots
        for request in server.chat_requests:
            crew = crew_of(request, names)
            if crew:
                seen.setdefault(crew, set()).add(server.url)
    for crew, outcome in by_crew.items():
        # Each run talked only to the Ollama of the node it ran on, and says which one.
        assert seen[crew] == set(outcome.hosts) and len(outcome.hosts) == 1
    used = {host for outcome in by_crew.values() for host in outcome.hosts}
    assert used == {server.url for server, _ in hosts.values()}

    with Store.open(data_home / "scoutcrew.sqlite") as store:
        assert all(store.delivered(crew) for crew in names)  # one store: the driver's


def test_local_batch_runs_every_crew_and_fails_the_exit_status(
    project_dir: Path, env: None, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    names = make_crews(project_dir, 3, broken=True)
    with FakeOllama(delay=0.1, default_reply=reply) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        status = main(["--project", str(project_dir), "batch", "--all", "--jobs", "2"])
    table = capsys.readouterr().out
    assert status == 1  # the broken crew failed
    rows = {line.split()[0]: line.split() for line in table.splitlines() if line.strip()}
    assert rows["broken"][1] == "failed" and rows["broken"][3] == "2"
    for name in names:
        assert rows[name][1] == "ok"
        assert (project_dir / "reports" / name / "latest.md").is_file()
    assert server.max_concurrent <= 2
    assert {crew_of(r, names) for r in server.chat_requests} >= set(names)


def test_a_run_from_another_machine_lands_in_the_driver_store(
    project_dir: Path, data_home: Path, tmp_path: Path
) -> None:
    make_crews(project_dir, 1)
    project = find_project(project_dir)
    Store.open(data_home / "scoutcrew.sqlite").close()
    # The record the other node's store holds for its run.
    with Store.open(tmp_path / "node" / "scoutcrew.sqlite") as node_store:
        recorder = RunRecorder.start(
            node_store, "crew-0", cfg_hash="abc", inputs={"topic": "x"}, options={}
        )
        recorder.task_done(0, "collect", "researcher", "- a fact [S1]")
        recorder.finish("ok", report="/tmp/elsewhere/crew-0/20260101-070000.md")
        node_run = get_run(node_store, recorder.run_id)
    sources = [
        {"id": "S1", "url": "https://example.org/a"},
        {"id": "S2", "url": "https://example.org/b"},
    ]
    data = {  # what a task on another node returns
        "crew": "crew-0",
        "status": "ok",
        "same_store": False,
        "hosts": ["http://10.0.0.7:11434"],
        "run_id": recorder.run_id,
        "run": node_run,
        "files": {
            "crew-0/20260101-070000.json": json.dumps({"sources": sources}),
            "crew-0/20260101-070000.md": "# Report\n",
            "crew-0/latest.md": "# Report\n",
        },
    }
    outcome = collect(project, RunOptions(), data, attempts=1)
    assert isinstance(outcome, CrewOutcome) and outcome.ok
    report = project_dir / "reports" / "crew-0" / "20260101-070000.md"
    assert outcome.report == report and outcome.run_id == recorder.run_id
    assert (project_dir / "reports" / "crew-0" / "latest.md").read_text() == "# Report\n"
    with Store.open(data_home / "scoutcrew.sqlite") as store:
        assert store.delivered("crew-0") == {s["url"] for s in sources}
        run = get_run(store, recorder.run_id)
    assert run["status"] == "ok" and run["report"] == str(report)
    assert [t["output"] for t in run["tasks"]] == ["- a fact [S1]"]


def test_importing_batch_does_not_import_ray() -> None:
    code = "import sys, scoutcrew.scale.batch, scoutcrew.cli; sys.exit('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
