"""Figures of a claim against the figures of its sources: a figure the sources give (spellings,
bounds and roundings aside), one they give otherwise for the same thing (contradicted), one
attached to the wrong thing (a swap), or one they do not give at all (not confirmed).
"""

from __future__ import annotations

import math
from datetime import date

from . import lexicon
from .context import CLAUSE_BREAKS, PHRASE_BREAKS, clause_bounds, context_text, stems_near
from .facts import Analysis, Figure, figures_match, make_figure
from .problems import Problem


def figure_problems(
    a: Analysis, sources: list[tuple[Analysis, list[Figure]]], where: str
) -> list[Problem]:
    """Every figure of the claim against the figures of its sources (each with its dates)."""
    text_pool = [(s, f) for s, _ in sources for f in s.figures]
    text_pool += [(s, f) for s, _ in sources for f in _derived_percentages(s)]
    dates = [(s, f) for s, published in sources for f in published]
    problems = []
    for f in a.figures:
        # A bound is read against what the text says, never against its publication date.
        pool = text_pool if f.bound else text_pool + dates
        same = [(s, g) for s, g in pool if figures_match(f, g)]
        if not same:
            # A rival is a number the claim does not use elsewhere ("40 to 90" for 40 to 70).
            rival = _rival_figure(
                a,
                f,
                [
                    (s, g)
                    for s, g in pool
                    if _comparable(f, g) and not any(figures_match(x, g) for x in a.figures)
                ],
            )
            if rival is not None:
                detail = (
                    f'"{f.text}" where [{where}] gives {rival.text} for "{context_text(a, f.pos)}"'
                )
                problems.append(Problem("figure", detail, True))
                continue
            alike = [g for _, g in pool if _same_kind(f, g)]
            says = _figure_list(alike or [g for _, g in pool])
            detail = f'"{f.text}" is not in [{where}]'
            problems.append(Problem("figure", detail + (f" (the source says {says})" * bool(says))))
            continue
        swap = _swapped(a, f, same, [(s, g) for s, g in pool if _same_kind(f, g)])
        if swap is not None:
            problems.append(
                Problem(
                    "figure",
                    f'"{f.text}" is attached to the wrong thing: [{where}] gives '
                    f'{swap.text} for "{context_text(a, f.pos)}"',
                    True,
                )
            )
    return problems


def _swapped(
    a: Analysis,
    f: Figure,
    same: list[tuple[Analysis, Figure]],
    kin: list[tuple[Analysis, Figure]],
) -> Figure | None:
    ctx = stems_near(a, f.pos)
    if len(ctx) < 2 or f.in_name or f.unit == "year" or _spelled_count(f):
        return None  # years come in lists ("titles in 1971, 1975, 2017"): no swap
    best_same = max(len(ctx & stems_near(s, g.pos)) for s, g in same)
    best_other: tuple[int, Figure] | None = None
    for s, g in kin:
        if figures_match(f, g) or g.pos < 0 or g.in_name:
            continue
        if any(s2 is s and abs(m.pos - g.pos) <= 3 for s2, m in same):
            continue  # the other end of the same range or list: "3B to 8B"
        score = len(ctx & stems_near(s, g.pos))
        if best_other is None or score > best_other[0]:
            best_other = (score, g)
    if best_other and best_other[0] >= 2 and best_other[0] > best_same:
        return best_other[1]
    return None


def _rival_figure(a: Analysis, f: Figure, kin: list[tuple[Analysis, Figure]]) -> Figure | None:
    """A figure of the same kind that the source gives for the same thing as the claim's."""
    if _spelled_count(f):
        return None  # "three" stands in too many places of a long page to accuse the writer
    ctx = _figure_context(a, f.pos)
    if f.in_name:
        # "CrewAI 1.16" where the source says "CrewAI 1.15": the same name, another number.
        owner = a.lower[f.pos - 1] if f.pos > 0 else ""
        for s, g in kin:
            if g.in_name and g.pos > 0 and s.lower[g.pos - 1] == owner:
                return g
        return None
    if not ctx:
        return None
    best: tuple[int, Figure] | None = None
    for s, g in kin:
        if g.pos < 0 or g.in_name:
            continue
        score = len(ctx & _figure_context(s, g.pos))
        if score and (best is None or score > best[0]):
            best = (score, g)
    return best[1] if best else None


