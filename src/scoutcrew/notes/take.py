"""Notes: the map step. Each source is read by a model about once and leaves a short note.

A note is the facts of one source that matter, each tied to the source's [S#] id, with figures,
names and dates copied exactly. Sources are read in batches that fill the reading model's
context window (num_ctx), several batches at once up to the reader's parallel slots.

Notes are kept in the store keyed by the hash of what the model read, the model that read it
and PROMPT_VERSION: a re-run, a resumed run or another crew reading the same source pays
nothing for it again, and a source whose text changed is read again.

This module never calls a model itself. The caller passes a `NoteReader`: anything with the
model chain it reads with, its num_ctx, its parallel slots and a `read(messages, max_tokens)`
method (scoutcrew.notes.reader.runtime_reader builds one on the LLM runtime, with its ledger,
chains, retries and budget). Use it like this:

    from scoutcrew.notes.take import take_notes
    from scoutcrew.notes.reader import runtime_reader

    reader = runtime_reader(runtime, ["ollama/qwen3:8b"])
    notes = take_notes(sources, reader=reader, store=store)
    for note in notes:
        print(note.source_id, note.lines())      # "fact text [S3]"
    notes.unread                                 # [(source, reason)], still new for next run

A reader may raise BudgetExhausted (nothing more is read; the rest stays unread), any
ScoutcrewError (that batch stays unread; no further batch starts) or an interrupt (it
propagates; every batch finished before it is already in the store). An answer with no fact
for any source of its batch counts as a failed batch too.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from ..errors import BudgetExhausted, RunInterrupted, ScoutcrewError
from ..select.pack import PREAMBLE, Source, excerpt
from ..text.measure import estimate_tokens
from ..text.terms import terms

if TYPE_CHECKING:
    from ..store.db import Store

PROMPT_VERSION = "notes-1"

NOTE_SYSTEM = (
    "You take notes for a research crew. From each source below, write the facts that matter: "
    "what happened, who, figures, names and dates, copied exactly as the source gives them. "
    "Write one fact per line and end every line with the id of its source, like [S3]. Use "
    "only the sources; write nothing else."
)
NOTE_CUE = (
    "Write the facts of every source above, one per line, each ending with its source id like [S3]."
)
REPAIR_CUE = "Your last answer gave no fact for these sources: write their facts now."
NO_FACT = "no fact in the model's note"
EARLIER_FAILED = "not read: an earlier batch failed"
# Output tokens kept free per source of a batch, and the fewest a batch keeps for its answer.
OUTPUT_PER_SOURCE = 70
MIN_OUTPUT = 128
MAX_FACTS_PER_SOURCE = 6
# Chat framing the server adds around the messages (role tags, template), per call.
FRAMING_TOKENS = 24

_TRAILING_IDS = re.compile(r"((?:\s*\[S\d+\])+)[\s.]*$", re.IGNORECASE)
_ANY_ID = re.compile(r"\[(S\d+)\]", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_LEAD_LABEL = re.compile(r"^(?:\*\*|__)?(?:fact|note|source|facts)\s*(?:\[S\d+\])?\s*:\s*", re.I)
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ][\d:]+Z?)?\b")
_HEADER_WORDS = {"source", "sources", "fact", "facts", "note", "notes", "id", "date", "title"}
# A fact shares at least this much of its words with the source it names, or it is moved to
# the source it shares MOVE_SHARE with; below both it matches no source and is left out.
MIN_SHARE = 0.4
MOVE_SHARE = 0.5
CLOSE_SHARE = 0.2
ECHO_SHARE = 0.5


@dataclass
class Reading:
    """What a reader returns: the model's text, the model that wrote it, and whether the
    output cap cut the answer."""

    text: str
    model: str
    cut: bool = False


class NoteReader(Protocol):
    """The model call the map step uses (see scoutcrew.notes.reader.runtime_reader)."""

    @property
    def models(self) -> Sequence[str]: ...  # the chain, first choice first

    @property
    def num_ctx(self) -> int: ...

    @property
    def parallel(self) -> int: ...

    def read(self, messages: list[dict[str, str]], *, max_tokens: int) -> Reading: ...


@dataclass
class SourceNote:
    """The note one source left: its facts (without ids) and how it was obtained."""

    source_id: str
    url: str
    title: str
    facts: list[str]
    content_hash: str
    model: str
    cached: bool = False
    source_tokens: int = 0  # the rendered source's size, what the model read
    date: str = ""  # the source's publication day (ISO), "" when undated

    def lines(self) -> list[str]:
        """The facts as the crew reads them, each ending with this run's [S#] id."""
        return [f"{fact} [{self.source_id}]" for fact in self.facts]


