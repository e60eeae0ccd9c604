"""The reader's preferences in a run, used with care.

- Before the notes: each new source is judged on its title, lead and outlet. Preferred sources
  are read first (so a run stopped by its budget has read what the reader wants), after the
  backlog carried over from earlier runs. With `preferences: {skip_below: X}` a source whose
  chance is below X is left out of the notes step, counted by reason, and listed in "Also in
  the news" with the rule that left it out.
- After the stories: stories are ranked by preference and topic together (preferred first,
  then as before: independent outlets, then the topic); a story that moved up says why. A
  story the reader would skip (chance below SKIP_AT) goes to "Also in the news" with one line
  and its rule; its notes stay in the report, in full behind a click, and `--all-items` keeps
  every story in place.

Nothing is ever dropped because of a prediction alone: if every story (or every new source)
would be a skip, none is, and the report says so. With no rule learned, nothing changes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .features import Features, Part, item_features, story_features
from .model import Judgement, Preferences

if TYPE_CHECKING:
    from ..select.pack import EvidencePack, Source
    from ..stories.group import Story

SKIP_AT = 0.2  # a story the reader wants with less than this chance goes to "Also in the news"
# Stories are ranked in steps of preference, each about one strong rule's weight; within a
# step, as before (independent outlets, then the topic). A weak rule alone moves nothing.
STEP = 1.0


@dataclass
class Aside:
    """A story or a source moved to "Also in the news", with the rule that moved it."""

    id: str  # the story's id; a source left out of the notes: its link's story id
    title: str
    rule: str  # "down: crypto, funding (4 ratings)"
    chance: float
    read: bool  # a model read it (a story), or it was left out of the notes (skip_below)
    url: str = ""
    links: list[str] = field(default_factory=list)
    outlets: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # [S#] ids of a story read
    facts: list[str] = field(default_factory=list)  # its notes, each with its [S#] id
    status: str = "new"
    disagree: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "rule": self.rule,
            "chance": round(self.chance, 3),
            "read": self.read,
            "url": self.url,
            "outlets": list(self.outlets),
            "sources": list(self.sources),
            "facts": list(self.facts),
            "status": self.status,
            "disagree": self.disagree,
        }


@dataclass
class Applied:
    """What the reader's preferences did in a run (kept in the run's state)."""

    prefs: Preferences | None = None
    problem: str = ""  # why the ratings could not be read: the run ranks as with none
    skipped: list[Aside] = field(default_factory=list)  # left out of the notes (skip_below)
    moved: list[Aside] = field(default_factory=list)  # stories moved to "Also in the news"
    raised: dict[str, str] = field(default_factory=dict)  # story id -> why it moved up
    kept: list[str] = field(default_factory=list)  # what was not moved, and why
    # Each source's place (by link) in the evidence as the topic ranked it, before preferences.
    topic_order: dict[str, int] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.prefs)

    @property
    def moved_ids(self) -> set[str]:
        return {a.id for a in self.moved}

    def to_dict(self) -> dict[str, object]:
        """The report JSON's "preferences": what was learned and what it did."""
        prefs = self.prefs
        return {
            "learned": prefs.summary() if prefs else "",
            "rated": prefs.rated if prefs else 0,
            "raised": dict(self.raised),
            "also_in_news": [a.to_dict() for a in [*self.moved, *self.skipped]],
            "kept": list(self.kept),
        }


def source_judgement(prefs: Preferences, source: Source) -> Judgement:
    return prefs.judge(item_features(source.title, source.text, [source.url, *source.links]))


def skip(judgement: Judgement, below: float) -> bool:
    """A predicted skip: a chance below `below`, with a rule on what the story is about
    pushing it down (an outlet or a kind of story learned alone never moves a story aside)."""
    return judgement.p < below and any(
        rule.about_content for rule in judgement.strongest(-1, limit=99)
    )


def tier(judgement: Judgement) -> int:
    """The story's step of preference: 0 for no rule or weak ones, +1 for about one strong
    rule up, -2 for two down, ..."""
    return int(judgement.score / STEP)