def _spelled_count(f: Figure) -> bool:
    return f.text.isalpha() and f.unit not in {"month", "weekday"} and f.value <= 12


def _figure_context(a: Analysis, pos: int) -> set[str]:
    """What a figure is about: the words of its phrase, or of its clause where the phrase has
    none ("by 40 to 90 percent": the 90 shares the words of its range)."""
    near = stems_near(a, pos, 3)
    for f in a.figures:  # the end of a range shares the words of its start
        if f.pos == pos - 2 and a.lower[pos - 1] in {"to", "and", "or", "-"}:
            near |= stems_near(a, f.pos, 3)
    if near:
        return near
    lo, hi = clause_bounds(a, pos, PHRASE_BREAKS)
    before = [t for i, t in a.content if lo <= i < pos][-3:]
    after = [t for i, t in a.content if pos < i <= hi][:3]
    return set(before + after)


def _comparable(f: Figure, g: Figure) -> bool:
    """Figures that could be two values of one quantity: one unit, within a factor of ten."""
    if f.unit in {"version", "weekday", "month", "year"} or g.unit == "version":
        return f.unit == g.unit
    if f.unit != g.unit or f.value <= 0 or g.value <= 0:
        return False
    return abs(math.log10(f.value / g.value)) <= 1.0


def _same_kind(f: Figure, g: Figure) -> bool:
    """Figures a writer could confuse: same unit, same scale word, within a factor of ten."""
    if f.unit in {"version", "weekday", "month", "year"} or g.unit == "version":
        return f.unit == g.unit
    if f.unit != g.unit or f.scale != g.scale or f.value <= 0 or g.value <= 0:
        return False
    return abs(math.log10(f.value / g.value)) <= 1.0


def _figure_list(figs: list[Figure]) -> str:
    shown = list(dict.fromkeys(f.text for f in figs if f.pos >= 0))[:5]
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def _derived_percentages(a: Analysis) -> list[Figure]:
    """ "one claim in five" also reads as 20%, "57 out of 100" as 57% (placed at its "100")."""
    done: list[Figure] | None = a.cache.get("derived")
    if done is not None:
        return done
    out: list[Figure] = a.cache.setdefault("derived", [])
    low = a.lower
    for i, w in enumerate(low):
        x = _small_number(w)
        if not x:
            continue
        for j in range(i + 1, min(len(low), i + 4)):
            k = j + 2 if low[j : j + 2] == ["out", "of"] else j + 1 if low[j] == "in" else j
            if k == j:
                continue
            y = _small_number(low[k]) if k < len(low) else None
            if y and x < y:
                text = " ".join(a.words[i : k + 1])
                out.append(make_figure(100 * x / y, 100 * x / y, 1, "%", text, k))
            break
    return out


def _small_number(word: str) -> int | None:
    if word.isascii() and word.isdigit():
        return int(word)
    return {**lexicon.NUMBER_WORDS, "one": 1}.get(word)


def published_figures(published: date | None) -> list[Figure]:
    if published is None or not hasattr(published, "year"):
        return []
    names = list(lexicon.WEEKDAYS)
    order = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    assert set(order) == set(names)
    day = order[published.weekday()]
    return [
        make_figure(published.year, published.year, 1, "year", str(published.year), -1),
        make_figure(published.month, published.month, 1, "month", f"{published:%B}", -1),
        make_figure(published.day, published.day, 1, "", str(published.day), -1),
        make_figure(0, 0, 1, "weekday", day, -1, key=f"weekday:{day}"),
    ]


def negates_a_figure(a: Analysis) -> bool:
    """Whether a negation comes before a figure in its clause: "did not sign ... in 2014"."""
    for f in a.figures:
        lo, _ = clause_bounds(a, f.pos, CLAUSE_BREAKS | {"that", "who"})
        if any(lo <= i < f.pos for i in a.negated):
            return True
    return False