@dataclass
class Notes:
    """The outcome of a map step: notes in source order, and what could not be read."""

    notes: list[SourceNote] = field(default_factory=list)
    unread: list[tuple[Source, str]] = field(default_factory=list)
    calls: int = 0
    cached: int = 0
    batches: int = 0
    repairs: int = 0  # batches asked again for the sources their answer gave no fact

    def __iter__(self) -> Iterator[SourceNote]:
        return iter(self.notes)

    def __len__(self) -> int:
        return len(self.notes)

    def get(self, source_id: str) -> SourceNote | None:
        return next((n for n in self.notes if n.source_id == source_id), None)

    @property
    def read_ids(self) -> set[str]:
        return {n.source_id for n in self.notes}

    def unread_reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _source, reason in self.unread:
            counts[reason] = counts.get(reason, 0) + 1
        return counts


def note_key(source: Source) -> str:
    """The content hash a note is cached under: what the model reads, without the run's id."""
    date = source.published.date().isoformat() if source.published else ""
    digest = hashlib.sha256()
    for part in (source.title, date, source.excerpt):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def note_messages(sources: Sequence[Source], repair: bool = False) -> list[dict[str, str]]:
    """The chat messages that ask for the notes of one batch of sources (`repair`: asked
    again, after an answer that gave these sources no fact)."""
    body = "\n\n".join(s.render() for s in sources)
    cue = f"{REPAIR_CUE} {NOTE_CUE}" if repair else NOTE_CUE
    user = f"{PREAMBLE}\nBEGIN SOURCES\n{body}\nEND SOURCES\n\n{cue}"
    return [{"role": "system", "content": NOTE_SYSTEM}, {"role": "user", "content": user}]


def fixed_prompt_tokens() -> int:
    """Tokens a note prompt takes besides its sources."""
    return estimate_tokens(note_messages([])[0]["content"] + note_messages([])[1]["content"]) + (
        FRAMING_TOKENS
    )


def parse_facts(
    text: str, ids: Sequence[str], texts: dict[str, str] | None = None
) -> dict[str, list[str]]:
    """Split a model's answer into facts per source id.

    A fact names its source by a trailing [S#]; a line that is only an id and a date or a
    label ("[S1] 2026-11-21", "**S2**:") is a header that names the source of the lines under
    it, not a fact. Lines naming no id of the batch are kept only when the batch has one
    source or a header names it. With `texts` (each source's words), a fact is checked
    against them: one filed under a source it shares no word with goes to the source it
    matches, and one that matches no source of the batch (an echo of the prompt, an invented
    line) is left out.
    """
    wanted = {i.upper() for i in ids}
    facts: dict[str, list[str]] = {i: [] for i in ids}
    vocab = {sid.upper(): set(terms(body)) for sid, body in (texts or {}).items()}
    prompt_words = set(terms(f"{NOTE_SYSTEM} {NOTE_CUE} {PREAMBLE} {REPAIR_CUE}"))
    current: list[str] = list(ids)[:1] if len(ids) == 1 else []
    for raw in text.splitlines():
        line = _BULLET.sub("", raw).strip()
        if not line or line.upper() in {"BEGIN SOURCES", "END SOURCES"}:
            continue
        match = _TRAILING_IDS.search(line)
        if match:
            named = [i.upper() for i in _ANY_ID.findall(match.group(1))]
            fact = line[: match.start()].strip()
        else:
            named = [i.upper() for i in _ANY_ID.findall(line)]
            fact = _ANY_ID.sub("", line).strip()
        foreign = bool(named) and not any(i in wanted for i in named)
        named = [i for i in named if i in wanted]
        fact = _LEAD_LABEL.sub("", fact).strip().strip("*_`").rstrip(" ;,:-").strip()
        if _is_header(fact):
            if named:
                current = named[:1]  # the lines below belong to this source
            continue
        if foreign:  # it names a source outside this batch: only its words can place it
            named = [i.upper() for i in ids] if vocab else []
        named = named or current
        if not named:
            continue
        if vocab:
            named = _attribute(fact, named, vocab, prompt_words)
        for sid in named:
            key = next(i for i in ids if i.upper() == sid)
            if fact not in facts[key] and len(facts[key]) < MAX_FACTS_PER_SOURCE:
                facts[key].append(fact)
    return facts


def _is_header(fact: str) -> bool:
    """True for what is not a fact: empty, a date, a label, a few words."""
    words = [w for w in re.findall(r"[A-Za-z][\w'-]*|\d[\d.,%]*", _DATE.sub(" ", fact))]
    content = [w for w in words if w.lower() not in _HEADER_WORDS]
    return len(content) < 3


