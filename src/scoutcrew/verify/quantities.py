"""How "sources disagree" reads a sentence: spacing as the figure reader wants it, the content
words and names it shares with another, the words beside a position; and what it finds.

Shared by disagree.py (figures), when.py (scores, times of day, weekdays) and their callers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text.terms import stem
from .facts import Analysis, analyse

MIN_SHARED = 2  # content words two sentences share before they are compared
CLOSE_TERMS = 3  # ...and that make them tell the same thing, for an only duration
MIN_CONTEXT = 2  # words next to two figures that make them one quantity


@dataclass(frozen=True)
class Disagreement:
    """Two sources' different values for one quantity, or opposite statements."""

    kind: str  # "figure" | "polarity"
    first: str  # what the first source says
    second: str  # what the second says
    about: str  # the words both use around it


_UNIT_HYPHEN = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty)"
    r"\s*-\s*(years?|days?|weeks?|months?|hours?|minutes?|miles?|point)\b",
    re.IGNORECASE,
)
_AGE = re.compile(r"\b(\d{1,3})\s*-?\s*years?\s*-?\s*old\b", re.IGNORECASE)


def spaced(text: str) -> str:
    """Spell "a 61-year-old man" as "a man aged 61", "eight-year" as "eight year" and "3,000ft"
    as "3,000 feet", the way the figure reader sees a figure and its unit; join "2, 117" (a
    tokenised 2,117); set times of day and scores aside (times are compared on their own, see
    _times)."""
    text = THOUSANDS.sub(r"\1,\2", text)
    text = _CLOCK.sub(" o'clock ", text)
    text = _SCORE.sub(" score ", text)
    text = _AGE.sub(r"aged \1", text)
    text = _GLUED_UNIT.sub(lambda m: f"{m.group(1)} {_UNIT_NAMES[m.group(2).lower()]}", text)
    return _UNIT_HYPHEN.sub(r"\1 \2", text)


# A unit written onto its number ("3,000ft", "40km"): spelt out, so that the number is read.
_UNIT_NAMES = {
    "ft": "feet", "km": "kilometres", "kg": "kilograms", "lb": "pounds", "lbs": "pounds",
    "mph": "mph", "cm": "centimetres", "mm": "millimetres", "mi": "miles",
}  # fmt: skip
_GLUED_UNIT = re.compile(
    r"(?<![$\u20ac\u00a3] )(?<![$\u20ac\u00a3])"
    r"\b(\d[\d,]*(?:\.\d+)?) ?(ft|km|kg|lbs?|mph|cm|mm|mi)\b"
)
# lowercase only, and not after a currency sign: "$160MM" is money in millions


THOUSANDS = re.compile(r"\b(\d{1,3}) ?, (\d{3})(?![\d,])")
_CLOCK = re.compile(
    r"\b\d{1,2} ?: ?\d{2}(?: ?[ap]\. ?m\b\.?| ?[ap]m\b| ?(?:bst|gmt|utc|[ecmp][sd]t)\b)?"
    r"|\b\d{1,2}(?:\.\d{2})? ?(?:[ap]\. ?m\b\.?|[ap]m\b)|\b[0-2]\d[0-5]\d ?(?:bst|gmt|utc)\b",
    re.IGNORECASE,
)
_SCORE = re.compile(r"\b\d+(?: ?[-\u2013] ?\d+)+\b(?! ?(?:percent|%|years?|-))")


# Words that name one quantity in other words: a death toll is the number killed.
QUANTITY_WORDS = {
    stem(w): group
    for group, members in {
        "#dead": "killed kill kills dead death deaths died die dies toll fatalities lives",
        "#hurt": "injured injuries injuring wounded wounding hurt",
        "#held": "arrested arrest detained custody captured nabbed held",
    }.items()
    for w in members.split()
}


def terms_of(a: Analysis) -> set[str]:
    found: set[str] | None = a.cache.get("dterms")
    if found is None:
        found = a.cache["dterms"] = {QUANTITY_WORDS.get(t, t) for _, t in a.context}
    return found


def beside(a: Analysis, i: int, reach: int = 3) -> set[str]:
    """The content words and names right beside position i: what a weekday dates."""
    return {t for k, t in a.context if 0 < abs(k - i) <= reach}


def read(sentence: str) -> Analysis:
    """A sentence as the figure reader sees it (see spaced)."""
    return analyse(spaced(sentence))
