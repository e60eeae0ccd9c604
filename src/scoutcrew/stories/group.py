"""Stories: notes grouped by the event they tell, with an identity that lasts across runs.

Grouping is done in code (events.py): each note with its source's title and text becomes a
profile of rare words and names (similar.py), and profiles are clustered so the same event told
by different outlets in different words is one story, while two events of one kind (two
earthquakes, two launches) stay two. Pairs code cannot settle may go to an optional `decide`
callable (a model asked yes or no), and only those.

A story counts its independent outlets (one per web host among all its sources' links); stories
are ranked by that count, then by their best source's place in the evidence (which is ranked
against the crew's topic). Where its sources give different figures or opposite statements, a
story carries `disagreements` (filled by verify.disagree, which reads the notes).

Across runs, a story keeps its id: a new note joins the story that already holds one of its
links, or the reported story whose items tell the same event (the same clustering, with the
earlier story's items as a group formed already). A story is then "new" (never reported) or
"updated" (reported before, with facts it did not have then: `changed`). A story whose every
fact was reported already is "unchanged" and stays out of the crew's evidence.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..notes.take import SourceNote
from ..select.pack import Source
from ..text.measure import words
from .events import MAX_DECISIONS, event_groups
from .similar import Profile, Row, item_profile, item_profiles

if TYPE_CHECKING:
    from ..store.db import Store

KNOWN_STORIES_SCANNED = 300  # the crew's most recent stories a new item may join
KNOWN_ITEMS_READ = 4  # items of a known story whose text is read again to profile it
BEST_SOURCES = 3

Decide = Callable[[SourceNote, SourceNote], bool]


@dataclass
class Story:
    """One event, told by one or more sources."""

    id: str
    title: str
    notes: list[SourceNote]
    links: list[str] = field(default_factory=list)
    status: str = "new"  # "new" | "updated" | "unchanged" | "again" (told again on request)
    changed: list[str] = field(default_factory=list)  # new fact lines, for an updated story
    last_reported: str | None = None
    previous_facts: list[str] = field(default_factory=list)
    # Independent outlets (one per web host) and how each is called, best known name first.
    outlets: dict[str, str] = field(default_factory=dict)
    # "sources disagree" lines, each naming the sources and what each says (verify.disagree).
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list, repr=False)  # what grouping read

    @property
    def source_ids(self) -> list[str]:
        return [n.source_id for n in self.notes]

    def lines(self) -> list[str]:
        return [line for note in self.notes for line in note.lines()]

    def facts(self) -> list[str]:
        return [fact for note in self.notes for fact in note.facts]

    def best_sources(self, limit: int = BEST_SOURCES) -> list[str]:
        """The ids of the sources to read first: the most facts, then evidence order."""
        ranked = sorted(self.notes, key=lambda n: -len(n.facts))
        return [n.source_id for n in ranked[:limit]]

    def to_dict(self) -> dict[str, Any]:
        outlets = list(self.outlets.values())
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "sources": self.source_ids,
            "best": self.best_sources(),
            "outlets": outlets,
            "also_reported": max(0, len(outlets) - 1),
            "disagreements": [dict(d) for d in self.disagreements],
            "changed": list(self.changed),
            "last_reported": self.last_reported,
        }


def story_id(url: str) -> str:
    return "st-" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]


def host(url: str) -> str:
    """The outlet a link belongs to: its host, without "www."."""
    m = re.match(r"^[a-z][a-z0-9+.-]*://([^/?#@]+@)?([^/?#:]+)", url.strip(), re.IGNORECASE)
    name = m.group(2).lower() if m else url
    return name[4:] if name.startswith("www.") else name


def note_profile(note: SourceNote, source: Source | None) -> Profile:
    """What the grouping reads of one source: its title, the lead of its text, its facts."""
    return item_profile(*_row(note, source))


def _row(note: SourceNote, source: Source | None) -> Row:
    if source is None:
        return note.title, "", note.facts
    return source.title or note.title, source.text or source.excerpt, note.facts


def group_stories(
    notes: Sequence[SourceNote],
    sources: dict[str, Source] | None = None,
    *,
    decide: Decide | None = None,
    max_decisions: int = MAX_DECISIONS,
) -> list[Story]:
    """Group notes into stories, ranked by independent outlets, then by evidence order."""
    sources = sources or {}
    profiles = item_profiles([_row(n, sources.get(n.source_id)) for n in notes])

    def ask(i: int, j: int) -> bool:
        assert decide is not None
        return decide(notes[min(i, j)], notes[max(i, j)])

    groups = event_groups(
        profiles, decide=ask if decide is not None else None, max_decisions=max_decisions
    )
    stories = [
        _story([notes[i] for i in group], [profiles[i] for i in group], sources) for group in groups
    ]
    return rank_stories(stories)


def _story(members: list[SourceNote], profiles: list[Profile], sources: dict[str, Source]) -> Story:
    story = Story(
        id=story_id(members[0].url), title=members[0].title, notes=members, profiles=profiles
    )
    for note in members:
        source = sources.get(note.source_id)
        _add_links(story, [note.url, *(source.links if source else [])])
        if source is not None and source.feed_title:
            story.outlets[host(note.url)] = source.feed_title
    return story


def _add_links(story: Story, links: Iterable[str]) -> None:
    for link in links:
        if link not in story.links:
            story.links.append(link)
        story.outlets.setdefault(host(link), host(link))


def rank_stories(stories: list[Story]) -> list[Story]:
    """Most independent outlets first; then the order of their first source in the evidence."""
    order = {id(s): i for i, s in enumerate(stories)}
    return sorted(stories, key=lambda s: (-len(s.outlets), order[id(s)]))


# -- identity across runs -----------------------------------------------------------------------


def _norm(fact: str) -> str:
    return " ".join(words(fact))


def match_known(crew: str, stories: list[Story], store: Store) -> list[Story]:
    """Give each story the id of the story this crew reported before, if any, and say what
    changed since; stories that land on the same known story are merged.

    A story matches a known one that holds one of its links, or else one whose items tell the
    same event (clustered as in group_stories, the known story's items a group already)."""
    if store is None:
        return stories
    known = {
        row["id"]: row
        for row in store.execute(
            "SELECT * FROM stories WHERE crew = ? ORDER BY last_reported DESC LIMIT ?",
            [crew, KNOWN_STORIES_SCANNED],
        )
    }
    by_url = _known_urls(store, crew, [link for s in stories for link in s.links])
    matches: dict[int, str] = {}
    for n, story in enumerate(stories):
        match = next((by_url[link] for link in story.links if link in by_url), None)
        if match is not None and match in known:
            matches[n] = match
    rest = [n for n in range(len(stories)) if n not in matches]
    if rest and known:
        matches.update(_same_events(crew, [stories[n] for n in rest], rest, known, store))
    merged: dict[str, Story] = {}
    out: list[Story] = []
    for n, story in enumerate(stories):
        if n in matches:
            row = known[matches[n]]
            story.id, story.title = row["id"], row["title"]
            story.last_reported = row["last_reported"]
            story.previous_facts = json.loads(row["facts"])
        if story.id in merged:
            into = merged[story.id]
            into.notes += story.notes
            into.profiles += story.profiles
            _add_links(into, story.links)
            for key, name in story.outlets.items():
                into.outlets.setdefault(key, name)
            continue
        merged[story.id] = story
        out.append(story)
    for story in out:
        _classify(story)
    return rank_stories(out)


def _same_events(
    crew: str, stories: list[Story], positions: list[int], known: dict[str, Any], store: Store
) -> dict[int, str]:
    """{position of a story: the known story it tells the same event as}."""
    profiles: list[Profile] = []
    labels: list[str | None] = []
    start: list[list[int]] = []
    owner: dict[int, int] = {}  # first index of a new story's group -> its position
    for story, position in zip(stories, positions, strict=True):
        if not story.profiles:
            continue
        first = len(profiles)
        profiles += story.profiles
        labels += [None] * len(story.profiles)
        start.append(list(range(first, len(profiles))))
        owner[first] = position
    if not profiles:
        return {}
    for sid, texts in _known_texts(crew, known, store).items():
        first = len(profiles)
        profiles += [item_profile(title, text, facts) for title, text, facts in texts]
        labels += [sid] * len(texts)
        start.append(list(range(first, len(profiles))))
    found: dict[int, str] = {}
    for group in event_groups(profiles, start=start, labels=labels):
        label = next((labels[i] for i in group if labels[i] is not None), None)
        if label is None:
            continue
        found.update({owner[i]: label for i in group if i in owner})
    return found


def _known_texts(
    crew: str, known: dict[str, Any], store: Store
) -> dict[str, list[tuple[str, str, list[str]]]]:
    """What each known story's items said: (title, text, facts) per item read again, or the
    story's own title and facts when its items are no longer in the store."""
    rows = store.execute(
        "SELECT si.story_id AS story, i.title AS title, i.text AS text FROM story_items si "
        "JOIN items i ON i.url = si.url WHERE si.crew = ? ORDER BY si.story_id",
        [crew],
    )
    texts: dict[str, list[tuple[str, str, list[str]]]] = {}
    for row in rows:
        if row["story"] in known and len(texts.setdefault(row["story"], [])) < KNOWN_ITEMS_READ:
            texts[row["story"]].append((row["title"], row["text"], []))
    for sid, row in known.items():
        facts = json.loads(row["facts"])
        if sid not in texts:
            texts[sid] = [(row["title"], "", facts)]
    return texts


def _classify(story: Story) -> None:
    if story.last_reported is None:
        story.status, story.changed = "new", []
        return
    before = {_norm(f) for f in story.previous_facts}
    changed = []
    for note in story.notes:
        for fact, line in zip(note.facts, note.lines(), strict=True):
            if _norm(fact) not in before:
                changed.append(line)
    story.changed = changed
    story.status = "updated" if changed else "unchanged"


def _known_urls(store: Store, crew: str, urls: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    unique = list(dict.fromkeys(urls))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        rows = store.execute(
            "SELECT url, story_id FROM story_items WHERE crew = ? AND url IN "
            f"({', '.join('?' * len(chunk))})",
            [crew, *chunk],
        )
        out.update({row["url"]: row["story_id"] for row in rows})
    return out


def save_stories(crew: str, stories: Iterable[Story], store: Store) -> None:
    """Remember the stories a report contains: their links and every fact reported so far."""
    from ..store.db import utcnow

    now = utcnow()
    with store.transaction() as conn:
        for story in stories:
            facts = list(story.previous_facts)
            seen = {_norm(f) for f in facts}
            for fact in story.facts():
                if _norm(fact) not in seen:
                    seen.add(_norm(fact))
                    facts.append(fact)
            conn.execute(
                "INSERT INTO stories (crew, id, title, first_reported, last_reported, facts)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(crew, id) DO UPDATE SET"
                " last_reported = excluded.last_reported, facts = excluded.facts",
                (crew, story.id, story.title, now, now, json.dumps(facts[-200:])),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO story_items (crew, story_id, url) VALUES (?, ?, ?)",
                [(crew, story.id, link) for link in story.links],
            )
