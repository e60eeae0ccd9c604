"""The base-model prompting layer's own logic: reading prompts, choosing and citing sentences.

The real model runs in tests/test_embedded.py; here the completions are the engine's own
response shape, recorded, so each rule of the code is pinned down without loading a model.
"""

from __future__ import annotations

from datetime import UTC, datetime

from scoutcrew.llm import basemodel
from scoutcrew.select.pack import EvidencePack, Source


def pack() -> EvidencePack:
    texts = [
        (
            "Kestrel-7B ships",
            "Northwind Labs has published Kestrel-7B. It reads up to 128k tokens of context.",
        ),
        ("One-liner", "Too short."),
        (
            "Tool calls",
            "Agents fail on tool calls in 61 percent of runs. Wrong plans fail far less often.",
        ),
    ]
    return EvidencePack(
        sources=[
            Source(
                id=f"S{i}",
                url=f"https://news.example/{i}",
                links=[],
                title=title,
                feed_title="News",
                published=datetime(2026, 11, 20, tzinfo=UTC),
                excerpt=text,
                text=text,
            )
            for i, (title, text) in enumerate(texts, 1)
        ]
    )


def engine_reply(text: str) -> dict:
    return {
        "choices": [{"text": text, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 3},
        "timings": {"prompt_ms": 100.0, "predicted_ms": 60.0},
    }


def test_facts_copy_the_chosen_sentence_and_attach_the_sources_id():
    requests: list[dict] = []
    replies = iter([" It reads", " Agents fail on"])

    def complete(request: dict) -> dict:
        requests.append(request)
        return engine_reply(next(replies))

    answer = basemodel.answer(
        [{"role": "user", "content": f"One fact per line.\n{pack().render()}"}], complete
    )
    assert answer.content.splitlines() == [
        "- It reads up to 128k tokens of context. [S1]",
        "- One-liner [S2]",  # no sentence long enough: the title, and no model call
        "- Agents fail on tool calls in 61 percent of runs. [S3]",
    ]
    assert len(requests) == 2 and answer.calls == 2
    assert (answer.prompt_tokens, answer.completion_tokens) == (80, 6)
    first = requests[0]
    assert first["prompt"].startswith(basemodel.EXAMPLE)
    assert first["prompt"].endswith("Fact [S1]:")
    assert first["grammar"] == (
        'root ::= " Northwind Labs has published Kestrel-7B."'
        ' | " It reads up to 128k tokens of context."'
    )
    assert first["max_tokens"] == 3  # the candidates differ in their first word


def test_a_continuation_that_matches_no_candidate_falls_back_to_the_lead_sentence():
    candidates = ["Alpha beta gamma delta epsilon.", "Zeta eta theta iota kappa."]
    assert basemodel.resolve_choice(" Zeta eta", candidates) == candidates[1]
    assert basemodel.resolve_choice("", candidates) == candidates[0]
    assert basemodel.resolve_choice(" Omega", candidates) == candidates[0]


def test_cited_lines_are_read_once_each_and_ids_stay_attached():
    text = (
        "Keep each fact's [S#] id.\n"
        "- Kestrel-7B reads 128k tokens [S1]\n"
        "Final Answer: - Agents fail on tool calls [S3][S1]\n"
        "* kestrel-7b reads 128k tokens [S1]\n"
        "- too short [S2]\n"  # too short to be a claim
    )
    assert basemodel.cited_lines(text) == [
        ("Kestrel-7B reads 128k tokens", ["S1"]),
        ("Agents fail on tool calls", ["S3", "S1"]),
    ]


def test_a_prompt_with_neither_sources_nor_citations_is_continued_as_a_document():
    seen: list[dict] = []

    def complete(request: dict) -> dict:
        seen.append(request)
        return engine_reply("a bullet")

    answer = basemodel.answer([{"role": "user", "content": "Plan the week.\n\nThought:"}], complete)
    assert answer.mode == "continue" and answer.content == "- a bullet"
    assert seen[0]["prompt"].endswith(basemodel.ANSWER_CUE) and "grammar" not in seen[0]
