"""Sources disagree: where two sources of one story give different values for the same quantity
(a death toll, a price, an age, a time) or make opposite statements, the story says so.

Read in code, with the claim check's own reading of a text (facts.analyse): figures with their
units, names and negation. Two sentences of two sources are compared when they are about the
same thing (they share content words and names). Then:

- figure: a figure in each that measures one quantity, with values that cannot both be true,
  where neither source gives the other's value anywhere. One quantity: next to the same words
  and counting the same noun ("50 firefighters", "70 firefighters"; not "killed 10" and
  "injured 10"), with no other name acting on it ("McDermott scored 23 points", "Echenique
  scored 11 points"); an age belongs to one person (a name set off by commas, the name or noun
  after "16-year-old"), and a sentence's only age or only duration ("10 minutes later", "20
  minutes earlier") is compared with the other's when the two tell the same. Both true: a
  bound the other value keeps ("at least three", "10"), or "about" a near value. Not
  quantities: years (they date other things), ranks, versions, scores ("65 - 53"), values ten
  times apart (a game's points and a career's).
- when: a time of day (3:33 a.m. against 4:15 a.m.; "shortly after 3:30" is about 3:33), or a
  weekday next to the same time or words in both (not the day a source spoke: "police said
  Saturday"; not two days in a row said "late" or "early").
- polarity (polarity.py): a predicate one asserts and the other denies, or two sides of one
  opposition ("denied" / "admitted"), about the same thing and the same actor.

`mark_disagreements(stories, sources)` fills each story's `disagreements` with lines the
writer, the report and the Atom entry show: "sources disagree: S3 says 12, S7 says 15 (about:
killed people)". Measured in benchmarks/bench_stories.py, on labelled pairs from ECB+ and on
the lines whole ECB+ stories show (labelled in benchmarks/data/stories/story_lines.jsonl).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..text.terms import STOPWORDS, stem
from . import lexicon
from .facts import SENTENCE_BREAK, Analysis, Figure, analyse, figures_match
from .polarity import actor, opposite_statement

MIN_SHARED = 2  # content words two sentences share before they are compared
FAR = 10  # two values this many times apart are two quantities, not two reports of one
CLOSE_TERMS = 3  # ...and that make them tell the same thing, for an only duration
VERY_CLOSE_TERMS = 5  # ...for an only age, whose owner only one of them names
MIN_CONTEXT = 2  # words next to two figures that make them one quantity
CONTEXT_WORDS = 5  # content words on each side of a figure, within its clause
SPAN = 10  # tokens on each side a figure's context reaches, at most
CLOSE_SHARE = 0.5  # share of the shorter sentence's words two sentences must share for polarity
NEGATION_REACH = 1  # content words a negation governs
MAX_PAIRS = 30  # source pairs compared per story
_CLAUSE_BREAKS = frozenset(",;:.()!?") | {"and", "but", "while", "which"}


@dataclass(frozen=True)
class Disagreement:
    """Two sources' different values for one quantity, or opposite statements."""

    kind: str  # "figure" | "polarity"
    first: str  # what the first source says
    second: str  # what the second says
    about: str  # the words both use around it


def pair_disagreements(a: str | Sequence[str], b: str | Sequence[str]) -> list[Disagreement]:
    """Where text `a` and text `b` (each a string or a list of sentences) disagree."""
    sents_a, sents_b = _sentences(a), _sentences(b)
    found = _figure_disagreements(sents_a, sents_b) or _when_disagreements(sents_a, sents_b)
    if not found:
        found = _polarity_disagreements(sents_a, sents_b)
    return found


def _sentences(text: str | Sequence[str]) -> list[str]:
    parts = [text] if isinstance(text, str) else list(text)
    return [s.strip() for p in parts for s in SENTENCE_BREAK.split(p) if s.strip()]


# -- figures ---------------------------------------------------------------------------------


def _figure_disagreements(sents_a: list[str], sents_b: list[str]) -> list[Disagreement]:
    analyses_a = [analyse(_spaced(s)) for s in sents_a]
    analyses_b = [analyse(_spaced(s)) for s in sents_b]
    all_a = [f for x in analyses_a for f in _figures(x)]
    all_b = [f for x in analyses_b for f in _figures(x)]
    out: list[Disagreement] = []
    for x in analyses_a:
        for y in analyses_b:
            shared = len(_terms(x) & _terms(y))
            if shared < MIN_SHARED:
                continue
            for f in _figures(x):
                found = _differs(f, x, y, all_a, all_b, shared >= CLOSE_TERMS)
                if found is not None and found not in out:
                    out.append(found)
    return out


