"""Helpers for tests and benchmarks: a project copied aside, scripted readers that answer
the notes and reduce prompts as a careful model would, and generated news items."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

# The files that make a scoutcrew project (everything a crew run reads).
PROJECT_FILES = ("pyproject.toml", "agents.yaml", "tasks.yaml", "crews", "examples")


def copy_project(source: Path, dest: Path) -> Path:
    """Copy a project's YAML, crews and sample feeds into `dest`, for a test or a benchmark."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def free_text_tasks(project: Path) -> None:
    """Ask every task of a project copy for free text (`output: {format: text}`): for tests of
    what the report does with whatever a model writes (links, markup, bad ids)."""
    import yaml

    path = project / "tasks.yaml"
    tasks = yaml.safe_load(path.read_text("utf-8"))
    for task in tasks.values():
        task.setdefault("output", {})["format"] = "text"
    path.write_text(yaml.safe_dump(tasks, sort_keys=False), "utf-8")


# -- scripted readers -------------------------------------------------------------------------

_SOURCE_BLOCK = re.compile(r"^\[(S\d+)\][^\n]*\n((?:>[^\n]*(?:\n|$))+)", re.MULTILINE)


def sources_in_prompt(text: str) -> list[tuple[str, str, str]]:
    """The (id, title, text) of every source rendered between BEGIN and END SOURCES."""
    start, end = text.find("BEGIN SOURCES"), text.rfind("END SOURCES")
    if start < 0 or end < start:
        return []
    out = []
    for match in _SOURCE_BLOCK.finditer(text[start:end]):
        lines = [line[1:].strip() for line in match.group(2).splitlines()]
        title, body = (lines[0], " ".join(lines[1:])) if lines else ("", "")
        out.append((match.group(1), title, body))
    return out


def first_sentence(text: str) -> str:
    """The text's first sentence as a note taker copies it: not cut after an initial or a
    title ("W. Mark Felt", "The Rev. Larry Kroon"), and at least a few words long."""
    text = text.strip()
    for end in _SENTENCE_END.finditer(text):
        head = text[: end.end()]
        if len(head.split()) >= 4 and not _ABBREVIATION.search(head):
            return head[:300]
    return text[:300]


_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_ABBREVIATION = re.compile(
    r"(?:^|[\s(])(?:[A-Z]|Mr|Mrs|Ms|Dr|Prof|Rev|Gov|Sen|Rep|Gen|Col|Lt|Sgt|St|Jr|Sr|No|Inc|Corp|Co)"
    r"\.$"
)


def scripted_notes(request: dict) -> str:
    """A FakeOllama reply for note prompts: each source's first sentence, with its id.

    Extractive like a careful note taker: figures and names are copied as they stand.
    """
    messages = request.get("messages") or []
    text = "\n".join(str(m.get("content") or "") for m in messages)
    lines = []
    for sid, title, body in sources_in_prompt(text):
        fact = first_sentence(body) or title
        lines.append(f"- {fact} [{sid}]")
    return "\n".join(lines) or "Final Answer: nothing to note."


