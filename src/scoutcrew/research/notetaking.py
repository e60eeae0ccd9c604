"""The read step's note taking, behind one function so the shared note step can replace it.

`take_notes(sources, reader=..., store=...)` has the shape of the per-source note step: it
reads evidence Sources in batches that fit the reader's num_ctx and returns one note per
source (its facts, each tied to the source's [S#] id). The reader is anything with `models`,
`num_ctx`, `parallel` and `read(messages, max_tokens=...)`; see research.loop.LoopReader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import BudgetExhausted, ScoutcrewError
from ..evidence.select import PREAMBLE, Source
from ..text import estimate_tokens

NOTE_SYSTEM = (
    "You take notes for a research crew. From each source below, write the facts that matter: "
    "what happened, who, figures, names and dates, copied exactly as the source gives them. "
    "Write one fact per line and end every line with the id of its source, like [S3]. Use "
    "only the sources; write nothing else."
)
NOTE_CUE = "Write the facts of every source above, one per line, each ending with its source id."
OUTPUT_PER_SOURCE = 70
MIN_OUTPUT = 128
MAX_FACTS_PER_SOURCE = 6
_LINE_IDS = re.compile(r"\[(S\d+)\]", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


@dataclass
class Reading:
    """What a reader returns: the model's text and the model that wrote it."""

    text: str
    model: str


@dataclass
class SourceNote:
    """The facts one source left (without ids)."""

    source_id: str
    url: str
    title: str
    facts: list[str]
    model: str
    cached: bool = False

    def lines(self) -> list[str]:
        return [f"{fact} [{self.source_id}]" for fact in self.facts]


@dataclass
class Notes:
    notes: list[SourceNote] = field(default_factory=list)
    unread: list[tuple[Source, str]] = field(default_factory=list)
    calls: int = 0

    def __iter__(self) -> Iterator[SourceNote]:
        return iter(self.notes)


def note_messages(sources: Sequence[Source]) -> list[dict[str, str]]:
    body = "\n\n".join(s.render() for s in sources)
    user = f"{PREAMBLE}\nBEGIN SOURCES\n{body}\nEND SOURCES\n\n{NOTE_CUE}"
    return [{"role": "system", "content": NOTE_SYSTEM}, {"role": "user", "content": user}]


def parse_facts(text: str, ids: Sequence[str]) -> dict[str, list[str]]:
    """Split an answer into facts per source id (a line naming no id of the batch is dropped,
    unless the batch has one source)."""
    wanted = {i.upper(): i for i in ids}
    facts: dict[str, list[str]] = {i: [] for i in ids}
    for raw in text.splitlines():
        line = _BULLET.sub("", raw).strip()
        named = [wanted[n.upper()] for n in _LINE_IDS.findall(line) if n.upper() in wanted]
        if not named and len(ids) == 1:
            named = [ids[0]]
        fact = _LINE_IDS.sub("", line).strip().rstrip(" ;,:-")
        if len(fact) < 8:
            continue
        for sid in dict.fromkeys(named):
            if fact not in facts[sid] and len(facts[sid]) < MAX_FACTS_PER_SOURCE:
                facts[sid].append(fact)
    return facts


def _batches(sources: Sequence[Source], num_ctx: int) -> list[list[Source]]:
    fixed = estimate_tokens(NOTE_SYSTEM + PREAMBLE + NOTE_CUE) + 24
    out: list[list[Source]] = []
    current: list[Source] = []
    used = fixed
    for source in sources:
        size = estimate_tokens(source.render()) + 2
        answer = max(MIN_OUTPUT, OUTPUT_PER_SOURCE * (len(current) + 1))
        if current and used + size + answer > num_ctx:
            out.append(current)
            current, used = [], fixed
        current.append(source)
        used += size
    if current:
        out.append(current)
    return out


def take_notes(sources: Sequence[Source], *, reader: Any, store: Any = None) -> Notes:
    """Read `sources` in batches and return one note per source read."""
    result = Notes()
    stop = ""
    for batch in _batches(sources, int(reader.num_ctx)):
        if stop:
            result.unread += [(s, stop) for s in batch]
            continue
        answer = max(MIN_OUTPUT, OUTPUT_PER_SOURCE * len(batch))
        try:
            reading = reader.read(note_messages(batch), max_tokens=answer)
        except BudgetExhausted as exc:
            stop = f"over budget ({exc.limit})"
            result.unread += [(s, stop) for s in batch]
            continue
        except ScoutcrewError as exc:
            stop = "not read: an earlier batch failed"
            result.unread += [(s, f"model error: {str(exc)[:160]}") for s in batch]
            continue
        result.calls += 1
        facts = parse_facts(reading.text, [s.id for s in batch])
        result.notes += [
            SourceNote(s.id, s.url, s.title, facts.get(s.id, []), reading.model) for s in batch
        ]
    return result
