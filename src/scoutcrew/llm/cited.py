"""Citations by construction: a writing task answers in JSON, and code writes the Markdown.

A task that cites its sources asks the model for structured output the backend enforces
(Ollama's `format`, a llama.cpp grammar on the embedded engine), in one of two shapes:

- write: sections of sentences, each sentence with the ids it rests on, chosen from an enum of
  the ids that exist (`{"sections": [{"heading", "sentences": [{"ids": ["S3"], "text"}]}]}`);
- select: for a model that cannot keep ids (the capability probe says which), the keys of the
  cited facts it received, most important first (`{"facts": ["F2", "F1"]}`); every sentence is
  then a fact copied with the ids it came with.

Code renders the answer: it places the [S#] markers (moving an id to the source a sentence
matches when its own ids share no word with it), drops what is not a claim (labels, echoes of
the prompt, filler), and writes prose or bullets as the task asks. No model ever writes a
marker, so no marker can name a source that does not exist.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import OutputFormatError
from ..text.terms import terms
from .basemodel import cited_lines

WRITE, SELECT, TEXT = "write", "select", "text"
MAX_IDS_PER_SENTENCE = 3
MAX_SECTIONS = 6
SENTENCE_CHARS = (20, 400)
MIN_CLAIM_WORDS = 3
# A sentence whose ids hold much less of its words than another source does (CLOSE_OVERLAP
# below the best), where that source holds at least MOVE_OVERLAP, is moved to that source.
MOVE_OVERLAP = 0.5
CLOSE_OVERLAP = 0.25

_IDS_IN_TEXT = re.compile(r"\[\s*S\s?\d+(?:\s*[,;]\s*S?\s?\d+)*\s*\]|\(\s*S\d+\s*\)|\bS\d+\b:?")
_LABEL = re.compile(r"^\s*(?:\*\*|__)?[^\s:*]{1,24}(?:\*\*|__)?\s*:\s*$")
_MARKUP = re.compile(r"[*_`#>]+")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_SOURCE_BLOCK = re.compile(r"^\[(S\d+)\][^\n]*\n((?:>[^\n]*\n?)+)", re.M)
# "Cite it only by id, like [S1]": the id is an example of a format, not a citation.
_EXAMPLE = re.compile(r"(?:\blike|\be\.g\.|\bsuch as|\bfor example)[\s,:]*$", re.IGNORECASE)
# Sentences about the answer, not about the world: a model's framing and filler.
_FILLER = re.compile(
    r"^(?:here (?:is|are)|sure\b|certainly\b|of course\b|i hope|i have|i will|i can|let me"
    r"|as requested|below (?:is|are)|the following|in summary\b|to summari[sz]e\b"
    r"|this (?:digest|report|brief|summary|answer)\b|feel free|note that the sources?\b)",
    re.IGNORECASE,
)


@dataclass
class CitedTask:
    """A task whose answer is cited by construction: the ids that exist and how to write."""

    name: str
    ids: list[str]
    agent: str | None = None  # whose answer it is (a hierarchical manager's is not)
    style: str = "prose"  # "prose" | "bullets"
    max_sentences: int = 12
    instructions: str = ""  # the task's own words, to tell an echo of them from a claim
    # The words each source's notes hold, from the crew's whole evidence: where a sentence's
    # markers go, whatever part of the evidence this task's prompt carries.
    vocab: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class Cited:
    """A rendered answer: the Markdown, what it was built from, what code changed."""

    markdown: str
    mode: str
    sentences: int = 0
    moved: int = 0  # ids code moved to the source the sentence matches
    dropped: list[str] = field(default_factory=list)  # text code left out: not a claim


def most_sentences(expected_output: str) -> int:
    """How many sentences a task's answer may have: its bullets or sentences, or its words
    at about 18 a sentence (3 to 20)."""
    items = re.findall(r"(\d+)\s*(?:to|-)?\s*(\d+)?\s*(?:short\s+)?(?:bullets?|sentences?|facts?)",
                       expected_output, re.I)  # fmt: skip
    if items:
        return max(3, min(20, max(int(b or a) for a, b in items)))
    words = re.findall(r"(\d+)\s*(?:to|-)?\s*(\d+)?\s*words", expected_output, re.I)
    if words:
        return max(3, min(20, max(int(b or a) for a, b in words) // 18))
    return 12


def style_of(expected_output: str) -> str:
    """Bullets when the task asks for them, prose otherwise."""
    return "bullets" if re.search(r"\bbullets?\b|\blist\b", expected_output, re.I) else "prose"


# -- what the model is asked -----------------------------------------------------------------


def write_schema(task: CitedTask) -> dict[str, Any]:
    """The JSON schema of a write answer: sentences with ids from an enum of existing ids."""
    low, high = SENTENCE_CHARS
    sentence = {
        "type": "object",
        "properties": {
            "ids": {
                "type": "array",
                "items": {"type": "string", "enum": list(task.ids)},
                "minItems": 1,
                "maxItems": MAX_IDS_PER_SENTENCE,
            },
            "text": {"type": "string", "minLength": low, "maxLength": high},
        },
        "required": ["ids", "text"],
    }
    section = {
        "type": "object",
        "properties": {
            "heading": {"type": "string", "maxLength": 80},
            "sentences": {
                "type": "array",
                "items": sentence,
                "minItems": 1,
                "maxItems": task.max_sentences,
            },
        },
        "required": ["heading", "sentences"],
    }
    return {
        "type": "object",
        "properties": {
            "sections": {
                "type": "array",
                "items": section,
                "minItems": 1,
                "maxItems": MAX_SECTIONS,
            }
        },
        "required": ["sections"],
    }


def write_instruction(task: CitedTask) -> str:
    ids = ", ".join(task.ids[:40]) + (", ..." if len(task.ids) > 40 else "")
    return (
        "Answer with one JSON object only, in this shape: "
        '{"sections": [{"heading": "...", "sentences": [{"ids": ["S1"], "text": "..."}]}]}. '
        "Each sentence states facts from the sources in your own words; its `ids` are the "
        f"sources it rests on, chosen from: {ids}. Write no ids, links or references in "
        "`text`: scoutcrew places the citations."
    )


def fact_keys(
    prompt: str, ids: list[str], instructions: str = ""
) -> list[tuple[str, str, list[str]]]:
    """The cited facts a prompt's evidence carries, keyed F1, F2...: (key, claim, ids that
    exist). Facts are the lines under a source's header ("[S3] date" then "> title" and
    "> fact" lines) and lines that end with [S#] ids (an earlier task's answer); an
    instruction's example ("cite it by its id, like [S3]") is not a fact."""
    known = set(ids)
    found: list[tuple[str, list[str]]] = []
    for match in _SOURCE_BLOCK.finditer(prompt):
        lines = [line[1:].strip() for line in match.group(2).splitlines() if line.strip()]
        found += [(line, [match.group(1)]) for line in lines[1:] or lines[:1]]
    found += cited_lines(prompt)
    out: list[tuple[str, str, list[str]]] = []
    seen: set[str] = set()
    for claim, cited in found:
        kept = [i for i in cited if i in known]
        key = " ".join(re.findall(r"\w+", claim.lower()))
        if kept and key not in seen and is_claim(claim, instructions):
            if not _EXAMPLE.search(claim):
                seen.add(key)
                out.append((f"F{len(out) + 1}", claim, kept))
    return out


def select_schema(keys: list[str], most: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "facts": {
                "type": "array",
                "items": {"type": "string", "enum": keys},
                "minItems": 1,
                "maxItems": max(1, min(most, len(keys))),
            }
        },
        "required": ["facts"],
    }