def scripted_summary(request: dict) -> str:
    """A FakeOllama reply for reduce prompts: per story the first ten words of its first fact,
    with every id of the story, neighbouring stories merged into one line until the answer has
    no more lines than the prompt asks for."""
    messages = request.get("messages") or []
    text = "\n".join(str(m.get("content") or "") for m in messages)
    start, end = text.find("BEGIN NOTES"), text.rfind("END NOTES")
    body = text[start + len("BEGIN NOTES") : end] if 0 <= start < end else text
    groups: list[list[str]] = []
    for line in (ln.strip() for ln in body.splitlines()):
        if not line:
            continue
        if line.startswith("Story") or not groups or not groups[-1][0].startswith("Story"):
            groups.append([line])
        else:
            groups[-1].append(line)
    cited = [g for g in groups if any(re.search(r"\[S\d+\]", ln) for ln in g)]
    asked = re.search(r"at most (\d+) lines", text)
    most = int(asked.group(1)) if asked else max(1, len(cited) // 2)
    if len(cited) > most:  # merge neighbouring stories until the answer has `most` lines
        size = -(-len(cited) // most)
        cited = [sum(cited[i : i + size], []) for i in range(0, len(cited), size)]
    out = []
    for group in cited:
        ids = [sid for ln in group for sid in re.findall(r"\[(S\d+)\]", ln)]
        if len(group) > 1 and not group[0].startswith("Story"):
            # A line that merges many stories cites a few of them, as a writer would.
            ids = [found[0] for ln in group if (found := re.findall(r"\[(S\d+)\]", ln))][:3]
        first = next(ln for ln in group if re.search(r"\[S\d+\]", ln))
        words_ = re.sub(r"\[S\d+\]", "", first).split()[:10]
        out.append(f"{' '.join(words_)} {''.join(f'[{i}]' for i in dict.fromkeys(ids))}")
    return "\n".join(out)


def follow_format(text: str, schema: dict) -> str:
    """A scripted free-text answer in the shape of a JSON-schema `format`, as a grammar would
    force it: JSON stays as it is; for scoutcrew's cited writer (llm/cited.py) each sentence
    that ends with [S#] ids becomes a sentence with those ids (ids outside the enum dropped,
    sentences without any left out); for its choice of facts, the first keys in order."""
    import json

    if not text.strip():
        return text  # a model that answers nothing: an empty answer still
    try:
        json.loads(text)
        return text
    except ValueError:
        pass
    props = schema.get("properties") or {}
    if "facts" in props:
        keys = list(props["facts"]["items"].get("enum") or [])
        return json.dumps({"facts": keys[: props["facts"].get("maxItems", len(keys))]})
    if "sections" not in props:
        return text
    section = props["sections"]["items"]["properties"]["sentences"]["items"]["properties"]
    allowed = set(section["ids"]["items"].get("enum") or [])
    sentences = []
    for line in text.splitlines():
        for claim, cited in re.findall(r"([^\[\]]+?)\s*((?:\[S\d+\][\s,;]*)+)", line):
            ids = [i for i in dict.fromkeys(re.findall(r"S\d+", cited)) if i in allowed]
            claim = re.sub(r"^\s*(?:Final Answer:|[-*+]|\d+[.)]|#+)\s*", "", claim)
            claim = claim.strip(" .;,")
            if ids and len(claim) >= 3:
                sentences.append({"ids": ids[:3], "text": claim[:400]})
    sections = [{"heading": "", "sentences": sentences}] if sentences else []
    return json.dumps({"sections": sections})


NOTE_MARK = "You take notes"
REDUCE_MARK = "You merge research notes"
REPAIR_MARK = "failed a fact check"


def crew_requests(requests: list[dict]) -> list[dict]:
    """The chat requests of a crew's own tasks: not its notes, summaries or claim repairs."""

    def text(request: dict) -> str:
        return "\n".join(str(m.get("content") or "") for m in request["json"]["messages"])

    return [
        r
        for r in requests
        if not text(r).startswith((NOTE_MARK, REDUCE_MARK)) and REPAIR_MARK not in text(r)
    ]


def scripted_reader(crew_reply: Callable[[dict], str | dict]) -> Callable[[dict], str | dict]:
    """A FakeOllama reply that answers note and reduce prompts as above and hands every other
    request (the crew's tasks) to `crew_reply`."""

    def reply(request: dict) -> str | dict:
        messages = request.get("messages") or []
        system = str(messages[0].get("content") or "") if messages else ""
        if system.startswith(NOTE_MARK):
            return scripted_notes(request)
        if system.startswith(REDUCE_MARK):
            return scripted_summary(request)
        return crew_reply(request)

    return reply


# -- generated news ---------------------------------------------------------------------------

_VOCAB = (
    "model lab release weights benchmark laptop context window quantised agent tool server "
    "cache prompt latency memory accuracy dataset licence parameter runtime kernel compiler "
    "vision audio speech translation search retrieval index embedding vector summary report "
    "schedule cluster node driver firmware battery energy cooling chip board camera phone "
    "browser plugin editor notebook library framework protocol schema format parser token "
    "decoder encoder layer adapter expert router gateway queue worker thread socket stream "
    "archive mirror registry package install update patch security audit policy review "
    "student teacher hospital court council newsroom museum farm factory harbour airport"
).split()
_NAMES = (
    "Northwind Kestrel Heron Osprey Falcon Marten Lynx Otter Badger Wren Finch Plover Tern "
    "Alder Birch Cedar Larch Rowan Hazel Juniper Maple Aspen Willow Linden Spruce"
).split()


def news_item(feed: int, index: int) -> tuple[str, str, str]:
    """One generated news item (title, link, html), varied enough that no two are duplicates.

    Figures, names and dates differ per item, so extractive notes can be checked exactly.
    """
    import random

    rng = random.Random(feed * 100_003 + index)
    name = f"{rng.choice(_NAMES)}-{rng.randint(2, 99)}B"
    org = f"{rng.choice(_NAMES)} {rng.choice(['Labs', 'AI', 'Research', 'Systems'])}"
    topic = " ".join(rng.sample(_VOCAB, 3))
    title = f"{org} ships {name} with faster {topic}"
    figures = f"{rng.randint(5, 95)} percent"

    def filler() -> str:
        return " ".join(rng.choice(_VOCAB) for _ in range(rng.randint(10, 16))).capitalize() + "."

    sentences = [
        f"{org} released {name} on 2026-11-{rng.randint(1, 28):02d} and reports {figures} "
        f"better {rng.choice(_VOCAB)} {rng.choice(_VOCAB)} than its last release.",
        filler(),
        filler(),
        f"It costs {rng.randint(1, 400)} dollars to run for a month on "
        f"{rng.randint(1, 64)} {rng.choice(_VOCAB)} nodes.",
        filler(),
        filler(),
        filler(),
        filler(),
    ]
    link = f"https://feed{feed}.example/{index}/{name.lower()}"
    return title, link, "<p>" + " ".join(sentences) + "</p>"


def near_duplicate(item: tuple[str, str, str], feed: int) -> tuple[str, str, str]:
    """The same story as `item`, syndicated by another feed: another link, a little more text."""
    title, link, html = item
    return (
        title,
        link.replace("https://", f"https://mirror{feed}.").rstrip("/") + "-copy",
        (html.replace("</p>", f" Reported by feed {feed}.</p>")),
    )


_OPPOSITES = (
    ("adds", "deprecates"),
    ("opens", "closes"),
    ("raises", "cuts"),
    ("enables", "disables"),
    ("ships", "delays"),
    ("starts", "ends"),
)
_THINGS = ("CPU backend", "GPU kernel", "plugin API", "cloud tier", "mobile build", "free plan")
_PEOPLE = ("Ana Ruiz", "Ben Okafor", "Chen Wei", "Dana Levi", "Emil Sato", "Farah Khan")


def headline_twins(feed: int, index: int) -> list[tuple[str, str, str]]:
    """Two different stories whose headlines differ by one word ("Phi-5 adds a CPU backend",
    "Phi-5 deprecates a CPU backend"), each with its own body, people and figures."""
    import random

    rng = random.Random(feed * 7919 + index)
    product = f"{rng.choice(_NAMES)}-{rng.randint(2, 99)}"
    thing = rng.choice(_THINGS)
    out = []
    for side, verb in enumerate(rng.choice(_OPPOSITES)):
        person = rng.choice(_PEOPLE)
        users = rng.randint(100, 99_000)
        day = rng.randint(1, 28)
        title = f"{product} {verb} a {thing}"
        body = (
            f"{person} said on 2026-11-{day:02d} that {product} {verb} its {thing} for "
            f"{users} users. "
            + " ".join(
                " ".join(rng.choice(_VOCAB) for _ in range(rng.randint(9, 14))).capitalize() + "."
                for _ in range(4)
            )
        )
        link = f"https://twins{feed}.example/{index}/{side}/{product.lower()}"
        out.append((title, link, f"<p>{body}</p>"))
    return out
