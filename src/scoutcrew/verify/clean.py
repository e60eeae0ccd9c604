"""Clean a model-written report against its evidence pack before any claim is checked: drop
model-written reference lists, unknown citations, foreign links and raw HTML.

The pack is read through its documented attributes only (pack.sources, source.id/url/links).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import TYPE_CHECKING

from ..text.links import allowed_urls, neutralise_bare_urls, neutralise_links
from .sentences import CITE_GROUP_RE, CITE_ID_RE, FENCE_RE, HEADING_RE, strip_md_prefix
from .verdicts import Flag

if TYPE_CHECKING:
    from ..select.pack import EvidencePack, Source

# Headings (or lone bold/colon lines) that start a model-written reference list; the report
# writes its own from the pack, so such a section is dropped and a note says so.
REFERENCE_HEADINGS = re.compile(
    r"^(references?|sources?|sources cited|citations?|bibliography|works cited|"
    r"further reading|links|reference list)\s*:?$",
    re.IGNORECASE,
)

_SENTINEL = "\x00"
_SENTINEL_RE = re.compile(r"\x00(\d+)\x00")


def sanitize_markdown(text: str, pack: EvidencePack) -> tuple[str, list[Flag], list[str]]:
    """Drop model-written reference lists, unknown citations, foreign links and raw HTML.

    Return (clean text, flags, notes). Idempotent: cleaning clean text changes nothing.
    """
    allowed = allowed_urls(pack)
    known = {s.id for s in sources_of(pack)}
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
        if FENCE_RE.match(line):
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


def sources_of(pack: EvidencePack | None) -> list[Source]:
    return list(getattr(pack, "sources", None) or [])


def _heading_of(line: str) -> tuple[int, str] | None:
    """Return (level, text) for an ATX heading or a lone bold/colon label line."""
    m = HEADING_RE.match(line)
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
        m = FENCE_RE.match(line)
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
        ids = [f"S{int(n)}" for n in CITE_ID_RE.findall(m.group(0))]
        good = [i for i in dict.fromkeys(ids) if i in known]
        bad = [i for i in dict.fromkeys(ids) if i not in known]
        marks = "".join(
            _flag(pending, "unknown-citation", f"[{i}] is not a source of the evidence")
            for i in bad
        )
        if not good:
            return marks
        return f"[{', '.join(good)}]" + marks

    text = CITE_GROUP_RE.sub(group, text)
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
    return [(s, e, strip_md_prefix(p)) for s, e, p in spans]
