"""Sources disagree: where two sources of one story give different values for the same quantity
(a death toll, a price, an age, a time) or make opposite statements, the story says so.

Read in code, with the claim check's own reading of a text (facts.analyse): figures with their
units, names and negation. Two sentences of two sources are compared when they are about the
same thing (they share content words and names). Then:

- figure: a figure in each that measures one quantity, with values that cannot both be true,
  where neither source gives the other's value anywhere. One quantity: next to the same words
  and counting the same noun ("50 firefighters", "70 firefighters"; "23 Somalian pirates", "25
  pirates"; "one person" and "two men" count people where nothing else in the sentence
  does; not "killed 10" and "injured 10"; counts.py), with no other name acting on it
  ("McDermott scored 23 points", "Echenique scored 11 points"; a name a verb or a preposition
  takes does not act: "checked into the Betty Ford Center"); an age belongs to one person (a
  name set off by commas, the name or noun after "16-year-old"; ages.py), and a sentence's
  only age or only duration ("10 minutes later", "20 minutes earlier") is compared with the
  other's when the two tell the same; a part ("the final two games") is not the whole ("four
  games", nor "five points during a run" the game's 23). Two sentences that both give an
  amount of money share that much. Both true: a bound the other value keeps ("at least
  three", "10"), "about" a near value, or the other value given elsewhere for the same thing
  ("five merchant vessels" gives no "five boats"). Not quantities: years (they date other
  things), days of a month, ranks, versions, scores ("65 - 53"), values ten times apart (a
  game's points and a career's).
- when: a time of day (3:33 a.m. against 4:15 a.m.; "shortly after 3:30" is about 3:33), or a
  weekday next to the same time or words in both (not the day a source spoke: "police said
  Saturday"; not two days in a row said "late" or "early").
- polarity (opposite.py): a predicate one asserts and the other denies (in its words or
  another verb for the same act: "captured" / "failed to arrest"), or two sides of one
  opposition ("denied" / "admitted"), about the same thing and the same actor.

`mark_disagreements(stories, sources)` fills each story's `disagreements` with lines the
writer, the report and the Atom entry show: "sources disagree: S3 says 12, S7 says 15 (about:
killed people)". Measured in benchmarks/bench_stories.py, on labelled pairs from ECB+ and on
the lines whole ECB+ stories show (labelled in benchmarks/data/stories/story_lines.jsonl).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..text.terms import STOPWORDS, stem
from .ages import age_owner, described, is_age, same_name
from .counts import (
    DURATIONS,
    MEASURES,
    compound,
    counted,
    is_money,
    names_a_thing,
    part_of,
    people_count,
    segment,
    word_kinds,
)
from .facts import SENTENCE_BREAK, Analysis, Figure, analyse, figures_match, make_figure
from .opposite import actor, opposite_statement
from .quantities import (
    CLOSE_TERMS,
    MIN_CONTEXT,
    MIN_SHARED,
    QUANTITY_WORDS,
    Disagreement,
    beside,
    spaced,
    terms_of,
)
from .when import score_disagreements, when_disagreements

if TYPE_CHECKING:
    from ..notes.take import SourceNote
    from ..select.pack import Source
    from ..stories.group import Story

FAR = 10  # two values this many times apart are two quantities, not two reports of one
VERY_CLOSE_TERMS = 5  # ...for an only age, whose owner only one of them names
CONTEXT_WORDS = 5  # content words on each side of a figure, within its clause
SPAN = 10  # tokens on each side a figure's context reaches, at most
MAX_PAIRS = 30  # source pairs compared per story
_CLAUSE_BREAKS = frozenset(",;:.()!?") | {"and", "but", "while", "which"}


def pair_disagreements(a: str | Sequence[str], b: str | Sequence[str]) -> list[Disagreement]:
    """Where text `a` and text `b` (each a string or a list of sentences) disagree."""
    sents_a, sents_b = _sentences(a), _sentences(b)
    found = (
        _figure_disagreements(sents_a, sents_b)
        or score_disagreements(sents_a, sents_b)
        or when_disagreements(sents_a, sents_b)
    )
    if not found:
        found = _polarity_disagreements(sents_a, sents_b)
    return found


def _sentences(text: str | Sequence[str]) -> list[str]:
    parts = [text] if isinstance(text, str) else list(text)
    return [s.strip() for p in parts for s in SENTENCE_BREAK.split(p) if s.strip()]


# -- figures ---------------------------------------------------------------------------------


def _figure_disagreements(sents_a: list[str], sents_b: list[str]) -> list[Disagreement]:
    analyses_a = [analyse(spaced(s)) for s in sents_a]
    analyses_b = [analyse(spaced(s)) for s in sents_b]
    all_a = [(x, f) for x in analyses_a for f in _figures(x)]
    all_b = [(y, f) for y in analyses_b for f in _figures(y)]
    out: list[Disagreement] = []
    for x in analyses_a:
        for y in analyses_b:
            shared = len(terms_of(x) & terms_of(y)) + (_has_money(x) and _has_money(y))
            if shared < MIN_SHARED:
                continue
            for f in _figures(x):
                found = _differs(f, x, y, all_a, all_b, shared >= CLOSE_TERMS)
                if found is not None and found not in out:
                    out.append(found)
            if not out and _very_close(x, y):
                found = _changed(x, y, all_a, all_b)
                if found is not None:
                    out.append(found)
    return out


Mentions = list[tuple[Analysis, Figure]]


def _changed(x: Analysis, y: Analysis, all_a: Mentions, all_b: Mentions) -> Disagreement | None:
    """Two sentences that tell the same, where one figure of each has no equal in the other,
    of one kind and counting one thing: one value told two ways ("killed 10 people" / "killed
    12 people", "a 5.6 magnitude" / "a 6.6 magnitude", "dies at 77" / "dies at 92")."""
    left = [f for f in _figures(x) if not any(_equal(f, g) for g in _figures(y))]
    right = [g for g in _figures(y) if not any(_equal(g, f) for f in _figures(x))]
    if len(left) != 1 or len(right) != 1:
        return None
    f, g = left[0], right[0]
    if _kind(f, x) != _kind(g, y) or is_age(x, f.pos) != is_age(y, g.pos):
        return None
    if segment(x, f.pos) != segment(y, g.pos):
        return None  # "six points during a run" is a part of "31 points"
    same = _counts(x, f) & _counts(y, g) if compound(x, f) == compound(y, g) else set()
    if not same and not (f.unit and f.unit == g.unit):
        return None  # it must count or measure one named thing: "12 people", "5.9 magnitude"
    if not (beside(x, f.pos) & beside(y, g.pos)) - same - counted(x, f) - counted(y, g):
        return None  # ...and be said of it in one way: "killed 10 people", "killed 12 people"
    if actor(x, f.pos) != actor(y, g.pos):
        return None
    if _within(x, f, y, g) or max(f.value, g.value) > FAR * max(min(f.value, g.value), 1e-9):
        return None
    if _given(y, g, all_a) or _given(x, f, all_b):
        return None
    return Disagreement("figure", _phrase(x, f.pos), _phrase(y, g.pos), _about(x, f.pos, set()))


def _given(a: Analysis, f: Figure, mentions: Mentions, strict: bool = False) -> bool:
    """Whether the other source gives f's value too, anywhere (a list, a range, a
    correction), counting the same thing or nothing named: "five merchant vessels" does not
    give the "five boats" another sentence counts. strict: a figure of f's kind that f
    matches, not a bound that keeps f ("at least three" gives no "10")."""
    mine = counted(a, f)
    for b, h in mentions:
        if strict and (_kind(h) != _kind(f) or not figures_match(f, h)):
            continue
        if not strict and not _equal(f, h):
            continue
        theirs = counted(b, h)
        if not (mine and theirs) or mine & theirs or _counts(a, f) & _counts(b, h):
            return True
    return False


def _counts(a: Analysis, f: Figure) -> set[str]:
    """What a figure counts, with people of any kind one thing where it is the sentence's only
    count of people ("one person", "two men")."""
    return people_count(a, f, _figures(a))


def _equal(f: Figure, g: Figure) -> bool:
    return figures_match(f, g) or figures_match(g, f)


def _differs(
    f: Figure, x: Analysis, y: Analysis, all_a: Mentions, all_b: Mentions, close: bool
) -> Disagreement | None:
    """The figure of `y` that gives another value for the quantity `f` measures in `x`."""
    ctx = _context(x, f.pos)
    kind = _kind(f, x)
    same, other = False, None
    for g in _figures(y):
        if kind != _kind(g, y):
            continue
        shared = ctx & _context(y, g.pos)
        if _counts(x, f) == _counts(y, g) == {"#people"} and not shared & counted(x, f):
            shared.add("#people")  # "killing one person", "killing two men"
        if not _same_quantity(x, f, y, g, shared, close):
            continue
        if figures_match(f, g) or figures_match(g, f) or _within(x, f, y, g):
            same = True
        elif max(f.value, g.value) > FAR * max(min(f.value, g.value), 1e-9):
            continue  # "23 points" in a game, "2,117 points" in a career: two quantities
        elif other is None:
            other = (g, shared)
    if same or other is None:
        return None
    g, shared = other
    # Neither source gives the other's value anywhere (a list, a range, a correction).
    if _given(y, g, all_a, strict=True) or _given(x, f, all_b, strict=True):
        return None
    if is_age(x, f.pos):  # "16", not "16 Kimani"
        return Disagreement("figure", f.text, g.text, _about(x, f.pos, shared))
    return Disagreement("figure", _phrase(x, f.pos), _phrase(y, g.pos), _about(x, f.pos, shared))


def _same_quantity(
    x: Analysis, f: Figure, y: Analysis, g: Figure, shared: set[str], close: bool
) -> bool:
    """Whether figure f of x and figure g of y measure one quantity.

    Next to the same words and counting the same thing; or, in two sentences that tell the
    same thing, the only age in each (of one person, unless each names another), or the only
    figure of one unit of time or measure in each ("10 minutes later", "20 minutes earlier";
    not "a 90-day stint" and "a 30-day program", which name two things)."""
    if is_age(x, f.pos):
        return _same_person(x, f.pos, y, g.pos)
    first, second = actor(x, f.pos), actor(y, g.pos)
    if first and second and first != second:
        return False  # "McDermott scored 23 points", "Echenique scored all 11 points"
    if part_of(x, f.pos) != part_of(y, g.pos):
        return False  # "two men died", "one of four men who were climbing"
    if _is_day_of_month(x, f.pos) != _is_day_of_month(y, g.pos):
        return False  # "December 15" is a date, not a count of "two parties"
    if segment(x, f.pos) != segment(y, g.pos):
        return False  # "will miss the final two games", "missed four games": a part, a whole
    if len(shared) >= MIN_CONTEXT and _same_count(x, f, y, g, shared):
        if not (names_a_thing(x, f) and names_a_thing(y, g)):
            return True
        # "a 90-day stint", "a 30-day program": one more word than the unit and the names
        if shared - counted(x, f) - _names(x) - _names(y):
            return True
    unit = counted(x, f) & counted(y, g) & DURATIONS
    if unit and (names_a_thing(x, f) or names_a_thing(y, g)):
        return False  # "a 90-day stint", "a 30-day program": two things, not one span
    return bool(close and unit and _with_unit(x, unit) == _with_unit(y, unit) == 1)


def _same_person(x: Analysis, i: int, y: Analysis, j: int) -> bool:
    """Whether the age at i in x and the age at j in y are one person's.

    Two names: the same name ("Reid", "Tara Reid"). Two nouns: the same noun, not described
    two ways ("British climber", "Australian climber"). A name and a noun: one person when
    the noun's sentence does not name that person otherwise, the name's sentence uses the
    noun's description too ("Brooklyn resident": Brooklyn), and the two tell the same. No
    owner ("dies at 77"): the only age of two sentences that tell the same or name one
    person."""
    mine, theirs = age_owner(x, i), age_owner(y, j)
    if _ages(x) != 1 or _ages(y) != 1:
        if not (mine[0] and theirs[0] and mine[1] == theirs[1]):
            return False
    if mine[0] and theirs[0]:
        if mine[1] == theirs[1]:
            if described(x, i) and described(y, j) and described(x, i) != described(y, j):
                return False  # "British climber", "Australian climber": two people
            return same_name(mine[0], theirs[0])  # "Reid", "Tara Reid"
        named, other = (mine[0], y) if mine[1] else (theirs[0], x)
        nameless, noun_at = (y, j) if mine[1] else (x, i)
        said = described(nameless, noun_at)  # "Australian climber": said of the name?
        if said and said not in {w.lower() for w in (x if mine[1] else y).words}:
            return False
        return not set(named) & terms_of(other) and _very_close(x, y)
    return _very_close(x, y) or bool(_names(x) & _names(y))


def _names(a: Analysis) -> set[str]:
    return {stem(n.lower()) for _, n in a.names if len(n) > 2 and n.lower() not in STOPWORDS}


def _has_money(a: Analysis) -> bool:
    return any(is_money(a, f.pos) for f in a.figures)


def _very_close(x: Analysis, y: Analysis) -> bool:
    """Two sentences that tell the same: most words and names of the shorter are in both."""
    shared = len(terms_of(x) & terms_of(y))
    return shared >= VERY_CLOSE_TERMS and shared >= 0.4 * min(len(terms_of(x)), len(terms_of(y)))


def _ages(a: Analysis) -> int:
    return sum(1 for f in _figures(a) if is_age(a, f.pos))


def _with_unit(a: Analysis, unit: set[str]) -> int:
    return sum(1 for f in _figures(a) if counted(a, f) & unit)


_BOUNDS = {
    "lower": ("at least", "more than", "over", "above", "upwards of", "in excess of"),
    "upper": ("up to", "less than", "fewer than", "under", "below", "nearly", "almost", "at most"),
    "about": (
        "about",
        "around",
        "approximately",
        "roughly",
        "some",
        "an estimated",
        "estimated",
        "vicinity of",
        "region of",
    ),
}


def _bound(a: Analysis, pos: int) -> str:
    """How a figure is given: "lower" ("at least 3"), "upper" ("almost 90"), "about", or ""."""
    start = pos
    while start > 0 and a.lower[start - 1] in {"magnitude", "-", "$", "\u20ac", "\u00a3"}:
        start -= 1
    before = " ".join(a.lower[max(0, start - 3) : start])
    for kind, phrases in _BOUNDS.items():
        if any(before == p or before.endswith(" " + p) for p in phrases):
            return kind
    return ""


def _within(x: Analysis, f: Figure, y: Analysis, g: Figure) -> bool:
    """Whether two different values are both true of one quantity: one a bound the other
    keeps ("at least 3" and "10"), or one given as about the other."""
    first, second = _bound(x, f.pos), _bound(y, g.pos)
    if first == second and first != "about":
        return False  # two exact values, or two bounds of one side ("more than 50" / "70")
    low = {"lower": f.value, "": f.value, "about": f.value * 0.9, "upper": -math.inf}[first]
    high = {"upper": f.value, "": f.value, "about": f.value * 1.1, "lower": math.inf}[first]
    low2 = {"lower": g.value, "": g.value, "about": g.value * 0.9, "upper": -math.inf}[second]
    high2 = {"upper": g.value, "": g.value, "about": g.value * 1.1, "lower": math.inf}[second]
    return low <= high2 and low2 <= high


def _about(a: Analysis, pos: int, shared: set[str]) -> str:
    """The words of `a` near `pos` that both sources use about the figure, as written."""
    if "age" in shared:
        names = [n for i, n in a.names if pos - 6 <= i < pos]
        return f"the age of {names[-1]}" if names else "age"
    near = sorted(a.context, key=lambda item: abs(item[0] - pos))
    words = []
    for i, t in near:
        if QUANTITY_WORDS.get(t, t) in shared and a.words[i].lower() not in words:
            words.append(a.words[i].lower())
    return " ".join(words[:4])


def _same_count(x: Analysis, f: Figure, y: Analysis, g: Figure, shared: set[str]) -> bool:
    """Whether two figures count the same thing: the nouns right after them agree ("10
    people", "12 people"), or neither has one; an age belongs to a person both name."""
    if "age" in shared:
        return any(t.startswith("@") for t in shared)
    first, second = counted(x, f), counted(y, g)
    if first and second:
        return bool(_counts(x, f) & _counts(y, g)) and compound(x, f) == compound(y, g)
    return not ((first | second) & MEASURES)  # "three decades" is no count of "95"


def _figures(a: Analysis) -> list[Figure]:
    """The figures worth comparing: not a number that is part of a name ("Gemma 3"), though
    one after a capitalised small word is not ("Dies At 109"); "one" where it counts a noun
    ("killing one person").

    Weekdays are read apart (_when_disagreements): news dates things by the day it is written
    ("police said Saturday"). Years are left out: a year names when something was, and two
    sources that give two years mostly speak of two things ("first hosted in 2007")."""
    found: list[Figure] | None = a.cache.get("dfigures")
    if found is None:
        found = [
            f
            for f in a.figures
            if f.unit not in {"version", "weekday", "year"}
            and not (f.in_name and f.text[:1].isdigit() and a.lower[f.pos - 1] not in STOPWORDS)
            and not _RANK.search(f.text)
        ]
        taken = {f.pos for f in found}
        found += [make_figure(1.0, 1.0, 1.0, "", a.words[i], i) for i in _ones(a) if i not in taken]
        found.sort(key=lambda f: f.pos)
        a.cache["dfigures"] = found
    return found


def _ones(a: Analysis) -> list[int]:
    """Where "one" counts the noun after it ("one person", "one pirate boat"): not "one of",
    "no one", "the one", "one day" (a time, not a count)."""
    nouns = {i for i, _ in a.context}
    out = []
    for i, word in enumerate(a.lower):
        if word != "one" or i + 1 not in nouns or (i and a.lower[i - 1] in _NOT_COUNTING):
            continue
        after = a.lower[i + 1]
        if after in STOPWORDS or stem(after) in MEASURES or not after.isalpha():
            continue
        if "NOUN" in word_kinds(after):
            out.append(i)
    return out


_NOT_COUNTING = frozenset("the this that any each every no which another any only".split())


_RANK = re.compile(r"\d(st|nd|rd|th|s)$|^(first|second|third)$", re.IGNORECASE)  # 3rd, 1960s


def _kind(f: Figure, a: Analysis | None = None) -> tuple[str, float]:
    if a is not None and is_age(a, f.pos):
        return ("age", 1.0)
    if f.unit in {"year", "month", "weekday", "rate"}:
        return (f.unit, 1.0)
    if not f.unit and f.raw != int(f.raw) and f.scale == 1.0:
        return ("decimal", f.scale)  # a magnitude or a rate, not a count: 5.6 is no "10 people"
    return (f.unit, f.scale)


def _is_day_of_month(a: Analysis, pos: int) -> bool:
    months = {f.pos for f in a.figures if f.unit == "month"}
    return (pos - 1 in months or pos + 1 in months) and a.words[pos].isdigit()


def _context(a: Analysis, pos: int) -> set[str]:
    """Content words and names next to position `pos`, within its clause; for an age, the
    name it belongs to."""
    if a.figures and any(f.pos == pos and f.unit == "weekday" for f in a.figures):
        return {"@day", *terms_of(a)}  # a weekday dates what the whole sentence tells
    near = _near(a, pos)
    if _is_day_of_month(a, pos):  # what happened that day is told before the date
        return {t for t in near if any(i < pos and t == u for i, u in a.context)} | {"@date"}
    if is_age(a, pos):
        names = [stem(n.lower()) for i, n in a.names if pos - 6 <= i < pos]
        return {"age", *(f"@{n}" for n in names[-1:]), *near}
    return near


def _near(a: Analysis, pos: int) -> set[str]:
    lo = pos
    while lo > 0 and a.lower[lo - 1] not in _CLAUSE_BREAKS and pos - lo < SPAN:
        lo -= 1
    hi = pos
    while hi + 1 < len(a.lower) and a.lower[hi + 1] not in _CLAUSE_BREAKS and hi - pos < SPAN:
        hi += 1
    before = [t for i, t in a.context if lo <= i < pos][-CONTEXT_WORDS:]
    after = [t for i, t in a.context if pos < i <= hi][:CONTEXT_WORDS]
    return {QUANTITY_WORDS.get(t, t) for t in before + after}


def _phrase(a: Analysis, pos: int) -> str:
    """The figure with the word after it, as the source writes it ("12 people", "$ 2 million")."""
    words = a.words[pos : pos + 3]
    keep = [words[0]]
    for w in words[1:]:
        if not re.match(r"[A-Za-z%$]", w) or w.lower() in STOPWORDS:
            break
        keep.append(w)
        if w.lower() not in {"million", "billion", "thousand", "percent", "a.m", "p.m"}:
            break
    if pos > 0 and a.words[pos - 1] in {"$", "\u20ac", "\u00a3"}:
        keep.insert(0, a.words[pos - 1])
    return " ".join(keep)


# -- polarity --------------------------------------------------------------------------------


def _polarity_disagreements(sents_a: list[str], sents_b: list[str]) -> list[Disagreement]:
    """A sentence that says of something what a close sentence of the other source denies."""
    found = opposite_statement(sents_a, sents_b)
    if found is None:
        return []
    return [Disagreement("polarity", _clip(found.first), _clip(found.second), found.word)]


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


# -- stories ---------------------------------------------------------------------------------


def mark_disagreements(
    stories: Iterable[Story], sources: Mapping[str, Source] | None = None
) -> None:
    """Fill each story's `disagreements`: what its sources' notes (and titles) disagree on.

    Each entry: {"kind", "sources": {id: what it says}, "about", "line"}, where line is the
    text the writer and the report show ("sources disagree: S3 says 12, S7 says 15")."""
    sources = sources or {}
    for story in stories:
        notes = list(story.notes)
        found: list[dict[str, Any]] = []
        pairs = [(x, y) for k, x in enumerate(notes) for y in notes[k + 1 :]][:MAX_PAIRS]
        for x, y in pairs:
            for d in pair_disagreements(_said(x, sources), _said(y, sources)):
                entry = _entry(d, x.source_id, y.source_id)
                if all(e["line"] != entry["line"] for e in found):
                    found.append(entry)
        story.disagreements = found


def _said(note: SourceNote, sources: Mapping[str, Source]) -> list[str]:
    source = sources.get(note.source_id)
    title = getattr(source, "title", "") or note.title
    return [title, *note.facts]


def _entry(d: Disagreement, first: str, second: str) -> dict[str, Any]:
    if d.kind == "figure":
        line = f"sources disagree: {first} says {d.first}, {second} says {d.second}"
        line += f" (about: {d.about})" if d.about else ""
    else:
        line = f'sources disagree: {first} says "{d.first}", {second} says "{d.second}"'
    return {
        "kind": d.kind,
        "sources": {first: d.first, second: d.second},
        "about": d.about,
        "line": line,
    }