def _differs(
    f: Figure, x: Analysis, y: Analysis, all_a: list[Figure], all_b: list[Figure], close: bool
) -> Disagreement | None:
    """The figure of `y` that gives another value for the quantity `f` measures in `x`."""
    ctx = _context(x, f.pos)
    kind = _kind(f, x)
    same, other = False, None
    for g in _figures(y):
        if kind != _kind(g, y):
            continue
        shared = ctx & _context(y, g.pos)
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
    if any(_kind(h) == _kind(g) and figures_match(g, h) for h in all_a):
        return None
    if any(_kind(h) == _kind(f) and figures_match(f, h) for h in all_b):
        return None
    if _is_age(x, f.pos):  # "16", not "16 Kimani"
        return Disagreement("figure", f.text, g.text, _about(x, f.pos, shared))
    return Disagreement("figure", _phrase(x, f.pos), _phrase(y, g.pos), _about(x, f.pos, shared))


def _same_quantity(
    x: Analysis, f: Figure, y: Analysis, g: Figure, shared: set[str], close: bool
) -> bool:
    """Whether figure f of x and figure g of y measure one quantity.

    Next to the same words and counting the same thing; or, in two sentences that tell the
    same thing, the only age in each (of one person, unless each names another), or the only
    figure of one unit of time or measure in each ("10 minutes later", "20 minutes earlier")."""
    if _is_age(x, f.pos):
        mine, theirs = _age_owner(x, f.pos), _age_owner(y, g.pos)
        if mine[0] and theirs[0] and mine[1] == theirs[1]:  # two names, or two nouns
            if _described(x, f.pos) and _described(y, g.pos):
                if _described(x, f.pos) != _described(y, g.pos):
                    return False  # "British climber", "Australian climber": two people
            return mine[0] <= theirs[0] or theirs[0] <= mine[0]  # "Reid", "Tara Reid"
        return _very_close(x, y) and _ages(x) == _ages(y) == 1
    first, second = actor(x, f.pos), actor(y, g.pos)
    if first and second and first != second:
        return False  # "McDermott scored 23 points", "Echenique scored all 11 points"
    if len(shared) >= MIN_CONTEXT and _same_count(x, f, y, g, shared):
        return True
    unit = _counted(x, f) & _counted(y, g) & _DURATIONS
    return bool(close and unit and _with_unit(x, unit) == _with_unit(y, unit) == 1)


_DURATIONS = {stem(w) for w in "minute minutes hour hours day days week weeks months".split()}


def _described(a: Analysis, pos: int) -> str:
    """A capitalised word between an age and the noun it belongs to ("32-year-old British
    climber": "british")."""
    named = dict(a.names)
    nxt = pos + 1
    if nxt in named and nxt + 1 < len(a.lower) and nxt + 1 not in named:
        return a.lower[nxt]
    return ""


def _very_close(x: Analysis, y: Analysis) -> bool:
    """Two sentences that tell the same: most words and names of the shorter are in both."""
    shared = len(_terms(x) & _terms(y))
    return shared >= VERY_CLOSE_TERMS and shared >= 0.4 * min(len(_terms(x)), len(_terms(y)))


def _ages(a: Analysis) -> int:
    return sum(1 for f in _figures(a) if _is_age(a, f.pos))


def _with_unit(a: Analysis, unit: set[str]) -> int:
    return sum(1 for f in _figures(a) if _counted(a, f) & unit)


