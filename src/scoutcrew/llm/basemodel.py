"""Prompting a base model (a GGUF without a chat template) the way base models work.

A base model continues a document; it does not follow role messages. What it does well is
continue a pattern and copy. So a prompt that carries sources (the evidence pack's fenced
"[S3] date / > title / > text" blocks between BEGIN SOURCES and END SOURCES) is answered one
source at a time: a short completion document with a one-shot example, the source, and the cue
"Fact [S3]:". A grammar limits the continuation to one of the source's own lead sentences, so
the fact is copied, never invented, and the model only chooses which sentence states the news.
Code, not the model, attaches the source's id: every line ends with a valid [S#].

A prompt without sources but with cited lines (a later task that receives earlier tasks'
output) is answered extractively: the cited lines it received, each once, in the order the
evidence ranked their sources. No model call is needed for that, and none is made.

Anything else falls back to a plain completion document that ends with an answer cue.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

BEGIN, END = "BEGIN SOURCES", "END SOURCES"
_SOURCE_HEADER = re.compile(r"^\[(S\d+)\](?:[ \t].*)?$")
_CITED_LINE = re.compile(r"^\s*(?:[-*+]|\d+[.)])?\s*(.+?)\s*((?:\[S\d+\][\s,;]*)+)[.;]?\s*$")
_CITATION = re.compile(r"\[(S\d+)\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")

# The example the model continues from. It is the fixed start of every prompt, so the engine's
# prompt cache reads it once per run.
EXAMPLE = (
    "Source [S9]: Tiny runtime adds batching\n"
    "Volunteers added request batching to the Sparrow runtime. It now serves four users at "
    "once on one laptop, up from one.\n"
    "Fact [S9]: Volunteers added request batching to the Sparrow runtime.\n\n"
)
LEAD_SENTENCES = 4  # a source's fact is one of its first sentences: that is where news is
MIN_WORDS, MAX_WORDS = 5, 60
CHOICE_TOKENS = 8  # enough tokens for the grammar to tell the candidate sentences apart
MAX_SOURCES = 40
ANSWER_CUE = "\n\n---\n\nFinal answer, following the criteria above and citing the sources:\n\n- "


@dataclass
class PromptSource:
    """One source as it appears in a prompt: its id, title and quoted text."""

    id: str
    title: str
    text: str


@dataclass
class BaseAnswer:
    """What the base-model path produced, with the engine's summed counts."""

    content: str
    mode: str  # "facts" | "extract" | "continue"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_ms: float = 0.0
    predicted_ms: float = 0.0
    calls: int = 0
    finish_reason: str | None = None
    facts: list[tuple[str, str]] = field(default_factory=list)  # (source id, sentence)


# -- reading the prompt ----------------------------------------------------------------------


def prompt_text(messages: list[dict]) -> str:
    return "\n\n".join(
        str(m.get("content") or "") for m in messages if m.get("role") != "assistant"
    )


def parse_sources(text: str) -> list[PromptSource]:
    """Read the fenced sources ("[S3] date" then "> " lines) out of a prompt."""
    sources: list[PromptSource] = []
    for block in _fenced_blocks(text):
        current: tuple[str, list[str]] | None = None
        for line in block.splitlines():
            header = _SOURCE_HEADER.match(line.strip())
            if header:
                if current:
                    sources.append(_source(*current))
                current = (header.group(1), [])
            elif current is not None and line.startswith(">"):
                current[1].append(line[1:].strip())
        if current:
            sources.append(_source(*current))
    seen: set[str] = set()
    return [s for s in sources if not (s.id in seen or seen.add(s.id))]  # type: ignore[func-returns-value]


def _fenced_blocks(text: str) -> list[str]:
    blocks = []
    start = text.find(BEGIN)
    while start != -1:
        end = text.find(END, start)
        if end == -1:
            break
        blocks.append(text[start + len(BEGIN) : end])
        start = text.find(BEGIN, end)
    return blocks


def _source(sid: str, lines: list[str]) -> PromptSource:
    title = lines[0] if lines else ""
    body = " ".join(line for line in lines[1:] if line)
    return PromptSource(id=sid, title=title, text=body)


def cited_lines(text: str) -> list[tuple[str, list[str]]]:
    """Lines that end with [S#] citations, as (claim, ids), each claim once."""
    out: list[tuple[str, list[str]]] = []
    seen: set[str] = set()
    for line in text.splitlines():
        match = _CITED_LINE.match(line)
        if not match:
            continue
        claim = match.group(1).strip().lstrip("-*+ ").strip()
        claim = re.sub(r"^(?:Final Answer|Fact \[S\d+\]):\s*", "", claim).strip()
        claim = claim.lstrip("-*+ ").strip()
        ids = list(dict.fromkeys(_CITATION.findall(match.group(2))))
        key = " ".join(claim.lower().split())
        if len(claim.split()) < 3 or key in seen or _CITATION.search(claim):
            continue
        seen.add(key)
        out.append((claim, ids))
    return out