def _attribute(
    fact: str, named: list[str], vocab: dict[str, set[str]], prompt_words: set[str]
) -> list[str]:
    """The sources a fact really belongs to: its named ones if it shares words with them,
    else the one it matches best; none when it matches no source (echo, invention)."""
    words = set(terms(fact))
    if not words:
        return []
    share = {sid: len(words & v) / len(words) for sid, v in vocab.items()}
    echo = len(words & prompt_words) / len(words)
    if echo >= ECHO_SHARE and echo > max(share.values(), default=0.0):
        return []  # the prompt's own words, not the source's
    best = max(share, key=lambda sid: share[sid]) if share else ""
    top = share.get(best, 0.0)
    # A named source keeps the fact when it holds most of its words, about as many as any.
    kept = [s for s in named if share.get(s, 0) >= MIN_SHARE and share[s] >= top - CLOSE_SHARE]
    if kept:
        return kept
    if best and top >= MOVE_SHARE:
        return [best]
    return []


def plan_batches(
    sources: Sequence[Source], num_ctx: int, most: int | None = None
) -> tuple[list[list[Source]], list[Source]]:
    """Group sources into batches that fill `num_ctx` (at most `most` sources each), each
    with room for its answer.

    A source too long for a batch of its own is shortened to fit (it is one page read in one
    call). Returns (batches, shortened sources).
    """
    fixed = fixed_prompt_tokens()
    batches: list[list[Source]] = []
    shortened: list[Source] = []
    current: list[Source] = []
    used = fixed
    for source in sources:
        size = estimate_tokens(source.render()) + 2
        alone_room = num_ctx - fixed - max(MIN_OUTPUT, OUTPUT_PER_SOURCE)
        if size > alone_room:
            source = _shorten(source, alone_room)
            shortened.append(source)
            size = estimate_tokens(source.render()) + 2
        out = max(MIN_OUTPUT, OUTPUT_PER_SOURCE * (len(current) + 1))
        if current and (used + size + out > num_ctx or (most and len(current) >= most)):
            batches.append(current)
            current, used = [], fixed
        current.append(source)
        used += size
    if current:
        batches.append(current)
    return batches, shortened


def _shorten(source: Source, room: int) -> Source:
    tokens = max(16, room - estimate_tokens(f"[{source.id}] 0000-00-00\n> {source.title}") - 8)
    while tokens > 16:
        cut = replace(source, excerpt=excerpt(source.excerpt, tokens))
        if estimate_tokens(cut.render()) + 2 <= room:
            return cut
        tokens = int(tokens * 0.8)
    return replace(source, excerpt=excerpt(source.excerpt, 16))


def output_tokens_for(batch: Sequence[Source]) -> int:
    return max(MIN_OUTPUT, OUTPUT_PER_SOURCE * len(batch))


def take_notes(
    sources: Sequence[Source],
    *,
    reader: NoteReader,
    store: Store | None = None,
    prompt_version: str = PROMPT_VERSION,
) -> Notes:
    """Read `sources` in batches and return one note per source read.

    Notes already in `store` (same content, a model of the reader's chain, same prompt
    version) are reused without a call. Each batch's notes are saved as soon as it finishes,
    so an interrupted run keeps them. Sources that could not be read are in `Notes.unread`
    with the reason; they must stay new for the caller's next run.
    """
    result = Notes()
    keys = {s.id: note_key(s) for s in sources}
    cached = _cached(store, list(keys.values()), list(reader.models), prompt_version)
    todo: list[Source] = []
    found: dict[str, SourceNote] = {}
    for source in sources:
        hit = cached.get(keys[source.id])
        if hit is None:
            todo.append(source)
            continue
        model, facts = hit
        found[source.id] = _note(source, keys[source.id], model, facts, cached=True)
    result.cached = len(found)
    batches, _shortened = plan_batches(todo, reader.num_ctx, getattr(reader, "max_batch", None))
    result.batches = len(batches)
    lock = threading.Lock()
    models: dict[int, str] = {}
    one_by_one: list[bool] = []  # set once a batch's answer gave none of its sources a fact
    stop: list[str] = []  # the reason no further batch starts

    def ask(batch: list[Source], repair: bool) -> dict[str, list[str]] | str:
        """The facts of a batch, or why no further batch should start."""
        messages = note_messages(batch, repair=repair)
        try:
            reading = reader.read(messages, max_tokens=output_tokens_for(batch))
        except RunInterrupted:
            raise  # an interrupt stops the run; the batches finished so far are saved
        except BudgetExhausted as exc:
            return f"over budget ({exc.limit})"
        except ScoutcrewError as exc:
            return f"model error: {_clip(str(exc), 300)}"
        text = reading.text
        if getattr(reading, "cut", False):  # the cap cut the last line: it is not a fact
            text = text.rsplit("\n", 1)[0] if "\n" in text else ""
        facts = parse_facts(text, [s.id for s in batch], {s.id: _words_of(s) for s in batch})
        models[id(batch)] = reading.model
        with lock:
            result.calls += 1
        return facts

    def run_batch(batch: list[Source]) -> None:
        with lock:
            if stop:
                result.unread += [(s, stop[0]) for s in batch]
                return
        if one_by_one and len(batch) > 1:  # the model cannot note several sources at once
            for source in batch:
                run_batch([source])
            return
        got = ask(batch, repair=False)
        if isinstance(got, dict):
            missing = [s for s in batch if not got.get(s.id)]
            if len(batch) > 1 and len(missing) == len(batch):
                one_by_one.append(True)  # no fact for any: from now on, one source a call
            for source in missing:  # one repair: each source without a fact, on its own
                again = ask([source], repair=True)
                if isinstance(again, str):
                    break  # over budget or a model error: the rest stay unread
                got[source.id] = again.get(source.id) or []
                with lock:
                    result.repairs += 1
        if isinstance(got, str):
            with lock:
                stop.append(got if got.startswith("over budget") else EARLIER_FAILED)
                result.unread += [(s, got) for s in batch]
            return
        # A source whose note has no fact was not read: it stays new and is not cached.
        model = models.get(id(batch), reader.models[0])
        notes = [
            _note(s, keys[s.id], model, got[s.id], cached=False) for s in batch if got.get(s.id)
        ]
        _save(store, notes, prompt_version)
        with lock:
            result.unread += [(s, NO_FACT) for s in batch if not got.get(s.id)]
            for note in notes:
                found[note.source_id] = note

    _run_all(batches, run_batch, max(1, int(reader.parallel or 1)))
    order = {s.id: i for i, s in enumerate(sources)}
    result.notes = sorted(found.values(), key=lambda n: order[n.source_id])
    result.unread.sort(key=lambda pair: order[pair[0].id])
    return result


