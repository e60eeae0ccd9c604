"""Sources disagree on when, and on a game's score: the time of day of one event, the weekday
of one event, the final score of one game.

- a time of day: 3:33 a.m. against 4:15 a.m.; "shortly after 3:30" is about 3:33;
- a weekday next to the same time or the same words in both sentences; not the day a source
  spoke ("police said Saturday"), nor two days in a row when one is said "late" or "early";
- a score next to a word of winning or losing ("a 31-24 victory"), not a team's record or a
  run within a game.
"""

from __future__ import annotations

import re

from . import lexicon
from .facts import Analysis
from .quantities import (
    CLOSE_TERMS,
    MIN_CONTEXT,
    MIN_SHARED,
    THOUSANDS,
    Disagreement,
    beside,
    read,
    terms_of,
)

# -- the score of a game -----------------------------------------------------------------------


def score_disagreements(sents_a: list[str], sents_b: list[str]) -> list[Disagreement]:
    """Two sentences that each give one game's final score ("a 31-24 victory", "beat the
    Chiefs 20 - 13"), differently, where neither source gives the other's score anywhere."""
    every_a = {s for x in sents_a for s in _scores(x)}
    every_b = {s for y in sents_b for s in _scores(y)}
    for x in sents_a:
        sx = _scores(x)
        if len(sx) != 1:
            continue
        for y in sents_b:
            sy = _scores(y)
            if len(sy) != 1 or sx[0] == sy[0] or sx[0] in every_b or sy[0] in every_a:
                continue
            words = len(terms_of(read(x)) & terms_of(read(y)))
            if words >= MIN_SHARED:
                first, second = (f"{hi}-{lo}" for hi, lo in (sx[0], sy[0]))
                return [Disagreement("figure", first, second, "the score")]
    return []


_RESULT = re.compile(
    r"\b(?:win|wins|won|victory|beat|beats|defeat|defeats|defeated|lose|loses|lost|loss|top|tops"
    r"|topped|rout|routs|edge|edges|edged|past|over)\b",
    re.IGNORECASE,
)
_GAME_SCORE = re.compile(
    r"(?<![\d(])\b(\d{1,3}) ?[-\u2013] ?(\d{1,3})\b(?![-\d%]| ?(?:percent|years?))"
)


def _scores(sentence: str) -> list[tuple[int, int]]:
    """The final scores of games a sentence gives: a score next to a word of winning or
    losing (a team's record "(9-14)" or a "15 - 2 run" is not one)."""
    out = []
    for m in _GAME_SCORE.finditer(sentence):
        around = sentence[max(0, m.start() - 40) : m.end() + 25]
        if _RESULT.search(around) and not re.search(r"\brun\b", sentence[m.end() : m.end() + 8]):
            hi, lo = sorted((int(m.group(1)), int(m.group(2))), reverse=True)
            out.append((hi, lo))
    return list(dict.fromkeys(out))


# -- when: the time of day and the weekday of an event --------------------------------------


def when_disagreements(sents_a: list[str], sents_b: list[str]) -> list[Disagreement]:
    """Two close sentences that put one event at different times of day, or on different
    weekdays (a weekday next to the same time or the same words in both; not the day a
    source spoke: "police said Saturday")."""
    text_a, text_b = " ".join(sents_a), " ".join(sents_b)
    for x in sents_a:
        ax = read(x)
        for y in sents_b:
            ay = read(y)
            if len(terms_of(ax) & terms_of(ay)) < CLOSE_TERMS:
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
            near = beside(ax, dx[0]) & beside(ay, dy[0])
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
    sentence = THOUSANDS.sub(r"\1,\2", sentence)
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
    """Whether two times can be one: equal, within half an hour when one is said "about", or
    within five minutes when one is a round time ("the 3:30 a.m. fire", "at 3:33 a.m.")."""
    slack = 30 if t[1] or u[1] else 5 if t[0] % 15 == 0 or u[0] % 15 == 0 else 0
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


def _blurred(x: Analysis, i: int, y: Analysis, j: int) -> bool:
    """Two days in a row, one said late or early: the night between them, or a time zone."""
    gap = abs(_DAY_ORDER.index(x.lower[i]) - _DAY_ORDER.index(y.lower[j]))
    around = set(x.lower[max(0, i - 2) : i + 3]) | set(y.lower[max(0, j - 2) : j + 3])
    return gap in {1, 6} and bool(around & _BLUR)