def _age_owner(a: Analysis, pos: int) -> tuple[frozenset[str], bool]:
    """Whose age a figure is, and whether that is a name: the name set off before it ("Tara
    Reid, 33,", "Pitman, aged 24"), the name right after it ("16-year-old Kimani Gray"), or
    else the noun after it ("a 32-year-old British climber", "a 17-year-old Brooklyn
    resident"); empty when there is none."""
    named = dict(a.names)
    w = a.lower
    before = pos - 2 if w[pos - 1] == "," else pos - 3 if w[pos - 1] == "aged" else -1
    if before >= 0 and w[before + 1] == "," and before in named:
        run = [before]
        while run[0] - 1 in named:
            run.insert(0, run[0] - 1)
        return frozenset(stem(named[i].lower()) for i in run), True
    run = []
    while pos + 1 + len(run) in named:
        run.append(pos + 1 + len(run))
    after = pos + 1 + len(run)
    if run and not (after < len(w) and w[after][0].isalpha() and w[after] not in STOPWORDS):
        return frozenset(stem(named[i].lower()) for i in run), True
    for i, t in a.content:
        if pos < i <= after + 2 and i not in named:
            return frozenset({t}), False
    return frozenset(), False


_BOUNDS = {
    "lower": ("at least", "more than", "over", "above", "upwards of", "in excess of"),
    "upper": ("up to", "less than", "fewer than", "under", "below", "nearly", "almost", "at most"),
    "about": ("about", "around", "approximately", "roughly", "some", "an estimated", "estimated"),
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
        if _QUANTITY_WORDS.get(t, t) in shared and a.words[i].lower() not in words:
            words.append(a.words[i].lower())
    return " ".join(words[:4])


_UNIT_HYPHEN = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty)"
    r"\s*-\s*(years?|days?|weeks?|months?|hours?|minutes?|miles?|point)\b",
    re.IGNORECASE,
)
_AGE = re.compile(r"\b(\d{1,3})\s*-?\s*years?\s*-?\s*old\b", re.IGNORECASE)


def _spaced(text: str) -> str:
    """Spell "a 61-year-old man" as "a man aged 61" and "eight-year" as "eight year", the way
    the figure reader sees a figure and its unit; join "2, 117" (a tokenised 2,117); set times
    of day and scores aside (times are compared on their own, see _times)."""
    text = _THOUSANDS.sub(r"\1,\2", text)
    text = _CLOCK.sub(" o'clock ", text)
    text = _SCORE.sub(" score ", text)
    text = _AGE.sub(r"aged \1", text)
    return _UNIT_HYPHEN.sub(r"\1 \2", text)


_THOUSANDS = re.compile(r"\b(\d{1,3}) ?, (\d{3})(?![\d,])")
_CLOCK = re.compile(
    r"\b\d{1,2} ?: ?\d{2}(?: ?[ap]\. ?m\b\.?| ?[ap]m\b| ?(?:bst|gmt|utc|[ecmp][sd]t)\b)?"
    r"|\b\d{1,2}(?:\.\d{2})? ?(?:[ap]\. ?m\b\.?|[ap]m\b)|\b[0-2]\d[0-5]\d ?(?:bst|gmt|utc)\b",
    re.IGNORECASE,
)
_SCORE = re.compile(r"\b\d+(?: ?[-\u2013] ?\d+)+\b(?! ?(?:percent|%|years?|-))")


def _same_count(x: Analysis, f: Figure, y: Analysis, g: Figure, shared: set[str]) -> bool:
    """Whether two figures count the same thing: the nouns right after them agree ("10
    people", "12 people"), or neither has one; an age belongs to a person both name."""
    if "age" in shared:
        return any(t.startswith("@") for t in shared)
    first, second = _counted(x, f), _counted(y, g)
    if first and second:
        return bool(first & second)
    return not ((first | second) & _MEASURES)  # "three decades" is no count of "95"


_MEASURES = {
    stem(w)
    for w in "second seconds minute minutes hour hours day days week weeks month months year "
    "years decade decades century metres meters metre meter miles mile kilometres feet foot "
    "yards yard points point goals runs rounds inches pounds kilos tons dollars euros "
    "percent times".split()
}


def _counted(a: Analysis, f: Figure) -> set[str]:
    """What a figure counts: the content word right after it, in its quantity group."""
    nxt = f.pos + 1
    while nxt < len(a.lower) and a.lower[nxt] in {"-", "more", "other", "new"}:
        nxt += 1
    found = {t for i, t in a.context if i == nxt}
    return {_QUANTITY_WORDS.get(t, t) for t in found}


