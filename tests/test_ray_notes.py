"""The map step on a real local Ray cluster of two nodes, each with its own fake Ollama."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scoutcrew.llm.ledger import UsageLedger
from scoutcrew.notes.take import take_notes
from scoutcrew.select.pack import Source
from scoutcrew.store.db import Store
from scoutcrew.testing.fake_ollama import FakeOllama
from scoutcrew.testing.scripts import news_item, scripted_notes


def sources(count: int) -> list[Source]:
    out = []
    for i in range(count):
        title, link, html = news_item(77, i)
        text = html.removeprefix("<p>").removesuffix("</p>")
        out.append(
            Source(
                f"S{i + 1}",
                link,
                [link],
                title,
                "f",
                datetime(2026, 11, 23, tzinfo=UTC),
                text,
                text,
            )
        )
    return out


@pytest.fixture
def cluster():
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    with (
        FakeOllama(delay=0.2, default_reply=scripted_notes) as a,
        FakeOllama(delay=0.2, default_reply=scripted_notes) as b,
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
            ray.init(address=nodes.address, log_to_driver=False)
            yield {a: 1, b: 2}
        finally:
            if ray.is_initialized():
                ray.shutdown()
            nodes.shutdown()


def test_map_step_spreads_batches_over_hosts_within_their_slots(
    cluster: dict[FakeOllama, int], tmp_path: Path
) -> None:
    from scoutcrew.scale.ray_notes import RayReader

    ledger = UsageLedger()
    reader = RayReader(["ollama/qwen3:8b"], num_ctx=1024, ledger=ledger)
    assert reader.parallel == 3
    items = sources(40)
    with Store.open(tmp_path / "s.db") as store:
        notes = take_notes(items, reader=reader, store=store)
        assert len(notes) == 40 and not notes.unread
        assert notes.get("S5").facts[0].startswith(items[4].text.split(" and reports")[0])
        total = sum(len(server.chat_requests) for server in cluster)
        assert total == notes.calls == len(ledger.records) > 3
        for server, slots in cluster.items():
            assert server.chat_requests, "every host took part"
            assert server.max_concurrent <= slots
        # The driver's store has every note: a re-run sends nothing to the cluster.
        again = take_notes(items, reader=reader, store=store)
        assert again.cached == 40
        assert sum(len(server.chat_requests) for server in cluster) == total


def test_a_crew_run_takes_its_notes_on_ray(
    cluster: dict[FakeOllama, int], project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scoutcrew.config.project import find_project
    from scoutcrew.run.execute import run_crew
    from scoutcrew.run.options import RunOptions
    from scoutcrew.scale.ray_notes import ray_reader_factory
    from scoutcrew.testing.scripts import NOTE_MARK

    with FakeOllama(default_reply="Final Answer: Local models got faster [S1].") as crew_host:
        monkeypatch.setenv("OLLAMA_HOST", crew_host.url)
        result = run_crew(
            find_project(project_dir),
            "demo",
            RunOptions(backend="ollama", reader_factory=ray_reader_factory()),
        )
        crew_calls = list(crew_host.chat_requests)
    assert result.status == "ok"
    node_calls = [r for server in cluster for r in server.chat_requests]
    assert node_calls and all(
        r["json"]["messages"][0]["content"].startswith(NOTE_MARK) for r in node_calls
    )
    assert not any(r["json"]["messages"][0]["content"].startswith(NOTE_MARK) for r in crew_calls)
    notes_records = [r for r in result.usage if r.task == "notes"]
    assert len(notes_records) == len(node_calls)  # the remote calls are in the run's ledger