def candidate_sentences(source: PromptSource) -> list[str]:
    """The sentences a fact may be copied from: the lead of the text, else the title."""
    sentences = [s.strip() for s in _SENTENCE_END.split(source.text) if s.strip()]
    lead = [
        s
        for s in sentences[:LEAD_SENTENCES]
        if MIN_WORDS <= len(s.split()) <= MAX_WORDS and not s.endswith("…")
    ]
    return lead or ([source.title.strip()] if source.title.strip() else [])


# -- answering -------------------------------------------------------------------------------

Complete = Callable[[dict[str, Any]], dict[str, Any]]


def answer(
    messages: list[dict],
    complete: Complete,
    *,
    stop: list[str] | None = None,
    focus: str | None = None,
) -> BaseAnswer:
    """Answer a chat prompt with a base model, through `complete` (llama.cpp completions).

    `focus` (the crew's topic): a base model cannot tell what is on topic, so code does what
    the task asks of a reader: sources that share no word with the topic are left out, the
    rest ranked by how much of it they share. When none is on topic the answer says so.
    """
    text = prompt_text(messages)
    if OFF_TOPIC in text:  # an earlier task found nothing on topic: pass that on, no call
        line = next(x for x in text.splitlines() if OFF_TOPIC in x)
        return BaseAnswer(content=line.strip().lstrip("-*+ "), mode="extract", finish_reason="stop")
    sources = parse_sources(text)
    if sources:
        on_topic = on_focus(sources, focus, lambda s: f"{s.title} {s.text}")
        if not on_topic:
            return _nothing_on(focus or "")
        return facts(on_topic, complete)
    cited = cited_lines(text)
    if cited:
        return extract(cited, focus)
    return continue_document(messages, complete, stop=stop)


OFF_TOPIC = "is about the topic asked for"


def _nothing_on(focus: str) -> BaseAnswer:
    # No figure and no name in it: it is scoutcrew's finding, not a claim to cite.
    content = f"_No source read for this report {OFF_TOPIC} ({focus})._"
    return BaseAnswer(content=content, mode="extract", finish_reason="stop")


T = TypeVar("T")


def on_focus(items: list[T], focus: str | None, text_of: Callable[[T], str]) -> list[T]:
    """`items` ranked by how many words of `focus` they share (ties in their own order).

    When most items share a word with the focus the feeds are on topic, and an item that
    shares none is more likely missed by this word test than off topic: all are kept. When
    few do, the topic is narrower than the feeds: only those are kept (none: an empty list).
    Without a focus, all items in their own order.
    """
    from ..text.terms import terms

    wanted = set(terms(focus or ""))
    if not wanted:
        return list(items)
    shared = [len(wanted & set(terms(text_of(item)))) for item in items]
    order = sorted(range(len(items)), key=lambda i: (-shared[i], i))
    matching = sum(1 for n in shared if n)
    if matching * 2 >= len(items):
        return [items[i] for i in order]
    return [items[i] for i in order if shared[i]]


def fact_prompt(source: PromptSource, candidates: list[str]) -> str:
    body = " ".join(candidates)
    return f"{EXAMPLE}Source [{source.id}]: {source.title}\n{body}\nFact [{source.id}]:"


def choice_grammar(candidates: list[str]) -> str:
    """A llama.cpp grammar whose only sentences are the candidates (copied, never invented)."""
    return "root ::= " + " | ".join(json.dumps(" " + c, ensure_ascii=False) for c in candidates)


def facts(sources: list[PromptSource], complete: Complete) -> BaseAnswer:
    """One constrained completion per source: the sentence that states its fact, then its id."""
    result = BaseAnswer(content="", mode="facts")
    lines = []
    for source in sources[:MAX_SOURCES]:
        candidates = candidate_sentences(source)
        if not candidates:
            continue
        chosen = candidates[0]
        if len(candidates) > 1:
            reply = complete(
                {
                    "prompt": fact_prompt(source, candidates),
                    "grammar": choice_grammar(candidates),
                    "max_tokens": choice_tokens(candidates),
                    "temperature": 0.0,
                    "stop": ["\n"],
                }
            )
            _add_counts(result, reply)
            chosen = resolve_choice(_reply_text(reply), candidates)
        result.facts.append((source.id, chosen))
        lines.append(f"- {_as_claim(chosen)} [{source.id}]")
    result.content = "\n".join(lines)
    result.finish_reason = "stop"
    return result


