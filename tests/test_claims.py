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


# -- three verdicts ---------------------------------------------------------------------------


def verdict_of(sentence: str, source: str, title: str = "Notes") -> tuple[str, str | None]:
    c = verify(sentence, pack_of(source, title)).citations[0]
    return c.verdict, c.kind


@pytest.mark.parametrize(
    ("claim", "source"),
    [
        ("Less than 58% of critics liked it [S1].", "57 out of 100 critics liked it."),
        ("The city has 1.32 million inhabitants [S1].", "The city has 1,316,000 inhabitants."),
        ("It was reviewed by more than 134 critics [S1].", "It was reviewed by 137 critics."),
        ("The study read about 2,400 runs [S1].", "The study read 2,412 runs."),
        ("Nearly 60% of users upgraded [S1].", "58% of users upgraded."),
        ("It sold over 100,000 copies [S1].", "It sold 258,000 copies in its first week."),
    ],
)
def test_bounds_and_roundings_are_judged_against_the_number(claim: str, source: str) -> None:
    assert verdict_of(claim, source) == ("supported", None)


@pytest.mark.parametrize(
    ("claim", "source"),
    [
        ("Less than 50% of critics liked it [S1].", "57 out of 100 critics liked it."),
        ("The city has 1.4 million inhabitants [S1].", "The city has 1,316,000 inhabitants."),
        ("It was reviewed by more than 150 critics [S1].", "It was reviewed by 137 critics."),
        ("Kestrel-7B reads 256k tokens [S1].", "Kestrel-7B reads 128k tokens."),
    ],
)
def test_a_figure_the_source_gives_otherwise_is_contradicted(claim: str, source: str) -> None:
    assert verdict_of(claim, source) == ("contradicted", "figure")


FAILURES = (
    "Researchers at the Halden Institute traced 2,400 failed agent runs. Most began with a "
    "malformed tool call."
)


@pytest.mark.parametrize(
    ("claim", "verdict", "kind"),
    [
        ("Researchers at Stanford traced 2,400 failed agent runs [S1].", "contradicted", "entity"),
        ("Researchers at the Halden Institute traced 3,100 failed agent runs [S1].",
         "contradicted", "figure"),
        ("Most failed runs did not begin with a malformed tool call [S1].", "contradicted",
         "polarity"),
        # The source does not say otherwise: not confirmed, never an accusation.
        ("Researchers at the Halden Institute traced 2,400 failed agent runs with help from "
         "Oracle [S1].", "not-confirmed", "entity"),
        ("Researchers at the Halden Institute traced 2,400 failed agent runs over 9 months "
         "[S1].", "not-confirmed", "figure"),
        ("Researchers at the Halden Institute traced 2,400 failed agent runs and blamed "
         "expensive cloud contracts and poor onboarding [S1].", "not-confirmed", "invented"),
    ],
)  # fmt: skip
def test_contradicted_only_where_the_source_says_otherwise(claim, verdict, kind) -> None:
    assert verdict_of(claim, FAILURES) == (verdict, kind)


@pytest.mark.parametrize(
    ("claim", "source"),
    [
        ("Stephen Hillenburg was fascinated with the sky as a child [S1].",
         "Born in Lawton, Hillenburg became fascinated with the sky as a child."),
        ("The Faroe Islands were part of the Kingdom of Norway [S1].",
         "Between 1035 and 1814, the Faeroe Islands were part of the Kingdom of Norway."),
        ("Sandra Bullock was an executive producer of George Lopez [S1].",
         "She was an executive producer of the ABC sitcom George Lopez."),
        ("Simón Bolívar was a Venezuelan military leader [S1].",
         "Simón José Bolívar was a Venezuelan military and political leader."),
        ("The album was performed live and taught to children [S1].",
         "The album was performing live while teaching the child."),
        ("Token counts differed between model families [S1].",
         "Token counts show a difference between model families."),
    ],
)  # fmt: skip
def test_name_variants_pronoun_subjects_and_inflections_are_supported(claim, source) -> None:
    assert verdict_of(claim, source) == ("supported", None)


def test_a_claim_that_matches_another_source_is_contradicted_as_wrong_source() -> None:
    pack = EvidencePack(
        sources=[
            Source("S1", "https://a.example/1", ["https://a.example/1"], "Rust 1.95", "Feed",
                   None, "Rust 1.95 stabilises async closures.", "Rust 1.95 stabilises async "
                   "closures."),
            Source("S2", "https://a.example/2", ["https://a.example/2"], "Kestrel-7B", "Feed",
                   None, "Northwind released Kestrel-7B with a 128k context window.",
                   "Northwind released Kestrel-7B with a 128k context window."),
        ]
    )  # fmt: skip
    v = verify("Northwind released Kestrel-7B with a 128k context window [S1].", pack)
    c = v.citations[0]
    assert (c.verdict, c.kind, c.matches) == ("contradicted", "wrong-source", "S2")
    assert (
        v.trust_line() == "Trust: 0 of 1 factual sentences supported; 1 contradicted (wrong-source)"
    )


# -- what the trust line counts ---------------------------------------------------------------


def test_labels_echoes_and_filler_are_not_factual_sentences() -> None:
    text = (
        "**S#1**: [S1]\n\n"
        "Here is the digest [S1].\n\n"
        "Cite it only by the sources' ids, like [S1].\n\n"
        "Key findings: [S1]\n\n"
        "## CrewAI 1.15 [S1]\n\n"
        "CrewAI 1.15 talks to Ollama without LiteLLM [S1]. Telemetry stays enabled by default "
        "[S1]. CrewAI 1.16 talks to Ollama without LiteLLM [S1]."
    )
    v = verify(text, NOTES)
    assert [c.sentence.split(" [")[0] for c in v.citations] == [
        "CrewAI 1.15 talks to Ollama without LiteLLM",
        "Telemetry stays enabled by default",
        "CrewAI 1.16 talks to Ollama without LiteLLM",
    ]
    assert len(v.not_claims) == 4
    assert [s.status for s in v.sentences][:4] == ["no-claim"] * 4
    assert v.trust_line() == ("Trust: 2 of 3 factual sentences supported; 1 contradicted (figure)")


def test_an_echo_of_the_prompt_is_no_claim_when_the_prompt_is_known() -> None:
    prompt = "List what changed for local model users. Every fact carries its source ids."
    echo = "What changed for local model users: every fact carries its source ids [S1]."
    assert verify(echo, NOTES).sentences_cited == 1
    assert verify(echo, NOTES, prompts=[prompt]).sentences_cited == 0


def test_a_subject_the_source_never_names_is_excused_only_by_a_pronoun_subject() -> None:
    claim = "Microsoft acquired GitHub in 2018 [S1]."
    assert verdict_of(claim, "GitHub was acquired in 2018, and the deal kept its name.") == (
        "not-confirmed",
        "entity",
    )
    assert verdict_of(claim, "In 2018, it acquired GitHub.") == ("supported", None)