def select_instruction(facts: list[tuple[str, str, list[str]]], most: int) -> str:
    listed = "\n".join(f"{key}: {claim}" for key, claim, _ids in facts)
    return (
        f"The facts you may use:\n{listed}\n\nAnswer with one JSON object only: "
        f'{{"facts": ["F2", "F1"]}}: the keys of at most {most} facts that best answer the '
        "task, most important first. scoutcrew writes them out with their citations."
    )


def repair_turn(messages: list[dict], answer: str, error: str) -> list[dict]:
    """The messages of one repair turn: the answer that could not be used, and why."""
    return [
        *messages,
        {"role": "assistant", "content": answer[:2000]},
        {
            "role": "user",
            "content": f"Your answer could not be used: {error}. Answer again with only the "
            "JSON object, in exactly the shape asked for, and nothing else.",
        },
    ]


def with_instruction(messages: list[dict], instruction: str) -> list[dict]:
    """The messages with the JSON instruction as the last user turn."""
    return [*messages, {"role": "user", "content": instruction}]


_SOURCES = re.compile(r"BEGIN SOURCES\n.*?\nEND SOURCES", re.DOTALL)
LISTED_BELOW = "(the evidence is listed below, as facts F1, F2 ...)"


def without_evidence(messages: list[dict]) -> list[dict]:
    """The messages with each block of sources replaced by a pointer to the facts listed
    after them: a model choosing facts reads each piece of evidence once, as a fact, and the
    prompt keeps the size the crew's budget planned for."""
    out = []
    for message in messages:
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, str):
            message = {**message, "content": _SOURCES.sub(LISTED_BELOW, content)}
        out.append(message)
    return out


