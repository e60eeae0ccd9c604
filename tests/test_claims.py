"""The claim check on its own: spellings of figures, names, polarity, and a regression slice of
the labelled set in benchmarks/data/verify (every fourth claim; the benchmark runs them all)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scoutcrew.select.pack import EvidencePack, Source
from scoutcrew.verify.check import verify
from scoutcrew.verify.claims import ClaimIndex
from scoutcrew.verify.facts import analyse, figures_match

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from claimset import build_pack, cited_text, load_claims  # noqa: E402

PACK, KEYS = build_pack()
INDEX = ClaimIndex.from_pack(PACK)
SLICE = load_claims()[::4]


@pytest.mark.parametrize("claim", SLICE, ids=[c.id for c in SLICE])
def test_labelled_claims_keep_their_verdict(claim) -> None:
    verdict = verify(cited_text(claim, KEYS), PACK, index=INDEX).citations[0]
    if claim.label == "faithful":
        assert verdict.supported, verdict.reason
    else:
        assert not verdict.supported, claim.claim
        if claim.label == "wrong_source":
            assert verdict.kind == "wrong-source" and verdict.matches == KEYS[claim.matches]


def figures(text: str):
    return analyse(text).figures


@pytest.mark.parametrize(
    ("claim", "source"),
    [
        ("128,000 tokens", "128k tokens"),
        ("30 billion parameters", "30B parameters"),
        ("61%", "61 percent"),
        ("twice as fast", "2x faster"),
        ("16GB laptops", "16 GB of memory"),
        ("24 GB card", "24 GiB card"),
        ("version 9", "version 9.0"),
        ("10% of the tokens", "a tenth of the tokens"),
        ("3-bit", "3- and 4-bit builds"),
        ("one thousand tokens", "1,000 tokens"),
    ],
)
def test_usual_spellings_of_a_figure_compare_equal(claim: str, source: str) -> None:
    claimed, given = figures(claim), figures(source)
    assert claimed and all(any(figures_match(f, g) for g in given) for f in claimed)


@pytest.mark.parametrize(
    ("claim", "source"),
    [
        ("256k tokens", "128k tokens"),
        ("30 billion parameters", "3 billion parameters"),
        ("ten times more tokens", "the ten most relevant articles"),
        ("per hour", "per day"),
        ("0.15.6", "0.15.5"),
    ],
)
def test_a_changed_figure_does_not_match(claim: str, source: str) -> None:
    given = figures(source)
    assert not all(any(figures_match(f, g) for g in given) for f in figures(claim))


def pack_of(text: str, title: str = "Release notes") -> EvidencePack:
    when = datetime(2026, 9, 18, tzinfo=UTC)
    source = Source("S1", "https://x.example/a", ["https://x.example/a"], title, "Feed", when,
                    text, text)  # fmt: skip
    return EvidencePack(sources=[source])


NOTES = pack_of(
    "CrewAI 1.15 talks to Ollama without LiteLLM. Telemetry stays enabled by default. "
    "The server now rejects prompts that do not fit instead of silently dropping them."
)


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("CrewAI 1.15 still requires LiteLLM to talk to Ollama [S1].", "polarity"),
        ("Telemetry is disabled by default [S1].", "polarity"),
        ("The server now silently drops prompts that do not fit [S1].", "polarity"),
        ("LangGraph 1.15 talks to Ollama without LiteLLM [S1].", "entity"),
        ("CrewAI 1.16 talks to Ollama without LiteLLM [S1].", "figure"),
        (
            "CrewAI 1.15 talks to Ollama without LiteLLM and caches every answer on disk [S1].",
            "invented",
        ),
    ],
)
def test_each_error_class_is_named(sentence: str, kind: str) -> None:
    v = verify(sentence, NOTES)
    assert not v.citations[0].supported and v.citations[0].kind == kind, v.citations[0].reason


def test_faithful_paraphrases_pass() -> None:
    text = (
        "Without LiteLLM, CrewAI 1.15 connects to Ollama [S1]. "
        "By default telemetry stays on [S1]. "
        "Prompts that don't fit are rejected rather than quietly dropped [S1]."
    )
    v = verify(text, NOTES)
    assert [c.supported for c in v.citations] == [True, True, True], [c.reason for c in v.citations]


def test_a_report_without_factual_sentences_says_so() -> None:
    v = verify("This is a short summary. It is written for you.", NOTES)
    assert v.trust_line().startswith("Trust: no factual sentence to check")
    assert "0 flagged" not in v.trust_line()