def _figures(a: Analysis) -> list[Figure]:
    """The figures worth comparing; a number word after a capital is not part of a name.

    Weekdays are read apart (_when_disagreements): news dates things by the day it is written
    ("police said Saturday"). Years are left out: a year names when something was, and two
    sources that give two years mostly speak of two things ("first hosted in 2007")."""
    return [
        f
        for f in a.figures
        if f.unit not in {"version", "weekday", "year"}
        and not (f.in_name and f.text[:1].isdigit())
        and not _RANK.search(f.text)
    ]


_RANK = re.compile(r"\d(st|nd|rd|th|s)$|^(first|second|third)$", re.IGNORECASE)  # 3rd, 1960s


def _kind(f: Figure, a: Analysis | None = None) -> tuple[str, float]:
    if a is not None and _is_age(a, f.pos):
        return ("age", 1.0)
    if f.unit in {"year", "month", "weekday", "rate"}:
        return (f.unit, 1.0)
    if not f.unit and f.raw != int(f.raw):
        return ("decimal", f.scale)  # a magnitude or a rate, not a count: 5.6 is no "10 people"
    return (f.unit, f.scale)


def _is_day_of_month(a: Analysis, pos: int) -> bool:
    months = {f.pos for f in a.figures if f.unit == "month"}
    return (pos - 1 in months or pos + 1 in months) and a.words[pos].isdigit()


def _is_age(a: Analysis, pos: int) -> bool:
    """ "aged 33", or a number set off by commas after a name: "Reid, 33, was ..."."""
    w = a.lower
    if pos > 0 and w[pos - 1] in {"aged", "age"}:
        return True
    return (
        1 < pos < len(w) - 1
        and w[pos - 1] == ","
        and w[pos + 1] == ","
        and a.words[pos - 2][:1].isupper()
        and a.words[pos].isdigit()
    )


def _terms(a: Analysis) -> set[str]:
    if "dterms" not in a.cache:
        a.cache["dterms"] = {_QUANTITY_WORDS.get(t, t) for _, t in a.context}
    return a.cache["dterms"]


def _context(a: Analysis, pos: int) -> set[str]:
    """Content words and names next to position `pos`, within its clause; for an age, the
    name it belongs to."""
    if a.figures and any(f.pos == pos and f.unit == "weekday" for f in a.figures):
        return {"@day", *_terms(a)}  # a weekday dates what the whole sentence tells
    near = _near(a, pos)
    if _is_day_of_month(a, pos):  # what happened that day is told before the date
        return {t for t in near if any(i < pos and t == u for i, u in a.context)} | {"@date"}
    if _is_age(a, pos):
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
    return {_QUANTITY_WORDS.get(t, t) for t in before + after}


# Words that name one quantity in other words: a death toll is the number killed.
_QUANTITY_WORDS = {
    stem(w): group
    for group, members in {
        "#dead": "killed kill kills dead death deaths died die dies toll fatalities lives",
        "#hurt": "injured injuries injuring wounded wounding hurt",
        "#held": "arrested arrest detained custody captured nabbed held",
    }.items()
    for w in members.split()
}


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


# -- when: the time of day and the weekday of an event --------------------------------------


def _when_disagreements(sents_a: list[str], sents_b: list[str]) -> list[Disagreement]:
    """Two close sentences that put one event at different times of day, or on different
    weekdays (a weekday next to the same time or the same words in both; not the day a
    source spoke: "police said Saturday")."""
    text_a, text_b = " ".join(sents_a), " ".join(sents_b)
    for x in sents_a:
        ax = analyse(_spaced(x))
        for y in sents_b:
            ay = analyse(_spaced(y))
            if len(_terms(ax) & _terms(ay)) < CLOSE_TERMS:
                continue
            tx, ty = _times(x), _times(y)
            if len(tx) == len(ty) == 1 and not _same_time(tx[0], ty[0]):
                if not _mentions_time(text_b, tx[0]) and not _mentions_time(text_a, ty[0]):
                    return [Disagreement("figure", tx[0][2], ty[0][2], "time")]
            dx, dy = _event_days(ax), _event_days(ay)
            if len(dx) != 1 or len(dy) != 1 or ax.lower[dx[0]] == ay.lower[dy[0]]:
                continue
            day_x, day_y = ax.lower[dx[0]], ay.lower[dy[0]]
            if day_y in text_a.lower() or day_x in text_b.lower():
                continue
            anchored = len(tx) == len(ty) == 1 and _same_time(tx[0], ty[0])
            near = _beside(ax, dx[0]) & _beside(ay, dy[0])
            if not anchored and (len(near) < MIN_CONTEXT or _blurred(ax, dx[0], ay, dy[0])):
                continue
            return [Disagreement("figure", ax.words[dx[0]], ay.words[dy[0]], "the day")]
    return []