# -- reading the answer ----------------------------------------------------------------------


def _load(text: str) -> object:
    """The answer's JSON value (its shape is checked by the caller)."""
    raw = text.strip()
    fenced = re.match(r"^```(?:json)?\s*(.*?)\s*```$", raw, re.S)
    try:
        return json.loads(fenced.group(1) if fenced else raw)
    except ValueError as exc:
        raise OutputFormatError(f"the answer is not JSON ({exc})") from exc


def parse_write(text: str, task: CitedTask, prompt: str) -> Cited:
    """Render a write answer; raise OutputFormatError when it holds no usable sentence."""
    data = _load(text)
    sections = data.get("sections") if isinstance(data, dict) else None
    if not isinstance(sections, list) or not sections:
        raise OutputFormatError('the answer has no "sections" list')
    known = set(task.ids)
    facts = source_words(prompt, task.ids)
    for sid, words in task.vocab.items():
        facts[sid] = facts.get(sid, set()) | words
    out = Cited(markdown="", mode=WRITE)
    rendered: list[tuple[str, list[tuple[str, list[str]]]]] = []
    seen: set[str] = set()
    for section in sections[:MAX_SECTIONS]:
        if not isinstance(section, dict):
            continue
        kept: list[tuple[str, list[str]]] = []
        for sentence in _one_claim_each(section.get("sentences") or []):
            ids = [i for i in dict.fromkeys(sentence.get("ids") or []) if i in known]
            claim = clean_claim(str(sentence.get("text") or ""))
            key = " ".join(re.findall(r"\w+", claim.lower()))
            if not ids or not is_claim(claim, task.instructions) or key in seen:
                if claim:
                    out.dropped.append(claim)
                continue
            seen.add(key)
            placed = place_ids(claim, ids[:MAX_IDS_PER_SENTENCE], facts)
            out.moved += placed != ids[:MAX_IDS_PER_SENTENCE]
            kept.append((claim, placed))
        if kept:
            rendered.append((clean_heading(str(section.get("heading") or "")), kept))
    out.sentences = sum(len(k) for _h, k in rendered)
    if not out.sentences:
        why = f" ({len(out.dropped)} were not claims)" if out.dropped else ""
        raise OutputFormatError(f"the answer has no cited sentence{why}")
    out.markdown = render(rendered, task.style)
    return out


def _one_claim_each(sentences: list[Any]) -> list[dict[str, Any]]:
    """One entry per sentence: a model may write several sentences in one `text`, and each
    needs its own markers (else all but the last would read as uncited claims)."""
    out = []
    for entry in sentences:
        if not isinstance(entry, dict):
            continue
        for piece in _SENTENCE_SPLIT.split(str(entry.get("text") or "")):
            if piece.strip():
                out.append({"ids": entry.get("ids") or [], "text": piece})
    return out


def parse_select(text: str, task: CitedTask, facts: list[tuple[str, str, list[str]]]) -> Cited:
    """Render a select answer: the chosen facts, copied, each with the ids it came with."""
    data = _load(text)
    chosen = data.get("facts") if isinstance(data, dict) else None
    if not isinstance(chosen, list):
        raise OutputFormatError('the answer has no "facts" list')
    by_key = {key: (claim, ids) for key, claim, ids in facts}
    picked = [by_key[k] for k in dict.fromkeys(str(c) for c in chosen) if k in by_key]
    if not picked:
        raise OutputFormatError("the answer chose no fact that exists")
    return Cited(markdown=render([("", picked)], task.style), mode=SELECT, sentences=len(picked))


