"""Ages in "sources disagree" (disagree.py): which figures are ages, and whose.

An age: "aged 33", "at age 77", "at the age of 95", "dies at 77", or a number set off after a
name ("Reid, 33, was ...", "Mendes, 57 - an ex-girlfriend"). Its owner: the name set off
before it, the name right after it ("16-year-old Kimani Gray"), the name a noun after it is
given in apposition ("an 18-year-old boy, Alexandros Grigoropoulos,"), or else that noun ("a
32-year-old British climber").

Two names are one person's when one holds the other ("Reid", "Tara Reid"), or when they end
on one surname and their first names are one written short or long ("Fred LaRue", "Frederick
Cheney LaRue"); "Katie Jenkin" and "John Jenkin" are two people.
"""

from __future__ import annotations

from ..text.terms import STOPWORDS, stem
from .facts import Analysis

_DYING = frozenset("die dies died dead death passed".split())
_SET_OFF = frozenset({",", ";", ")", "-"})
SHORT_NAME = 3  # letters a first name written short shares with the long one ("Fred")


def is_age(a: Analysis, pos: int) -> bool:
    """Whether the figure at `pos` is someone's age."""
    w = a.lower
    if pos > 0 and w[pos - 1] in {"aged", "age"}:
        return True
    if pos > 1 and w[pos - 2 : pos] == ["age", "of"]:
        return True  # "at the age of 95"
    if pos > 1 and w[pos - 1] == "at" and _DYING & set(w[max(0, pos - 6) : pos - 1]):
        return True
    return (
        1 < pos < len(w) - 1
        and w[pos - 1] == ","
        and w[pos + 1] in _SET_OFF
        and a.words[pos - 2][:1].isupper()
        and a.words[pos].isdigit()
    )


Owner = tuple[tuple[str, ...], bool]  # the owner's words (stemmed, in order), and whether a name


def age_owner(a: Analysis, pos: int) -> Owner:
    """Whose age a figure is, and whether that is a name; empty when there is none."""
    named = dict(a.names)
    w = a.lower
    before = pos - 2 if w[pos - 1] == "," else pos - 3 if w[pos - 1] == "aged" else -1
    if before >= 0 and w[before + 1] == "," and before in named:
        run = [before]
        while run[0] - 1 in named:
            run.insert(0, run[0] - 1)
        return tuple(stem(named[i].lower()) for i in run), True
    run = []
    while pos + 1 + len(run) in named:
        run.append(pos + 1 + len(run))
    after = pos + 1 + len(run)
    if run and not (after < len(w) and w[after][0].isalpha() and w[after] not in STOPWORDS):
        return tuple(stem(named[i].lower()) for i in run), True
    for i, t in a.content:
        if pos < i <= after + 2 and i not in named:
            apposed = _apposed(a, i, named)
            return (apposed, True) if apposed else ((t,), False)
    return (), False


def _apposed(a: Analysis, i: int, named: dict[int, str]) -> tuple[str, ...]:
    """The name given right after a noun, set off by a comma: "boy, Alexandros Grigoropoulos,"
    (two words at least, and the end of a clause after it)."""
    w = a.lower
    if i + 1 >= len(w) or w[i + 1] != ",":
        return ()
    run: list[int] = []
    while i + 2 + len(run) in named:
        run.append(i + 2 + len(run))
    end = i + 2 + len(run)
    if len(run) < 2 or (end < len(w) and w[end] not in {",", ".", ";", ")"}):
        return ()
    return tuple(stem(named[k].lower()) for k in run)


def same_name(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
    """Whether two names (stemmed words, in order) are one person's."""
    if set(first) <= set(second) or set(second) <= set(first):
        return True
    if len(first) < 2 or len(second) < 2 or first[-1] != second[-1]:
        return False
    short = min(len(first[0]), len(second[0]), SHORT_NAME)
    return first[0][:short] == second[0][:short]


def described(a: Analysis, pos: int) -> str:
    """A capitalised word between an age and the noun it belongs to ("32-year-old British
    climber": "british")."""
    named = dict(a.names)
    nxt = pos + 1
    if nxt in named and nxt + 1 < len(a.lower) and nxt + 1 not in named:
        return a.lower[nxt]
    return ""
