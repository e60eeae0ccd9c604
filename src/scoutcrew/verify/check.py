"""Check a model-written report against its evidence pack, without another model call.

Three things a reader cannot see for themselves are made visible here:

- citations: every [S#] must name a source of the pack; unknown ids are removed and flagged;
- support: each cited sentence is scored against the text of the sources it cites (a weighted
  content-word overlap, IDF over the pack, with light stemming); low scores are flagged;
- links: any URL that is not one of the evidence sources' own URLs (a prompt-injected link,
  say) is removed from the text, replaced by a visible marker and flagged (see links.py).

The module reads the pack through its documented attributes only (pack.sources, pack.get(sid),
source.url/links/title/excerpt/text), so it has no import-time dependency on the evidence code.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..text.links import (
    allowed_urls,
    link_labels,
    neutralise_bare_urls,
    neutralise_links,
    strip_markers,
)
from ..text.terms import terms
from .claims import ClaimIndex, analyse

SUPPORT_THRESHOLD = 0.5
"""A cited sentence is supported when its support score reaches this value (0..1)."""

# Headings (or lone bold/colon lines) that start a model-written reference list; the report
# writes its own from the pack, so such a section is dropped and a note says so.
REFERENCE_HEADINGS = re.compile(
    r"^(references?|sources?|sources cited|citations?|bibliography|works cited|"
    r"further reading|links|reference list)\s*:?$",
    re.IGNORECASE,
)

_SENTINEL = "\x00"
_SENTINEL_RE = re.compile(r"\x00(\d+)\x00")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_CITE_GROUP_RE = re.compile(r"\[\s*[Ss]\s?\d+(?:\s*[,;]\s*(?:[Ss]\s?)?\d+)*\s*\]")
_CITE_ID_RE = re.compile(r"(\d+)")


@dataclass
class Flag:
    """One thing the reader should know about: what kind, the detail, where."""

    kind: str  # "unknown-citation" | "unsupported" | "foreign-url" | "uncited-claim"
    detail: str
    sentence: str = ""
    url: str | None = None  # the raw URL for "foreign-url" (kept out of the report's text)
    claim_class: str | None = None  # "unsupported": figure, entity, polarity, wrong-source, ...
    marker: int | None = None  # the footnote number the report puts after the sentence


@dataclass
class CitedSentence:
    """A sentence that cites sources: its claim-check verdict and support score."""

    sentence: str
    ids: list[str]
    score: float
    supported: bool
    scores: dict[str, float] = field(default_factory=dict)  # per cited source
    missing_terms: list[str] = field(default_factory=list)  # heaviest words not in the sources
    kind: str | None = None  # the class of the first problem (see claims.CLASSES), or None
    reason: str = ""
    matches: str | None = None  # wrong-source: the source the sentence matches instead
    judge: dict[str, Any] | None = None  # the model judge's verdict, when one was asked
    repaired: bool = False  # rewritten by the writer after a failed check, and now supported
    original: str = ""  # the sentence before repair
    coverage: float = 1.0  # share of its content words in the cited sources (claim check)


@dataclass
class SentenceVerdict:
    """The verdict on one prose sentence of the report."""

    sentence: str
    status: str  # "supported" | "unsupported" | "uncited-claim" | "no-claim"
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

    @property
    def factual(self) -> int:
        """Sentences that state a fact: every cited sentence, and uncited ones with figures
        or names."""
        return self.sentences_cited + len(self.uncited_claims)

    @property
    def repaired(self) -> int:
        return sum(1 for c in self.citations if c.repaired and c.supported)

    def unsupported_by_class(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.citations:
            if not c.supported:
                key = c.kind or "unsupported"
                counts[key] = counts.get(key, 0) + 1
        return counts

    def trust_line(self) -> str:
        """Return the one-line summary that ends every report.

        "Trust: 14 of 16 factual sentences supported; 1 repaired; 1 unsupported (figure),
        1 uncited claim". A report with no factual sentence says so instead of "0 flagged".
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
        problems = [
            f"{n} unsupported ({kind})"
            for kind, n in sorted(self.unsupported_by_class().items(), key=lambda kv: -kv[1])
        ]
        if self.uncited_claims:
            problems.append(_count(len(self.uncited_claims), "uncited claim"))
        if problems:
            parts.append(", ".join(problems))
        return "; ".join(parts) + tail

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --------------------------------------------------------------------------------------------
# Public entry points