def clean_claim(text: str) -> str:
    """A sentence as the report shows it: no ids (code places them), no markup, one line."""
    text = _IDS_IN_TEXT.sub(" ", text)
    text = _MARKUP.sub("", text)
    text = " ".join(text.split()).strip(" -:;,")
    return re.sub(r"\s+([.,;:!?])", r"\1", text)


def clean_heading(text: str) -> str:
    return " ".join(_MARKUP.sub("", _IDS_IN_TEXT.sub(" ", text)).split())[:80]


def is_claim(sentence: str, instructions: str = "") -> bool:
    """False for what a trust line must not count: labels, filler, echoes of the prompt."""
    words = re.findall(r"[A-Za-z0-9][\w'.%-]*", sentence)
    if len(words) < MIN_CLAIM_WORDS or _LABEL.match(sentence) or _FILLER.match(sentence):
        return False
    own = set(terms(sentence))
    if not own:
        return False
    if instructions:
        echoed = own & set(terms(instructions))
        if len(echoed) >= 0.8 * len(own):
            return False
    return True


def evidence_ids(evidence: str) -> list[str]:
    """The ids of the sources an evidence text really carries: its source headers and the
    ids its facts end with, not an instruction's example ("like [S1]")."""
    found = [m.group(1) for m in _SOURCE_BLOCK.finditer(evidence)]
    for claim, cited in cited_lines(evidence):
        if not _EXAMPLE.search(claim):
            found += cited
    return list(dict.fromkeys(found))


def source_words(prompt: str, ids: list[str]) -> dict[str, set[str]]:
    """The content words each source id carries in the prompt (notes, earlier answers)."""
    known = set(ids)
    out: dict[str, set[str]] = {}
    for claim, cited in cited_lines(prompt):
        for sid in cited:
            if sid in known:
                out.setdefault(sid, set()).update(terms(claim))
    for match in _SOURCE_BLOCK.finditer(prompt):
        if match.group(1) in known:
            out.setdefault(match.group(1), set()).update(terms(match.group(2)))
    return out


def place_ids(claim: str, ids: list[str], facts: dict[str, set[str]]) -> list[str]:
    """Keep the ids whose sources hold about as much of the sentence as the best one does;
    move the sentence to the source it matches when none of its own ids does. Unknown
    wording (no source text in the prompt) keeps the ids."""
    words = set(terms(claim))
    if not words or not facts:
        return ids
    overlap = {sid: len(words & vocab) / len(words) for sid, vocab in facts.items()}
    best = max(overlap, key=lambda sid: overlap[sid])
    top = overlap[best]
    kept = [
        sid
        for sid in ids
        if sid not in facts or (overlap[sid] > 0 and overlap[sid] >= top - CLOSE_OVERLAP)
    ]
    if kept:
        return kept
    return [best] if top >= MOVE_OVERLAP else ids


def render(sections: list[tuple[str, list[tuple[str, list[str]]]]], style: str) -> str:
    """Markdown with code-placed markers: prose paragraphs or bullets, a heading per section
    when there is more than one."""
    parts: list[str] = []
    titled = len(sections) > 1
    for heading, sentences in sections:
        if titled and heading:
            parts.append(f"### {heading}")
        if style == "bullets":
            parts.append("\n".join(f"- {_with_ids(c, ids, end=False)}" for c, ids in sentences))
        else:
            parts.append(" ".join(_with_ids(c, ids) for c, ids in sentences))
    return "\n\n".join(parts)


def _with_ids(claim: str, ids: list[str], end: bool = True) -> str:
    """ "claim [S1][S2]." in prose; a bullet ends with its ids."""
    body = claim.rstrip()
    stop = body[-1] if body and body[-1] in ".!?" else "."
    body = body.rstrip(".!?").rstrip()
    return f"{body} {''.join(f'[{i}]' for i in ids)}{stop if end else ''}"
