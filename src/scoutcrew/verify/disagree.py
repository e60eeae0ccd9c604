"""Sources disagree: where two sources of one story give different values for the same quantity
(a death toll, a price, an age, a date) or make opposite statements, the story says so.

Read in code, with the claim check's own reading of a text (facts.analyse): figures with their
units, names, negation scopes and polar words. Two sentences of two sources are compared when
they are about the same thing (they share content words and names). Then:

- figure: a figure in one and a figure of the same kind in the other (both ages, both years,
  both weekdays, both plain counts of one scale) next to the same words, with different values,
  where neither source gives the other's value anywhere. "50 firefighters" and "70
  firefighters" disagree; "killed 10" and "injured 10" do not, nor do "3:33 a.m." and "shortly
  after 3:30" (the second is not next to the same words as a different figure).
- polarity: the claim check's polarity test (ClaimIndex, the one that marks a report's
  sentence contradicted) run on one source's sentence against the other source: "was charged"
  and "was not charged", "rose" and "fell".

`mark_disagreements(stories, sources)` fills each story's `disagreements` with lines the
writer, the report and the Atom entry show: "sources disagree: S3 says 12, S7 says 15 (about:
killed people)". Measured in benchmarks/bench_stories.py on labelled pairs from ECB+.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..text.terms import STOPWORDS, stem
from . import lexicon
from .facts import SENTENCE_BREAK, Analysis, Figure, analyse, figures_match

MIN_SHARED = 2  # content words two sentences share before they are compared
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
    found = _figure_disagreements(sents_a, sents_b)
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
            if len(_terms(x) & _terms(y)) < MIN_SHARED:
                continue
            for f in _figures(x):
                found = _differs(f, x, y, all_a, all_b)
                if found is not None and found not in out:
                    out.append(found)
    return out


def _differs(
    f: Figure, x: Analysis, y: Analysis, all_a: list[Figure], all_b: list[Figure]
) -> Disagreement | None:
    """The figure of `y` that gives another value for the quantity `f` measures in `x`."""
    ctx = _context(x, f.pos)
    kind = _kind(f, x)
    same, other = False, None
    for g in _figures(y):
        if kind != _kind(g, y):
            continue
        shared = ctx & _context(y, g.pos)
        if len(shared) < MIN_CONTEXT or not _same_count(x, f, y, g, shared):
            continue
        if figures_match(f, g) or figures_match(g, f):
            same = True
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
    return Disagreement("figure", _phrase(x, f.pos), _phrase(y, g.pos), _about(x, f.pos, shared))


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
    the figure reader sees a figure and its unit."""
    text = _AGE.sub(r"aged \1", text)
    return _UNIT_HYPHEN.sub(r"\1 \2", text)


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

    Weekdays are left out: news dates an event by the day it is written ("late Friday",
    "police said Saturday"), so two outlets' weekdays differ without disagreeing."""
    return [
        f
        for f in a.figures
        if f.unit not in {"version", "weekday"}
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


# -- polarity --------------------------------------------------------------------------------


def _polarity_disagreements(sents_a: list[str], sents_b: list[str]) -> list[Disagreement]:
    """A sentence that says of something what a close sentence of the other source denies."""
    analyses_b = [analyse(s) for s in sents_b]
    for sentence in sents_a:
        x = analyse(sentence)
        for other, y in zip(sents_b, analyses_b, strict=True):
            if not _close(x, y):
                continue
            neg_x, neg_y = _negated(x), _negated(y)
            said_x, said_y = _terms_at(x), _terms_at(y)
            flipped = [
                t for t in set(said_x) & set(said_y) if (said_x[t] <= neg_x) != (said_y[t] <= neg_y)
            ]
            if flipped:
                word = min(flipped)
                return [Disagreement("polarity", _clip(sentence), _clip(other), word)]
    return []


_NEGATORS = frozenset(lexicon.NEGATION_CUES) | {"fail", "fails", "failed"}


def _negated(a: Analysis) -> set[int]:
    """Positions a negation governs: up to NEGATION_REACH content words after a cue, within
    its clause ("was not found guilty", "nobody was injured", "failed to arrest")."""
    out: set[int] = set()
    content = {i for i, _t in a.context}
    for i, w in enumerate(a.lower):
        if w not in _NEGATORS and not w.endswith("n't"):
            continue
        if w in {"nobody", "nothing", "none"}:
            out.add(i)
        taken = 0
        for j in range(i + 1, min(len(a.lower), i + 8)):
            if a.lower[j] in _CLAUSE_BREAKS or a.lower[j] in lexicon.SCOPE_BREAKS:
                break
            out.add(j)
            taken += j in content
            if taken >= NEGATION_REACH:
                break
    return out


def _terms_at(a: Analysis) -> dict[str, set[int]]:
    """Where each content word (stemmed) of a sentence stands."""
    where: dict[str, set[int]] = {}
    for i, t in a.context:
        where.setdefault(t, set()).add(i)
    return where


def _close(x: Analysis, y: Analysis) -> bool:
    """Two sentences that tell the same thing: most of the shorter one's words are shared."""
    a, b = _terms(x), _terms(y)
    return bool(a and b) and len(a & b) >= CLOSE_SHARE * min(len(a), len(b))


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
