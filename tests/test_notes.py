"""The map step: notes per source through the real runtime and a fake Ollama, cached in SQLite."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scoutcrew.llm.budget import Budget, BudgetGuard
from scoutcrew.llm.runtime import LLMRuntime, UsageLedger
from scoutcrew.notes.reader import runtime_reader
from scoutcrew.notes.take import (
    PROMPT_VERSION,
    note_messages,
    parse_facts,
    plan_batches,
    take_notes,
)
from scoutcrew.select.pack import Source, estimate_tokens
from scoutcrew.store.db import Store
from scoutcrew.testing.fake_ollama import FakeOllama
from scoutcrew.testing.scripts import scripted_notes, sources_in_prompt

MODEL = "ollama/qwen3:8b"


def source(i: int, text: str | None = None) -> Source:
    body = text or (
        f"Lab {i} released model M{i} with {i}.{i} billion parameters on "
        f"2026-11-{(i % 28) + 1:02d}. "
        f"It scores {50 + i} on the reading benchmark. Other details follow here."
    )
    return Source(
        id=f"S{i}",
        url=f"https://news.example/{i}",
        links=[f"https://news.example/{i}"],
        title=f"Model M{i} released",
        feed_title="News",
        published=datetime(2026, 11, 20, tzinfo=UTC),
        excerpt=body,
        text=body,
    )


def reader_on(server: FakeOllama, ledger: UsageLedger, **kwargs):
    runtime = LLMRuntime(ledger=ledger, backend="ollama", hosts=[server.url])
    return runtime, runtime_reader(runtime, [MODEL], **kwargs)


def test_take_notes_reads_each_source_once_and_caches_by_content(tmp_path: Path) -> None:
    sources = [source(i) for i in range(1, 31)]
    with FakeOllama(default_reply=scripted_notes) as server, Store.open(tmp_path / "s.db") as st:
        ledger = UsageLedger()
        runtime, reader = reader_on(server, ledger)
        notes = take_notes(sources, reader=reader, store=st)
        assert len(notes) == 30 and not notes.unread
        first = notes.get("S7")
        assert first is not None
        assert first.lines() == [
            "Lab 7 released model M7 with 7.7 billion parameters on 2026-11-08. [S7]"
        ]
        calls = len(server.chat_requests)
        assert calls == notes.calls == notes.batches >= 1
        # Every source was in exactly one prompt, fenced as the evidence pack renders it.
        prompts = [r["json"]["messages"][1]["content"] for r in server.chat_requests]
        assert all("BEGIN SOURCES" in p and "END SOURCES" in p for p in prompts)
        assert sum(p.count("> Model M7 released") for p in prompts) == 1
        # Batches fill the context and never pass it.
        for request in server.chat_requests:
            assert request["json"]["options"]["num_ctx"] == 8192
        assert ledger.totals()["calls"] == calls

        # A re-run (with other ids, as another crew would number them) pays nothing.
        renumbered = [Source(**{**s.__dict__, "id": f"S{100 + n}"}) for n, s in enumerate(sources)]
        again = take_notes(renumbered, reader=reader, store=st)
        assert len(server.chat_requests) == calls
        assert again.cached == 30 and again.calls == 0
        assert again.get("S106").lines()[0].endswith("[S106]")

        # A source whose text changed is read again, alone.
        changed = list(sources)
        changed[4] = source(5, "Lab 5 withdrew model M5 after 3 days. Nothing else.")
        third = take_notes(changed, reader=reader, store=st)
        assert third.calls == 1 and third.cached == 29
        assert third.get("S5").facts == ["Lab 5 withdrew model M5 after 3 days."]
        last = server.chat_requests[-1]["json"]["messages"][1]["content"]
        assert [sid for sid, _t, _b in sources_in_prompt(last)] == ["S5"]
        runtime.close()
        rows = st.execute(
            "SELECT COUNT(*) AS n FROM notes WHERE prompt_version = ?", [PROMPT_VERSION]
        )
        assert rows[0]["n"] == 31


def test_batches_fill_num_ctx_in_parallel(tmp_path: Path) -> None:
    sources = [source(i) for i in range(1, 201)]
    batches, _ = plan_batches(sources, 2048)
    assert len(batches) > 3
    for batch in batches:
        prompt = sum(estimate_tokens(m["content"]) for m in note_messages(batch))
        assert prompt + 70 * len(batch) <= 2048
    with FakeOllama(default_reply=scripted_notes, delay=0.05) as server:
        ledger = UsageLedger()
        runtime = LLMRuntime(
            ledger=ledger, backend="ollama", hosts=[server.url], default_num_ctx=2048
        )
        reader = runtime_reader(runtime, [MODEL], parallel=3)
        notes = take_notes(sources, reader=reader)
        runtime.close()
    assert len(notes) == 200 and notes.calls == len(batches)
    assert server.max_concurrent == 3


def test_num_ctx_512_reads_all_200_items_in_small_batches() -> None:
    sources = [source(i) for i in range(1, 201)]
    with FakeOllama(default_reply=scripted_notes) as server:
        ledger = UsageLedger()
        runtime = LLMRuntime(
            ledger=ledger, backend="ollama", hosts=[server.url], default_num_ctx=512
        )
        notes = take_notes(sources, reader=runtime_reader(runtime, [MODEL]))
        runtime.close()
    assert len(notes) == 200 and not notes.unread
    assert all(r["json"]["options"]["num_ctx"] == 512 for r in server.chat_requests)
    assert all(n.facts for n in notes)


def test_budget_stops_reading_and_leaves_the_rest_unread() -> None:
    sources = [source(i) for i in range(1, 101)]
    with FakeOllama(default_reply=scripted_notes) as server:
        ledger = UsageLedger()
        runtime = LLMRuntime(
            ledger=ledger, backend="ollama", hosts=[server.url], default_num_ctx=1024
        )
        guard = BudgetGuard(Budget(prompt_tokens=2500), ledger)
        notes = take_notes(sources, reader=runtime_reader(runtime, [MODEL], guard=guard))
        runtime.close()
    assert 0 < len(notes) < 100
    assert len(notes) + len(notes.unread) == 100
    assert set(notes.unread_reasons()) == {"over budget (prompt_tokens)"}
    assert ledger.totals()["prompt_tokens"] <= 2500


def test_model_errors_leave_sources_unread() -> None:
    sources = [source(i) for i in range(1, 11)]
    with FakeOllama(default_reply=scripted_notes) as server:
        server.fail_next(500, "boom", times=20)
        ledger = UsageLedger()
        runtime = LLMRuntime(ledger=ledger, backend="ollama", hosts=[server.url])
        notes = take_notes(sources, reader=runtime_reader(runtime, [MODEL]))
        runtime.close()
    assert len(notes) == 0 and len(notes.unread) == 10
    assert all(reason.startswith("model error") for _s, reason in notes.unread)


@pytest.mark.parametrize(
    "text, ids, expected",
    [
        (
            "- Acme released Falcon-7B on Monday [S1]\n- Rain closed the Linden harbour [S2].",
            ["S1", "S2"],
            {"S1": 1, "S2": 1},
        ),
        ("* Both labs shared their benchmark suite [S1][S2]", ["S1", "S2"], {"S1": 1, "S2": 1}),
        ("A fact with no id at all", ["S4"], {"S4": 1}),
        ("A fact with no id at all\nAnother one entirely [S9]", ["S1", "S2"], {"S1": 0, "S2": 0}),
        # A header names the source of the lines under it; it is not a fact itself.
        ("[S2] 2026-11-21\n- Rain closed the Linden harbour", ["S1", "S2"], {"S1": 0, "S2": 1}),
        ("**S1**:\n\n-   \n- .", ["S1", "S2"], {"S1": 0, "S2": 0}),
    ],
)
def test_parse_facts(text: str, ids: list[str], expected: dict[str, int]) -> None:
    facts = parse_facts(text, ids)
    assert {k: len(v) for k, v in facts.items()} == expected


def test_reduce_in_levels_keeps_every_source_and_fits_the_budget() -> None:
    from scoutcrew.notes.take import SourceNote
    from scoutcrew.stories.group import Story
    from scoutcrew.stories.reduce import fit_evidence

    stories = [
        Story(
            id=f"st-{i}",
            title=f"Story number {i} about model M{i}",
            notes=[
                SourceNote(
                    f"S{i}",
                    f"https://x/{i}",
                    f"Story number {i} about model M{i}",
                    [f"Lab {i} shipped model M{i} with {i} billion parameters"],
                    f"h{i}",
                    MODEL,
                )
            ],
        )
        for i in range(1, 301)
    ]
    calls: list[int] = []

    def summarise(messages: list[dict[str, str]], limit: int) -> str:
        """Merge the notes into the lines asked for, each citing every source it merged."""
        calls.append(limit)
        text = messages[1]["content"]
        wanted = int(re.search(r"at most (\d+) lines", text).group(1))
        ids = re.findall(r"\[(S\d+)\]", text.split("BEGIN NOTES")[1])
        size = -(-len(ids) // wanted)
        return "\n".join(
            "Labs shipped models " + "".join(f"[{i}]" for i in ids[n : n + size])
            for n in range(0, len(ids), size)
        )

    fits = fit_evidence(stories[:3], budget_tokens=2000, window_tokens=2048, summarise=summarise)
    assert fits.levels == 0 and not calls and "[S2] " in fits.text

    reduced = fit_evidence(stories, budget_tokens=1500, window_tokens=2048, summarise=summarise)
    assert reduced.levels >= 1 and reduced.calls == len(calls) > 1
    assert estimate_tokens(reduced.text) <= 1500
    for i in range(1, 301):  # code cut nothing: every source the summaries kept is there
        assert f"[S{i}]" in reduced.text
    assert reduced.text.count("BEGIN SOURCES") == 1


def test_an_answer_without_any_fact_is_not_a_reading() -> None:
    sources = [source(i) for i in range(1, 6)]
    with FakeOllama(default_reply="Sure! Here is a summary of the news.") as server:
        runtime = LLMRuntime(ledger=UsageLedger(), backend="ollama", hosts=[server.url])
        notes = take_notes(sources, reader=runtime_reader(runtime, [MODEL]))
        runtime.close()
    assert len(notes) == 0
    # One repair (each source asked again on its own), then code: not read, counted.
    assert {reason for _s, reason in notes.unread} == {"no fact in the model's note"}
    assert len(server.chat_requests) == 1 + 5 and notes.repairs == 5


def test_a_small_model_s_note_is_read_by_its_sources(tmp_path: Path) -> None:
    """What SmolLM2 wrote: a header line, a blank fact, a fact under the wrong id, an echo
    of the prompt. Each fact lands with its own source; a source with none stays unread,
    is counted by reason, and is not cached."""
    sources = [source(1), source(2), source(3, "Rain is expected over the harbour all week.")]
    answer = (
        "[S1] 2026-11-21\n"
        "- Lab 2 released model M2 with 2.2 billion parameters [S1]\n"
        "- [S2]\n"
        "- Lab 1 released model M1 with 1.1 billion parameters\n"
        "- Write one fact per line and end every line with the id of its source [S3]\n"
    )
    with FakeOllama(default_reply=answer) as server, Store.open(tmp_path / "s.sqlite") as store:
        runtime = LLMRuntime(ledger=UsageLedger(), backend="ollama", hosts=[server.url])
        notes = take_notes(sources, reader=runtime_reader(runtime, [MODEL]), store=store)
        runtime.close()
        cached = store.execute("SELECT url FROM notes")
        repairs = len(server.chat_requests) - 1
    by_id = {n.source_id: n.facts for n in notes}
    assert by_id == {
        "S1": ["Lab 1 released model M1 with 1.1 billion parameters"],
        "S2": ["Lab 2 released model M2 with 2.2 billion parameters"],
    }
    assert [(s.id, why) for s, why in notes.unread] == [("S3", "no fact in the model's note")]
    assert repairs == 1  # S3 was asked again on its own, once
    assert sorted(row["url"] for row in cached) == [
        "https://news.example/1",
        "https://news.example/2",
    ]