def verify(
    text: str,
    pack: Any,
    *,
    threshold: float = SUPPORT_THRESHOLD,
    flag_uncited: bool = True,
    judged: dict[str, dict[str, Any]] | None = None,
    index: ClaimIndex | None = None,
) -> Verification:
    """Clean `text` against `pack` and check every sentence; return the per-sentence verdicts.

    Each cited sentence goes through the claim check (figures, names, polarity, wrong source,
    invented detail; see claims.py) and its support score must reach `threshold`. Sentences
    that state a figure or a name without any citation are counted (and, with flag_uncited,
    flagged) as uncited claims. judged: a model judge's verdicts by sentence text
    ({"verdict": "supported"|"unsupported", "kind", "reason", "model"}), recorded beside the
    deterministic ones; a judge can flag a sentence the code passed, never clear one it failed.
    """
    cleaned, flags, notes = sanitize_markdown(text, pack)
    sentences = list(iter_sentences(cleaned))
    claims = index or ClaimIndex.from_pack(pack)
    support = claims.cache.get("support")
    if not isinstance(support, SupportIndex):
        support = claims.cache["support"] = SupportIndex.from_pack(pack)
    known = {s.id for s in _sources(pack)}
    judged = judged or {}

    citations: list[CitedSentence] = []
    cited_ids: list[str] = []
    verdicts: list[SentenceVerdict] = []
    uncited: list[str] = []
    for sentence in sentences:
        ids = [i for i in citation_ids(sentence) if i in known]
        claim = _claim_text(sentence)
        if not ids:
            if is_factual(claim, claims):
                uncited.append(sentence)
                verdicts.append(SentenceVerdict(sentence, "uncited-claim"))
                if flag_uncited:
                    flags.append(
                        Flag(
                            "uncited-claim",
                            "states a figure or a name without a citation",
                            sentence,
                        )
                    )
            else:
                verdicts.append(SentenceVerdict(sentence, "no-claim"))
            continue
        for sid in ids:
            if sid not in cited_ids:
                cited_ids.append(sid)
        cited = _check_sentence(sentence, claim, ids, support, claims, threshold)
        cited.judge = judged.get(sentence)
        if cited.supported and cited.judge and cited.judge.get("verdict") == "unsupported":
            cited.supported = False
            cited.kind = str(cited.judge.get("kind") or "judge")
            cited.reason = f"model judge ({cited.judge.get('model', '?')}): " + str(
                cited.judge.get("reason") or "not supported by the cited sources"
            )
        citations.append(cited)
        status = "supported" if cited.supported else "unsupported"
        verdicts.append(
            SentenceVerdict(
                sentence, status, cited.kind, cited.reason, ids, cited.matches, judge=cited.judge
            )
        )
        if not cited.supported:
            flags.append(Flag("unsupported", cited.reason, sentence, claim_class=cited.kind))

    flagged_sentences = {f.sentence or f"#{n}" for n, f in enumerate(flags)}
    return Verification(
        text=cleaned,
        sentences_cited=len(citations),
        supported=sum(c.supported for c in citations),
        flagged=len(flagged_sentences),
        flags=flags,
        cited_ids=cited_ids,
        citations=citations,
        sentences_total=len(sentences),
        threshold=threshold,
        notes=notes,
        uncited_claims=uncited,
        sentences=verdicts,
    )


def _check_sentence(
    sentence: str,
    claim: str,
    ids: list[str],
    support: SupportIndex,
    claims: ClaimIndex,
    threshold: float,
) -> CitedSentence:
    score, per_source, missing = support.score(claim, ids)
    check = claims.check(claim, ids)
    cited = CitedSentence(sentence, ids, round(score, 3), check.supported, per_source, missing)
    cited.kind, cited.reason, cited.matches = check.kind, check.reason, check.matches
    cited.coverage = check.coverage
    # The support score knows no synonyms; the claim check's coverage does: either may carry.
    if cited.supported and max(score, check.coverage) < threshold:
        cited.supported, cited.kind = False, "invented"
        cited.reason = f"support {score:.2f} < {threshold:.2f} against [{', '.join(ids)}]"
        if missing:
            cited.reason += f" (not in the sources: {', '.join(missing)})"
    return cited