def prepare_sources(
    pack: EvidencePack,
    applied: Applied,
    *,
    skip_below: float | None,
    keep_all: bool,
    backlog: Collection[str] = (),
) -> tuple[EvidencePack, Applied]:
    """The pack with preferred sources first (after the `backlog`, the links of sources carried
    over from earlier runs) and, with `skip_below`, without the sources the reader would skip;
    the Applied with what was left out."""
    from ..stories.group import host, story_id
    from ..text.measure import estimate_tokens

    prefs = applied.prefs
    if not prefs or not pack.sources:
        return pack, applied
    judged = [(s, source_judgement(prefs, s)) for s in pack.sources]
    keep, skipped = [], []
    for source, judgement in judged:
        if skip_below is not None and not keep_all and skip(judgement, skip_below):
            skipped.append((source, judgement))
        else:
            keep.append((source, judgement))
    kept = list(applied.kept)
    if skipped and not keep:
        kept.append(
            f"every one of the {len(skipped)} new sources was a predicted skip, so all were read"
        )
        keep, skipped = judged, []
    keep.sort(key=lambda sj: (0 if sj[0].url in backlog else 1, -tier(sj[1])))
    sources = [replace(s, id=f"S{n}") for n, (s, _j) in enumerate(keep, 1)]
    dropped = list(pack.dropped)
    aside = []
    for source, judgement in skipped:
        rule = judgement.reason(-1)
        dropped.append((source.title, f"predicted skip ({rule})"))
        aside.append(
            Aside(
                id=story_id(source.url),
                title=source.title,
                rule=rule,
                chance=judgement.p,
                read=False,
                url=source.url,
                links=list(dict.fromkeys([source.url, *source.links])),
                outlets=[source.feed_title or host(source.url)],
            )
        )
    used = sum(estimate_tokens(s.render()) for s in sources)
    order = {s.url: n for n, s in enumerate(pack.sources)}
    pack = replace(pack, sources=sources, dropped=dropped, used_tokens=used)
    return pack, replace(applied, skipped=aside, kept=kept, topic_order=order)


def story_parts(story: Story, sources: dict[str, Source]) -> list[Part]:
    """A story's sources as its features are read from them."""
    parts = []
    for note in story.notes:
        source = sources.get(note.source_id)
        if source is not None:
            parts.append(Part(source.title, source.text, (source.url, *source.links)))
        else:
            parts.append(Part(note.title, "", (note.url,)))
    return parts


def judge_story(prefs: Preferences, story: Story, sources: dict[str, Source]) -> Judgement:
    return prefs.judge(rating_features(story, sources))


def rating_features(story: Story, sources: dict[str, Source]) -> Features:
    """What a story is about, as a rating of it keeps it."""
    return story_features(
        story.id,
        story_parts(story, sources),
        status=story.status,
        disagree=bool(story.disagreements),
    )


def arrange_stories(
    stories: Sequence[Story], sources: dict[str, Source], applied: Applied, *, keep_all: bool
) -> tuple[list[Story], Applied]:
    """Rank the stories by preference, then as before; move the predicted skips aside. The
    Applied says which moved up (and why) and which went aside (and by which rule)."""
    prefs = applied.prefs
    if not prefs:
        return list(stories), applied
    told = [s for s in stories if s.status != "unchanged"]
    rest = [s for s in stories if s.status == "unchanged"]
    judged = {s.id: judge_story(prefs, s, sources) for s in told}
    skips = [] if keep_all else [s for s in told if skip(judged[s.id], SKIP_AT)]
    kept = list(applied.kept)
    if skips and len(skips) == len(told):
        kept.append(f"every one of the {len(told)} stories was a predicted skip, so none was moved")
        skips = []
    moved = [
        Aside(
            id=story.id,
            title=story.title,
            rule=judged[story.id].reason(-1),
            chance=judged[story.id].p,
            read=True,
            url=story.notes[0].url if story.notes else "",
            links=list(story.links),
            outlets=list(story.outlets.values()),
            sources=story.source_ids,
            facts=story.lines(),
            status=story.status,
            disagree=bool(story.disagreements),
        )
        for story in skips
    ]
    gone = {s.id for s in skips}
    # The order without preferences: independent outlets, then the topic's order of sources.
    place = {s.id: n for n, s in enumerate(told)}
    first = {
        s.id: min((applied.topic_order.get(n.url, len(told)) for n in s.notes), default=0)
        for s in told
    }
    before = sorted(
        (s.id for s in told if s.id not in gone),
        key=lambda sid: (first[sid], place[sid]) if applied.topic_order else place[sid],
    )
    if applied.topic_order:
        outlets = {s.id: len(s.outlets) for s in told}
        before.sort(key=lambda sid: -outlets[sid])
    rank = {sid: n for n, sid in enumerate(before)}
    # Within a step of preference, the order without preferences.
    ranked = sorted(
        (s for s in told if s.id not in gone), key=lambda s: (-tier(judged[s.id]), rank[s.id])
    )
    raised = {
        story.id: judged[story.id].reason(+1)
        for place, story in enumerate(ranked)
        if place < before.index(story.id) and tier(judged[story.id]) > 0
    }
    ordered = [*ranked, *[s for s in told if s.id in gone], *rest]
    return ordered, replace(applied, moved=moved, raised=raised, kept=kept)
