"""What the claim check found: the verdict on each sentence, the flags, the trust line, and the
inline markers the report puts after a flagged sentence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .sentences import MARKER_RE, find_sentence

SUPPORT_THRESHOLD = 0.5
"""A cited sentence is supported when its support score reaches this value (0..1)."""


@dataclass
class Flag:
    """One thing the reader should know about: what kind, the detail, where."""

    # "contradicted" | "not-confirmed" | "uncited-claim" | "unknown-citation" | "foreign-url"
    kind: str
    detail: str
    sentence: str = ""
    url: str | None = None  # the raw URL for "foreign-url" (kept out of the report's text)
    claim_class: str | None = None  # a checked claim's class: figure, entity, polarity, ...
    marker: int | None = None  # the footnote number the report puts after the sentence


@dataclass
class CitedSentence:
    """A sentence that cites sources: its claim-check verdict and support score."""

    sentence: str
    ids: list[str]
    score: float
    supported: bool  # verdict == "supported"
    scores: dict[str, float] = field(default_factory=dict)  # per cited source
    missing_terms: list[str] = field(default_factory=list)  # heaviest words not in the sources
    kind: str | None = None  # the class of the first problem (see claims.CLASSES), or None
    reason: str = ""
    matches: str | None = None  # wrong-source: the source the sentence matches instead
    judge: dict[str, Any] | None = None  # the model judge's verdict, when one was asked
    repaired: bool = False  # rewritten by the writer after a failed check, and now supported
    original: str = ""  # the sentence before repair
    coverage: float = 1.0  # share of its content words in the cited sources (claim check)
    verdict: str = "supported"  # "supported" | "contradicted" | "not-confirmed"

    def set_verdict(self, verdict: str, kind: str | None, reason: str) -> None:
        self.verdict, self.kind, self.reason = verdict, kind, reason
        self.supported = verdict == "supported"


@dataclass
class SentenceVerdict:
    """The verdict on one prose sentence of the report."""

    sentence: str
    # "supported" | "contradicted" | "not-confirmed" | "uncited-claim" | "no-claim"
    status: str
    kind: str | None = None
    reason: str = ""
    ids: list[str] = field(default_factory=list)
    matches: str | None = None
    repaired: bool = False
    judge: dict[str, Any] | None = None


@dataclass
class Verification:
    """The cleaned text and what the checks found."""

    text: str
    sentences_cited: int = 0
    supported: int = 0
    flagged: int = 0
    flags: list[Flag] = field(default_factory=list)
    cited_ids: list[str] = field(default_factory=list)
    citations: list[CitedSentence] = field(default_factory=list)
    sentences_total: int = 0
    threshold: float = SUPPORT_THRESHOLD
    notes: list[str] = field(default_factory=list)
    uncited_claims: list[str] = field(default_factory=list)
    sentences: list[SentenceVerdict] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # sentences the writer removed on repair
    review: dict[str, Any] = field(default_factory=dict)  # judge and repair: models, tokens
    not_claims: list[str] = field(default_factory=list)  # cited, but labels, echoes, filler

    @property
    def factual(self) -> int:
        """Sentences that state a fact: every cited claim, and uncited ones with figures
        or names. Labels, headings, echoes of the prompt and filler are not counted."""
        return self.sentences_cited + len(self.uncited_claims)

    @property
    def contradicted(self) -> int:
        return sum(1 for c in self.citations if c.verdict == "contradicted")

    @property
    def not_confirmed(self) -> int:
        return sum(1 for c in self.citations if c.verdict == "not-confirmed")

    @property
    def repaired(self) -> int:
        return sum(1 for c in self.citations if c.repaired and c.supported)

    def contradicted_by_class(self) -> dict[str, int]:
        """Contradicted sentences by class (figure, entity, polarity, wrong-source)."""
        return self._by_class("contradicted")

    def not_confirmed_by_class(self) -> dict[str, int]:
        """Not-confirmed sentences by class (figure, entity, invented, ...)."""
        return self._by_class("not-confirmed")

    def _by_class(self, verdict: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.citations:
            if c.verdict == verdict:
                counts[c.kind or verdict] = counts.get(c.kind or verdict, 0) + 1
        return counts

    def trust_line(self) -> str:
        """Return the one-line summary that ends every report.

        "Trust: 14 of 16 factual sentences supported; 1 repaired; 1 contradicted (figure);
        1 not confirmed; 1 uncited claim". A report with no factual sentence says so instead.
        """
        other = sum(1 for f in self.flags if f.kind in {"unknown-citation", "foreign-url"})
        tail = ""
        if other:
            tail = (
                "; 1 unknown citation or link removed"
                if other == 1
                else (f"; {other} unknown citations or links removed")
            )
        if not self.factual:
            return (
                "Trust: no factual sentence to check (none cites a source or states a figure "
                f"or a name){tail}"
            )
        head = f"Trust: {self.supported} of {self.factual} factual sentences supported"
        parts = [head]
        if self.repaired:
            parts.append(f"{self.repaired} repaired")
        if self.contradicted:
            classes = sorted(self.contradicted_by_class().items(), key=lambda kv: -kv[1])
            shown = (
                classes[0][0] if len(classes) == 1 else ", ".join(f"{n} {k}" for k, n in classes)
            )
            parts.append(f"{self.contradicted} contradicted ({shown})")
        if self.not_confirmed:
            parts.append(f"{self.not_confirmed} not confirmed{self._judge_note()}")
        if self.uncited_claims:
            parts.append(_count(len(self.uncited_claims), "uncited claim"))
        return "; ".join(parts) + tail

    def _judge_note(self) -> str:
        """What the model judge said about the not-confirmed sentences it was asked about."""
        asked = [c.judge for c in self.citations if c.verdict == "not-confirmed" and c.judge]
        if not asked:
            return ""
        yes = sum(1 for j in asked if j.get("verdict") == "supported")
        return f" (the model judge calls {yes} of {len(asked)} supported)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


MARKED_KINDS = ("contradicted", "not-confirmed", "uncited-claim")
"""Flags whose sentence gets an inline footnote marker in the report."""


def mark_claims(text: str, flags: list[Flag], start: int = 1) -> tuple[str, int]:
    """Put a footnote marker ("[^c1]") after each flagged sentence found in `text`.

    Each flag of MARKED_KINDS that has no marker yet and whose sentence occurs in `text` gets
    the next number. Return (marked text, next free number). Markers the model wrote itself are
    removed first, so only the check's markers remain.
    """
    text = MARKER_RE.sub("", text)
    number = start
    for flag in flags:
        if flag.kind not in MARKED_KINDS or flag.marker is not None or not flag.sentence:
            continue
        m = find_sentence(text, flag.sentence)
        if m is None:
            continue
        flag.marker = number
        text = f"{text[: m.end()]}[^c{number}]{text[m.end() :]}"
        number += 1
    return text, number


def marker_note(flag: Flag) -> str:
    """The footnote text for a marked flag: what kind of problem, and why."""
    if flag.kind == "uncited-claim":
        return "uncited claim: states a figure or a name without a citation"
    verdict = "contradicted" if flag.kind == "contradicted" else "not confirmed"
    return f"{verdict} ({flag.claim_class or 'support'}): {flag.detail}"