MARKED_KINDS = ("unsupported", "uncited-claim")
"""Flags whose sentence gets an inline footnote marker in the report."""
MARKER_RE = re.compile(r"\[\^c(\d+)\]")


def find_sentence(text: str, sentence: str) -> re.Match[str] | None:
    """Find a sentence (as iter_sentences gave it) in Markdown text, whitespace aside."""
    words = sentence.split()
    if not words:
        return None
    return re.search(r"\s+".join(re.escape(w) for w in words), text)


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
    return f"unsupported ({flag.claim_class or 'support'}): {flag.detail}"


def is_factual(claim: str, index: ClaimIndex) -> bool:
    """Whether an uncited sentence states a fact a reader would want a source for: a figure,
    or a name. A capitalised first word alone does not count ("Visit ...", "Update now")."""
    a = analyse(claim, index.vocabulary)
    # "Two themes stand out" is structure, not a figure: a number word counts only with a unit.
    if any(re.search(r"\d", f.text) or f.unit not in {"", "weekday"} for f in a.figures):
        return True
    first = next((i for i, w in enumerate(a.words) if w[:1].isalpha()), -1)
    return any(
        i != first or not re.fullmatch(r"[A-Z][a-z]+", name) or name.lower() in index.known_names
        for i, name in a.names
    )


def sanitize_markdown(text: str, pack: Any) -> tuple[str, list[Flag], list[str]]:
    """Drop model-written reference lists, unknown citations, foreign links and raw HTML.

    Return (clean text, flags, notes). Idempotent: cleaning clean text changes nothing.
    """
    allowed = allowed_urls(pack)
    known = {s.id for s in _sources(pack)}
    pending: list[Flag] = []
    text = text.replace(_SENTINEL, "").replace("\r\n", "\n").replace("\r", "\n")
    text, notes = strip_model_references(text)

    def mark(detail: str, url: str) -> str:
        return _flag(pending, "foreign-url", detail, url)

    parts = []
    for is_code, segment in _split_code(text):
        if is_code:
            parts.append(neutralise_bare_urls(segment, allowed, mark))
        else:
            segment = neutralise_links(segment, allowed, mark)
            parts.append(_clean_citations(segment, known, pending))
    text = "".join(parts)
    return _resolve_sentinels(text, pending), pending, notes


def citation_ids(text: str) -> list[str]:
    """Return the source ids cited in `text`, in order, without repeats ("S3", ...)."""
    ids: list[str] = []
    for group in _CITE_GROUP_RE.finditer(text):
        for number in _CITE_ID_RE.findall(group.group(0)):
            sid = f"S{int(number)}"
            if sid not in ids:
                ids.append(sid)
    return ids


def strip_model_references(text: str) -> tuple[str, list[str]]:
    """Remove reference-list sections the model wrote; return (text, notes saying so).

    A "## References" heading drops everything up to the next heading of the same or a higher
    level; a lone "Sources:" line drops only the block right below it, so a stray label cannot
    swallow the rest of the report.
    """
    kept: list[str] = []
    notes: list[str] = []
    level: int | None = None  # the heading level that ends the section being dropped
    body_seen = False  # a label's block ends at its first blank line after some content
    in_fence = False
    for line in text.split("\n"):
        if _FENCE_RE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _heading_of(line)
        if level is not None and (
            (heading is not None and heading[0] <= level)
            or (level == 7 and body_seen and not line.strip())
        ):
            level = None
        if heading is not None and REFERENCE_HEADINGS.match(heading[1]):
            level, body_seen = heading[0], False
            notes.append(
                f'Dropped a model-written "{heading[1].rstrip(":")}" section: '
                "the references are generated from the evidence."
            )
            continue
        if level is None:
            kept.append(line)
        else:
            body_seen = body_seen or bool(line.strip())
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept) + ("\n" if text.endswith("\n") and kept else ""), notes


def iter_sentences(markdown: str) -> Iterable[str]:
    """Yield the prose sentences of `markdown`: no headings, code, rules or table borders."""
    for block in _prose_blocks(markdown):
        yield from split_sentences(block)