def cached_notes(
    store: Store | None,
    sources: Sequence[Source],
    models: Sequence[str],
    version: str = PROMPT_VERSION,
) -> set[str]:
    """The ids of `sources` whose note is already in the store (no call needed)."""
    keys = {s.id: note_key(s) for s in sources}
    found = _cached(store, list(keys.values()), list(models), version)
    return {sid for sid, key in keys.items() if key in found}


def _run_all(
    batches: list[list[Source]], run: Callable[[list[Source]], None], parallel: int
) -> None:
    """Run batches `parallel` at a time; an interrupt stops new ones and propagates."""
    if parallel == 1 or len(batches) <= 1:
        for batch in batches:
            run(batch)
        return
    pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="notes")
    pending: set[Future[None]] = set()
    queue = list(batches)
    try:
        while queue or pending:
            while queue and len(pending) < parallel:
                pending.add(pool.submit(run, queue.pop(0)))
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()  # re-raise an interrupt or a bug in the worker
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _note(source: Source, key: str, model: str, facts: list[str], *, cached: bool) -> SourceNote:
    return SourceNote(
        source_id=source.id,
        url=source.url,
        title=source.title,
        facts=list(facts),
        content_hash=key,
        model=model,
        cached=cached,
        source_tokens=estimate_tokens(source.render()),
        date=source.published.date().isoformat() if source.published else "",
    )


def _words_of(source: Source) -> str:
    return f"{source.title} {source.excerpt}"


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- the store ----------------------------------------------------------------------------------


def _cached(
    store: Store | None, keys: list[str], models: list[str], version: str
) -> dict[str, tuple[str, list[str]]]:
    """Cached facts by content hash, from the first model of the chain that has them."""
    if store is None or not keys:
        return {}
    rank = {m: i for i, m in enumerate(models)}
    out: dict[str, tuple[int, str, list[str]]] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = store.execute(
            "SELECT content_hash, model, facts FROM notes WHERE prompt_version = ? AND "
            f"content_hash IN ({', '.join('?' * len(chunk))})",
            [version, *chunk],
        )
        for row in rows:
            position = rank.get(row["model"])
            if position is None:
                continue
            best = out.get(row["content_hash"])
            if best is None or position < best[0]:
                out[row["content_hash"]] = (position, row["model"], json.loads(row["facts"]))
    return {key: (model, facts) for key, (_p, model, facts) in out.items()}


def _save(store: Store | None, notes: list[SourceNote], version: str) -> None:
    if store is None or not notes:
        return
    from ..store.db import utcnow

    now = utcnow()
    with store.transaction() as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO notes (content_hash, model, prompt_version, url, facts,"
            " created) VALUES (?, ?, ?, ?, ?, ?)",
            [(n.content_hash, n.model, version, n.url, json.dumps(n.facts), now) for n in notes],
        )
