"""The sentence model: which parts of a Markdown report are prose sentences, where a sentence
ends, which [S#] ids it cites and which words it claims.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ..text.links import link_labels, strip_markers
from ..text.terms import terms

FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING_RE = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CITE_GROUP_RE = re.compile(r"\[\s*[Ss]\s?\d+(?:\s*[,;]\s*(?:[Ss]\s?)?\d+)*\s*\]")
CITE_ID_RE = re.compile(r"(\d+)")
MARKER_RE = re.compile(r"\[\^c(\d+)\]")


def citation_ids(text: str) -> list[str]:
    """Return the source ids cited in `text`, in order, without repeats ("S3", ...)."""
    ids: list[str] = []
    for group in CITE_GROUP_RE.finditer(text):
        for number in CITE_ID_RE.findall(group.group(0)):
            sid = f"S{int(number)}"
            if sid not in ids:
                ids.append(sid)
    return ids


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
        lead = re.match(rf"^((?:{CITE_GROUP_RE.pattern}\s*[.,;]?\s*)+)", piece)
        if lead and sentences:
            sentences[-1] = f"{sentences[-1]} {lead.group(1).strip()}"
            piece = piece[lead.end() :].strip()
        if piece:
            sentences.append(piece)
    return sentences


def find_sentence(text: str, sentence: str) -> re.Match[str] | None:
    """Find a sentence (as iter_sentences gave it) in Markdown text, whitespace aside."""
    words = sentence.split()
    if not words:
        return None
    return re.search(r"\s+".join(re.escape(w) for w in words), text)


def _strip_citations(sentence: str) -> str:
    return CITE_GROUP_RE.sub("", sentence)


def claim_text(sentence: str) -> str:
    """Return the words a sentence claims: no citations, markers, link targets or URLs."""
    text = MARKER_RE.sub("", _strip_citations(sentence))
    return link_labels(strip_markers(text)).replace("&lt;", "<")


def strip_md_prefix(line: str) -> str:
    return re.sub(r"^\s*(?:>\s*)*(?:[-*+]\s+|\d+[.)]\s+|#{1,6}\s+)?", "", line)


def _prose_blocks(markdown: str) -> Iterable[str]:
    """Yield paragraphs and list items as single-line strings, Markdown prefixes removed."""
    block: list[str] = []
    in_fence = False
    for raw in markdown.split("\n"):
        if FENCE_RE.match(raw):
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
            or HEADING_RE.match(stripped)
            or re.fullmatch(r"\s*(?:[-*_]\s*){3,}", stripped)
            or re.fullmatch(r"\s*\|?[\s:|-]+\|[\s:|-]*", stripped)
            or is_item
        ):
            if block:
                yield " ".join(block)
                block = []
            if not stripped.strip() or not is_item:
                continue
        text = strip_md_prefix(stripped)
        if "|" in text and text.strip().startswith("|"):
            text = " ".join(c.strip() for c in text.strip().strip("|").split("|"))
        block.append(text.strip())
    if block:
        yield " ".join(block)


_ABBREVIATIONS = frozenset(
    "e.g i.e etc vs mr mrs ms dr prof inc ltd co corp jr sr st no fig approx al u.s u.k "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


# What a sentence is when it is no claim: a label ("**S#1**: [S8]", "Key points:"), an
# instruction (an echo of the task's prompt: "Cite it only by the sources' ids, like [S4]."),
# or filler that frames the report ("Here is the digest.", "No further details are available.").
_INSTRUCTION = re.compile(
    r"^(?:please\s+)?(?:cite|use|write|list|answer|include|keep|avoid|do not|don't|never|"
    r"always|make sure|remember|return|respond|output|summari[sz]e|mention|name|give|begin|"
    r"start|end|format)\b",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"\b(?:here (?:is|are)|below (?:is|are)|the following|as follows|this (?:report|digest|"
    r"summary|brief|section)|in (?:summary|conclusion|short)|to summari[sz]e|overall|key "
    r"(?:points|findings|themes|takeaways)|(?:no|nothing) (?:further|more|other|new) "
    r"(?:information|details?|news|updates?)|(?:is|are) (?:not )?(?:available|provided|"
    r"mentioned|given)|see (?:the )?sources?|sources?|for (?:more|further) (?:details|"
    r"information)|stay tuned|read more|theme \d*|s#\d*|item \d+|fact \d+)\b",
    re.IGNORECASE,
)
ECHO_SHARE = 0.75
"""A sentence whose content words are at least this share of a prompt's words echoes it."""


def is_claim(claim: str, prompts: Sequence[str] = ()) -> bool:
    """Whether a cited sentence states something a source could support or contradict.

    Not a claim: a bare label or heading line, an instruction or an echo of one of `prompts`
    (the task descriptions the model was given), and filler with fewer than two content words
    once its framing words are set aside.
    """
    text = re.sub(r"[*_`#>]+", " ", claim).strip()
    if not text or re.fullmatch(r"[^.!?]{0,60}:\s*", text):
        return False
    words = terms(text)
    if _INSTRUCTION.match(text) and not re.search(r"\d", text):
        return False
    if len(words) >= 3 and prompts:
        said = set(words)
        for prompt in prompts:
            asked = set(terms(prompt))
            if asked and len(said & asked) >= ECHO_SHARE * len(said):
                return False
    return len(terms(_FILLER.sub(" ", text))) >= 2