def split_sentences(block: str) -> list[str]:
    """Split one paragraph into sentences; citations after a full stop stay with its sentence."""
    pieces: list[str] = []
    start = 0
    for m in re.finditer(r"[.!?]+[\"')\]]*\s+", block):
        word = re.search(r"(\S*)$", block[max(start, m.start() - 40) : m.start()])
        last_word = word.group(1).lower() if word else ""
        if last_word.rstrip(".") in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word):
            continue
        if not re.match(r"[\[\"'(*_A-Z0-9\u00c0-\u024f]", block[m.end() : m.end() + 1] or "A"):
            continue
        pieces.append(block[start : m.end()].strip())
        start = m.end()
    pieces.append(block[start:].strip())

    sentences: list[str] = []
    for piece in pieces:
        lead = re.match(rf"^((?:{_CITE_GROUP_RE.pattern}\s*[.,;]?\s*)+)", piece)
        if lead and sentences:
            sentences[-1] = f"{sentences[-1]} {lead.group(1).strip()}"
            piece = piece[lead.end() :].strip()
        if piece:
            sentences.append(piece)
    return sentences


# --------------------------------------------------------------------------------------------
# Support scoring


class SupportIndex:
    """Content words of each source, with IDF weights over the pack."""

    def __init__(self, docs: dict[str, set[str]]):
        self.docs = docs
        n = len(docs)
        df: dict[str, int] = {}
        for words in docs.values():
            for term in words:
                df[term] = df.get(term, 0) + 1
        self._df = df
        self._n = n

    @classmethod
    def from_pack(cls, pack: Any) -> SupportIndex:
        docs = {}
        for s in _sources(pack):
            body = " ".join(
                str(getattr(s, attr, "") or "") for attr in ("title", "excerpt", "text")
            )
            docs[s.id] = set(terms(body))
        return cls(docs)

    def idf(self, term: str) -> float:
        df = self._df.get(term, 0)
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def score(self, claim: str, ids: list[str]) -> tuple[float, dict[str, float], list[str]]:
        """Return (score against the union of `ids`, score per id, missing heavy words)."""
        claim_terms = set(terms(claim))
        if not claim_terms:
            return 0.0, dict.fromkeys(ids, 0.0), []
        weights = {t: self.idf(t) for t in claim_terms}
        total = sum(weights.values())
        union: set[str] = set()
        per_source = {}
        for sid in ids:
            doc = self.docs.get(sid, set())
            union |= doc
            per_source[sid] = round(sum(w for t, w in weights.items() if t in doc) / total, 3)
        score = sum(w for t, w in weights.items() if t in union) / total
        missing = sorted((t for t in claim_terms if t not in union), key=lambda t: (-weights[t], t))
        return score, per_source, missing[:5]