def choice_tokens(candidates: list[str]) -> int:
    """Tokens enough to tell the candidates apart: about two per word of their shortest
    distinguishing start, at most CHOICE_TOKENS (code copies the rest of the sentence)."""
    split = [c.split() for c in candidates]
    longest = max(len(words) for words in split)
    for k in range(1, longest + 1):
        if len({tuple(words[:k]) for words in split}) == len(split):
            return min(CHOICE_TOKENS, 2 * k + 1)
    return CHOICE_TOKENS


def resolve_choice(generated: str, candidates: list[str]) -> str:
    """The candidate the model's (possibly cut) continuation begins; the first one if none."""
    start = " ".join(generated.split())
    if start:
        for candidate in candidates:
            if " ".join(candidate.split()).startswith(start):
                return candidate
    return candidates[0]


def _as_claim(sentence: str) -> str:
    return sentence.strip().rstrip(":;,").strip()


def extract(cited: list[tuple[str, list[str]]], focus: str | None = None) -> BaseAnswer:
    """The cited lines a later task received, each once, ordered by their first source's rank
    (and first by how much of the `focus` they share, when there is one)."""

    def rank(item: tuple[int, tuple[str, list[str]]]) -> tuple[int, int]:
        index, (_claim, ids) = item
        return (int(ids[0][1:]), index)

    ordered = [line for _i, line in sorted(enumerate(cited), key=rank)]
    # Lines were on topic when they were first written; here they are only ranked.
    ranked = on_focus(ordered, focus, lambda line: line[0])
    ordered = ranked + [line for line in ordered if line not in ranked]
    content = "\n".join(f"- {claim} {''.join(f'[{i}]' for i in ids)}" for claim, ids in ordered)
    return BaseAnswer(content=content, mode="extract", finish_reason="stop")


def continue_document(
    messages: list[dict], complete: Complete, *, stop: list[str] | None = None
) -> BaseAnswer:
    """No sources and no cited lines: lay the messages out as a document and continue it."""
    reply = complete(
        {
            "prompt": build_prompt(messages),
            "stop": list(stop or []) + ["\n---", "\n## "],
            "repeat_penalty": 1.15,  # base models loop without it
        }
    )
    result = BaseAnswer(content="", mode="continue")
    _add_counts(result, reply)
    text = _reply_text(reply).strip()
    result.content = f"- {text}" if text else ""  # the cue's bullet belongs to the answer
    result.finish_reason = ((reply.get("choices") or [{}])[0]).get("finish_reason")
    return result


def build_prompt(messages: list[dict]) -> str:
    """Lay chat messages out as one document that ends where the answer should begin."""
    parts = []
    for message in messages:
        content = str(message.get("content") or "").strip()
        if message.get("role") == "assistant":
            content = f"Earlier answer:\n{content}"
        # crewai ends its prompts with a ReAct cue that means nothing to a base model.
        content = content.removesuffix("Thought:").rstrip()
        if content:
            parts.append(content)
    return "\n\n".join(parts) + ANSWER_CUE


def _reply_text(reply: dict[str, Any]) -> str:
    return str(((reply.get("choices") or [{}])[0]).get("text") or "")


def _add_counts(result: BaseAnswer, reply: dict[str, Any]) -> None:
    usage = reply.get("usage") or {}
    timings = reply.get("timings") or {}
    result.calls += 1
    result.prompt_tokens += int(usage.get("prompt_tokens") or 0)
    result.completion_tokens += int(usage.get("completion_tokens") or 0)
    result.prompt_ms += float(timings.get("prompt_ms") or 0.0)
    result.predicted_ms += float(timings.get("predicted_ms") or 0.0)


NOT_RUN = (
    "_Not run: needs an instruction-following model. This section was to be written by "
    "{spec}, a base model that can only pass on the cited sentences it is given, which the "
    "report already shows. For this section, give the agent an instruction-following model "
    "in its llm: chain._"
)


def copies_not_run(
    sections: list[tuple[str, str]], written_by_base: dict[str, str]
) -> list[tuple[str, str]]:
    """Report sections (task, text) with the base model's copies said for what they are.

    A base model passes on the cited lines it received: only the report's first section may
    carry them. A later section it wrote (an added agent's critique of the digest, say) would
    repeat what the report already shows and count every claim twice; it says "not run"
    instead. `written_by_base`: task -> the base model's spec, for the tasks it answered.
    """
    out = []
    for index, (task, text) in enumerate(sections):
        spec = written_by_base.get(task)
        if spec is not None and index > 0:
            text = NOT_RUN.format(spec=spec)
        out.append((task, text))
    return out