_TIME = re.compile(
    r"\b(\d{1,2}) ?[:.] ?(\d{2}) ?([ap])\. ?m\b\.?|\b(\d{1,2}) ?[:.] ?(\d{2}) ?([ap])m\b"
    r"|\b(\d{1,2}) ?: ?(\d{2})()|\b(\d{1,2})()() ?([ap])\. ?m\b\.?|\b(\d{1,2})()() ?([ap])m\b"
    r"|\b([0-2]\d)([0-5]\d)() ?(?:bst|gmt|utc)\b",
    re.IGNORECASE,
)
_APPROXIMATE = re.compile(
    r"\b(about|around|approximately|shortly|just|roughly|nearly|almost|after|before|by)\W*$",
    re.IGNORECASE,
)


def _times(sentence: str) -> list[tuple[int, bool, str]]:
    """Times of day in a sentence: (minutes after midnight, said as approximate, as written).
    A time without a.m. or p.m. is read on a 12-hour clock when it could be either."""
    out = []
    sentence = _THOUSANDS.sub(r"\1,\2", sentence)
    for m in _TIME.finditer(sentence):
        hour, minute, half = _clock_parts(m)
        minutes = (hour % 12 + (12 if half.lower() == "p" else 0)) * 60 + minute
        if not half and hour > 12:
            minutes = hour * 60 + minute
        approximate = bool(_APPROXIMATE.search(sentence[: m.start()]))
        out.append((minutes, approximate, " ".join(m.group(0).split())))
    return out


def _clock_parts(m: re.Match[str]) -> tuple[int, int, str]:
    groups = list(m.groups())
    for k in range(len(groups)):
        if groups[k] and groups[k].isdigit():
            rest = groups[k + 1 :]
            minute = int(rest[0]) if rest and rest[0] and rest[0].isdigit() else 0
            half = next((g for g in rest if g and g.isalpha()), "")
            return int(groups[k]), minute, half
    return 0, 0, ""


def _same_time(t: tuple[int, bool, str], u: tuple[int, bool, str]) -> bool:
    slack = 30 if t[1] or u[1] else 0
    gap = abs(t[0] - u[0]) % 720  # a time without a.m./p.m. may be either half of the day
    return min(gap, 720 - gap) <= slack or abs(t[0] - u[0]) <= slack


def _mentions_time(text: str, t: tuple[int, bool, str]) -> bool:
    return any(_same_time(t, (u[0], False, u[2])) and not u[1] for u in _times(text))


_SPEECH = frozenset("said says told announced reported confirmed stated added".split())
_BLUR = frozenset("late early night overnight midnight evening morning".split())
_DAY_ORDER = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _event_days(a: Analysis) -> list[int]:
    """Positions of weekdays that date the event, not the day a source spoke."""
    return [
        i
        for i, w in enumerate(a.lower)
        if w in lexicon.WEEKDAYS and not _SPEECH & set(a.lower[max(0, i - 3) : i + 2])
    ]


def _beside(a: Analysis, i: int, reach: int = 3) -> set[str]:
    """The content words and names right beside position i: what a weekday dates."""
    return {t for k, t in a.context if 0 < abs(k - i) <= reach}


def _blurred(x: Analysis, i: int, y: Analysis, j: int) -> bool:
    """Two days in a row, one said late or early: the night between them, or a time zone."""
    gap = abs(_DAY_ORDER.index(x.lower[i]) - _DAY_ORDER.index(y.lower[j]))
    around = set(x.lower[max(0, i - 2) : i + 3]) | set(y.lower[max(0, j - 2) : j + 3])
    return gap in {1, 6} and bool(around & _BLUR)


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


def mark_disagreements(stories: Iterable[Any], sources: dict[str, Any] | None = None) -> None:
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


def _said(note: Any, sources: dict[str, Any]) -> list[str]:
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