_ABBREVIATIONS = frozenset(
    "e.g i.e etc vs mr mrs ms dr prof inc ltd co corp jr sr st no fig approx al u.s u.k "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


# --------------------------------------------------------------------------------------------
# Cleaning helpers


def _sources(pack: Any) -> list[Any]:
    return list(getattr(pack, "sources", None) or [])


def _heading_of(line: str) -> tuple[int, str] | None:
    """Return (level, text) for an ATX heading or a lone bold/colon label line."""
    m = _HEADING_RE.match(line)
    if m:
        return len(m.group(1)), re.sub(r"[*_`]", "", m.group(2)).strip()
    stripped = line.strip()
    label = re.fullmatch(r"(\*\*|__)([^*_]+?)(\*\*|__)\s*:?|([A-Za-z][A-Za-z ]{2,30}):", stripped)
    if label:
        name = (label.group(2) or label.group(4) or "").strip().rstrip(":")
        if REFERENCE_HEADINGS.match(name):
            return 7, name  # below any ATX level: the next heading of any level ends it
    return None


def _split_code(text: str) -> list[tuple[bool, str]]:
    """Split text into (is_code, segment) around fenced code blocks and inline code spans."""
    segments: list[tuple[bool, str]] = []
    buf: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        m = _FENCE_RE.match(line)
        if fence is None and m:
            segments.append((False, "\n".join(buf) + "\n") if buf else (False, ""))
            buf, fence = [line], m.group(1)[0] * len(m.group(1))
        elif fence is not None and m and m.group(1).startswith(fence):
            buf.append(line)
            segments.append((True, "\n".join(buf) + "\n"))
            buf, fence = [], None
        else:
            buf.append(line)
    segments.append((fence is not None, "\n".join(buf)))
    out: list[tuple[bool, str]] = []
    for is_code, seg in segments:
        if is_code or not seg:
            out.append((is_code, seg))
            continue
        pos = 0
        for m in re.finditer(r"(`+)[^`]*?\1", seg):
            out.append((False, seg[pos : m.start()]))
            out.append((True, m.group(0)))
            pos = m.end()
        out.append((False, seg[pos:]))
    return [(c, s) for c, s in out if s]


def _flag(pending: list[Flag], kind: str, detail: str, url: str | None = None) -> str:
    pending.append(Flag(kind, detail, "", url))
    return f"{_SENTINEL}{len(pending) - 1}{_SENTINEL}"


def _clean_citations(text: str, known: set[str], pending: list[Flag]) -> str:
    def group(m: re.Match[str]) -> str:
        ids = [f"S{int(n)}" for n in _CITE_ID_RE.findall(m.group(0))]
        good = [i for i in dict.fromkeys(ids) if i in known]
        bad = [i for i in dict.fromkeys(ids) if i not in known]
        marks = "".join(
            _flag(pending, "unknown-citation", f"[{i}] is not a source of the evidence")
            for i in bad
        )
        if not good:
            return marks
        return f"[{', '.join(good)}]" + marks

    text = _CITE_GROUP_RE.sub(group, text)
    # A removed citation leaves "claim ." behind: pull the punctuation back to the word.
    return re.sub(r"[ \t]+((?:\x00\d+\x00)+)(?=[ \t]*[.,;:!?]|[ \t]*$)", r"\1", text, flags=re.M)


def _resolve_sentinels(text: str, pending: list[Flag]) -> str:
    """Give each pending flag the sentence it sits in, then drop the sentinels."""
    for line in text.split("\n"):
        if _SENTINEL not in line:
            continue
        spans = _pieces_with_spans(line)
        ends = [end for _, end, _ in spans]
        plain = [_SENTINEL_RE.sub("", piece).strip() for _, _, piece in spans]
        for m in _SENTINEL_RE.finditer(line):
            k = min(bisect_left(ends, m.start()), len(spans) - 1)
            pending[int(m.group(1))].sentence = plain[k]
    return _SENTINEL_RE.sub("", text)


def _pieces_with_spans(line: str) -> list[tuple[int, int, str]]:
    spans = []
    start = 0
    for m in re.finditer(r"[.!?]+[\"')\]]*\s+(?=[A-Z\[\"'(])", line):
        spans.append((start, m.end(), line[start : m.end()]))
        start = m.end()
    spans.append((start, len(line), line[start:]))
    return [(s, e, _strip_md_prefix(p)) for s, e, p in spans]


def _strip_md_prefix(line: str) -> str:
    return re.sub(r"^\s*(?:>\s*)*(?:[-*+]\s+|\d+[.)]\s+|#{1,6}\s+)?", "", line)


def _strip_citations(sentence: str) -> str:
    return _CITE_GROUP_RE.sub("", sentence)


def _claim_text(sentence: str) -> str:
    """Return the words a sentence claims: no citations, markers, link targets or URLs."""
    text = MARKER_RE.sub("", _strip_citations(sentence))
    return link_labels(strip_markers(text)).replace("&lt;", "<")


def _prose_blocks(markdown: str) -> Iterable[str]:
    """Yield paragraphs and list items as single-line strings, Markdown prefixes removed."""
    block: list[str] = []
    in_fence = False
    for raw in markdown.split("\n"):
        if _FENCE_RE.match(raw):
            in_fence = not in_fence
            if block:
                yield " ".join(block)
                block = []
            continue
        if in_fence:
            continue
        line = raw.rstrip()
        stripped = re.sub(r"^\s*(?:>\s?)*", "", line)
        is_item = re.match(r"^\s*(?:[-*+]|\d+[.)])\s+", stripped)
        if (
            not stripped.strip()
            or _HEADING_RE.match(stripped)
            or re.fullmatch(r"\s*(?:[-*_]\s*){3,}", stripped)
            or re.fullmatch(r"\s*\|?[\s:|-]+\|[\s:|-]*", stripped)
            or is_item
        ):
            if block:
                yield " ".join(block)
                block = []
            if not stripped.strip() or not is_item:
                continue
        text = _strip_md_prefix(stripped)
        if "|" in text and text.strip().startswith("|"):
            text = " ".join(c.strip() for c in text.strip().strip("|").split("|"))
        block.append(text.strip())
    if block:
        yield " ".join(block)
