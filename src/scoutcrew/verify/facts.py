"""Read the checkable facts out of a text: figures, names, content words, negation scopes and
polar words. Both a claim and its sources are read this way, so they compare like for like.

Figures are normalised (128k = 128,000; 30B = 30 billion; 61% = 61 percent; twice = 2x; 9.0 =
9); names are capitalised, CamelCase, ALL-CAPS or digit-bearing words; content words are
stemmed (terms.stem). The word lists live in lexicon.py.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any

from ..text.terms import STOPWORDS, stem
from . import lexicon
from .words import base, lemmas

_TOKEN = re.compile(
    r"\d{1,3}(?:,\d{3})+(?:\.\d+)?[A-Za-z%]*(?:-[A-Za-z]+)*"  # 2,400 / 61,000
    r"|[A-Za-z\u00c0-\u024f0-9](?:[A-Za-z\u00c0-\u024f0-9]|[._\-+'\u2019/](?=[A-Za-z\u00c0-\u024f0-9]))*%?(?:\(\))?"
    r"|[^\sA-Za-z\u00c0-\u024f0-9]"
)
_NUMBER_PART = re.compile(r"(\d[\d,]*(?:\.\d+)*)([a-z%]*)")
_CITES = re.compile(r"\[\s*[Ss]\s?\d+(?:\s*[,;]\s*(?:[Ss]\s?)?\d+)*\s*\]")
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n+")
_POLAR_REACH = 4
_PARTICLES = frozenset({"out", "up", "off", "down", "away", "short", "clear", "free"})
_OPENERS = {":", "(", '"', "\u201c", "'", "-", "\u2014", "\u2013", "*", "\u2022", ";"}


# --------------------------------------------------------------------------------------------
# Analysis of one text


@dataclass
class Figure:
    value: float
    raw: float
    scale: float
    unit: str  # "", "%", "x", "bit", "gb", ..., "year", "month", "weekday", "frac", "version"
    text: str
    pos: int
    key: str = ""
    in_name: bool = False  # part of a name like Kestrel-7B or Apache-2.0
    bound_words: tuple[int, ...] = ()  # positions of the words that say the bound
    bound: str = ""  # "<", ">", "<=", ">=", "~" (about), "<~" (nearly): "more than 134"
    step: float = 0.0  # the rounding the writing allows: 0.01e6 for "1.32 million"


@dataclass
class Polar:
    scale: str
    side: str
    word: str
    pos: int


@dataclass
class Analysis:
    """Tokens, figures, names, content words and polar items of one text."""

    words: list[str]
    lower: list[str]
    figures: list[Figure]
    names: list[tuple[int, str]]
    content: list[tuple[int, str]]  # (position, stem)
    context: list[tuple[int, str]]  # content words and names (stemmed), for word contexts
    negated: set[int]
    polar: list[Polar]
    parts: list[str]  # every word split at hyphens, dots and slashes, for name matching
    # What a check computes once per sentence, by key (each key holds one kind of value).
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def tokenize(text: str) -> list[str]:
    """Split text into words (hyphenated names and figures kept whole) and punctuation."""
    text = unicodedata.normalize("NFC", text.replace("\u2019", "'"))  # "L'Ore\u0301al" is L'Oréal
    return _TOKEN.findall(_CITES.sub(" ", text))


def analyse(
    text: str,
    vocabulary: set[str] | None = None,
    known_names: set[str] | None = None,
    polarity: bool = True,
) -> Analysis:
    """Read figures, names, content words, negation scopes and polar words out of `text`.

    vocabulary: lowercase words of the pack (a capitalised first word among them is no name).
    known_names: given for a claim, the names its sources use: a capitalised first word that is
    an English dictionary word ("Global warming ...") is then a name only if they use it.
    polarity: False skips negation scopes and polar words (a whole page, read for its figures,
    names and words; its sentences are read for polarity one by one).
    """
    words = tokenize(text)
    lower = [w.lower() for w in words]
    figures = _figures(words, lower)
    names = _names(words, lower, vocabulary or set(), known_names)
    name_pos = {i for i, _ in names}
    figure_pos = {f.pos for f in figures} | {p for f in figures for p in f.bound_words}
    content = []
    for i, w in enumerate(lower):
        if i in name_pos or i in figure_pos or not w[0].isalpha() or w in _UNIT_WORDS:
            continue
        if w in lexicon.NEGATION_CUES or w.endswith("n't"):
            continue  # polarity, not content: the negation check reads it
        for part in re.split(r"[-/.']", w):
            if len(part) >= 2 and part not in STOPWORDS and not part[0].isdigit():
                if part not in lexicon.MONTHS and part not in lexicon.WEEKDAYS:
                    content.append((i, base(part)))
    negated, near_negation = _negation_scopes(lower) if polarity else (set(), set())
    bounds = {p for f in figures for p in f.bound_words}
    polar = []
    for i, w in enumerate(lower if polarity else ()):
        entry = lexicon.POLAR.get(w)
        if entry is None or i in bounds:
            continue  # "more than 134 reviews" bounds a figure: the figure check reads it
        if w == "on" and not _near(lower, i, {"by", "default", "turned", "switched", "now"}):
            continue  # "on" is mostly a preposition
        scale, side = entry
        if (i in negated or i in near_negation) and side != "0":
            side = "-" if side == "+" else "+"
        polar.append(Polar(scale, side, w, i))
    parts = [p for w in lower for p in re.split(r"[^a-z0-9]+", w) if p]
    context = sorted(content + [(i, stem(n.lower())) for i, n in names])
    return Analysis(words, lower, figures, names, content, context, negated, polar, parts)


_PHRASES_BY_FIRST: dict[str, list[list[str]]] = {}
for _phrase in lexicon.NEGATION_PHRASES:
    _PHRASES_BY_FIRST.setdefault(_phrase.split()[0], []).append(_phrase.split())


def _near(lower: list[str], i: int, words: set[str], window: int = 2) -> bool:
    return any(w in words for w in lower[max(0, i - window) : i + window + 1])


def _negation_scopes(lower: list[str]) -> tuple[set[int], set[int]]:
    """Positions negated by a cue before them: the word it governs, and (for polar words such
    as "faster") anything in the next few words of the clause ("did not make it faster")."""
    negated: set[int] = set()
    near: set[int] = set()
    n = len(lower)
    i = 0
    while i < n:
        width = 0
        for bits in _PHRASES_BY_FIRST.get(lower[i], ()):
            if lower[i : i + len(bits)] == bits:
                width = len(bits)
                break
        if not width and (lower[i] in lexicon.NEGATION_CUES or lower[i].endswith("n't")):
            width = 1
        if width == 1 and lower[i] == "few" and i > 0 and lower[i - 1] == "a":
            width = 0  # "a few" is some, "few" is not many
        if not width:
            i += 1
            continue
        for k in range(i + width, min(n, i + width + _POLAR_REACH)):
            if not lower[k][0].isalnum() or lower[k] in lexicon.SCOPE_BREAKS:
                break
            near.add(k)
        taken = 0
        j = i + width
        while j < n and taken < lexicon.NEGATION_SCOPE:
            w = lower[j]
            if not w[0].isalnum() or w in lexicon.SCOPE_BREAKS:
                break
            negated.add(j)
            if w not in STOPWORDS and w not in lexicon.NEGATION_TRANSPARENT:
                taken += 1
                # a phrasal verb carries the negation to its object: "running out of memory"
                if j + 2 < n and lower[j + 1] in _PARTICLES and lower[j + 2] == "of":
                    negated.update({j + 1, j + 2})
                    j += 2
                    taken -= 1
            j += 1
        i += width
    return negated, near


# -- figures ---------------------------------------------------------------------------------


def _figures(words: list[str], lower: list[str]) -> list[Figure]:
    figures: list[Figure] = []
    n = len(lower)
    skip: set[int] = set()
    for i, w in enumerate(lower):
        if i in skip:
            continue
        nxt = lower[i + 1] if i + 1 < n else ""
        if w in lexicon.NUMBER_WORDS or (w in {"one", "a", "an"} and nxt in lexicon.SCALE_WORDS):
            value = float(lexicon.NUMBER_WORDS.get(w, 1))
            scale = 1.0
            if nxt in lexicon.SCALE_WORDS:
                scale = lexicon.SCALE_WORDS[nxt]
                skip.add(i + 1)
            unit = _unit_after(lower, i + (2 if scale != 1.0 else 1))
            figures.append(make_figure(value * scale, value, scale, unit, words[i], i))
            continue
        if w in lexicon.MULTIPLIER_WORDS:
            value = lexicon.MULTIPLIER_WORDS[w]
            figures.append(make_figure(value, value, 1.0, "x", words[i], i))
            continue
        if w in lexicon.FRACTION_WORDS and i > 0 and lower[i - 1] in {"a", "one", "by"}:
            value = lexicon.FRACTION_WORDS[w]
            figures.append(make_figure(value, value, 1.0, "frac", words[i], i))
            continue
        if w in {"per", "every", "each", "a"} and i + 1 < n:
            unit = re.sub(r"s$", "", lower[i + 1])
            if unit in _TIME_UNITS and (w != "a" or unit in {"day", "week", "month", "year"}):
                if w == "each" and unit not in {"day", "week", "month", "year", "night"}:
                    continue
                figures.append(
                    make_figure(1, 1, 1, "rate", " ".join(words[i : i + 2]), i, key=f"per:{unit}")
                )
                continue
        if w in lexicon.WEEKDAYS:
            figures.append(make_figure(0, 0, 1, "weekday", words[i], i, key=f"weekday:{w}"))
            continue
        if w in lexicon.MONTHS and _is_month(words, lower, i):
            month = lexicon.MONTHS[w]
            figures.append(make_figure(month, month, 1, "month", words[i], i))
            continue
        if not w[0].isdigit() and not re.search(r"[-/]\d", w):
            continue
        figures += _number_token(words[i], w, lower, i)
    # "Gemma 3", "RTX 4090": a bare number right after a capitalised word belongs to a name.
    for f in figures:
        if f.pos > 0 and not f.unit and f.scale == 1.0 and words[f.pos - 1][:1].isupper():
            f.in_name = words[f.pos - 1].lower() not in lexicon.MONTHS
    # "40 to 70 percent", "between 0.4 and 1.9 watt-hours": a range shares its end's unit.
    for k, f in enumerate(figures[:-1]):
        g = figures[k + 1]
        if f.unit or not g.unit or g.unit in {"year", "version", "rate", "month"}:
            continue
        if g.pos - f.pos == 2 and lower[f.pos + 1] in {"to", "and", "or", "-"}:
            f.unit = g.unit
    # "2-, 3- and 4-bit": a number left hanging on a hyphen takes the unit of the list's end.
    for k, f in enumerate(figures):
        hanging = (
            f.pos + 2 < n and lower[f.pos + 1] == "-" and lower[f.pos + 2] in {",", "and", "or"}
        )
        if not f.unit and hanging:
            later = [g for g in figures[k + 1 :] if g.unit and g.pos - f.pos <= 8]
            if later:
                f.unit = later[0].unit
    for f in figures:
        _read_bound(f, lower)
        f.step = _rounding_step(f)
    return figures


def _read_bound(f: Figure, lower: list[str]) -> None:
    """Read "more than", "under", "about", "nearly" ... right before a figure into f.bound."""
    if f.pos <= 0:
        return
    if f.unit == "year" and f.raw % 10 == 0 and _decade(f, lower):
        f.bound = "decade"  # "the 1940s", "the 1940 's": any year of the ten
        return
    end = f.pos - 1 if lower[f.pos - 1] in _CURRENCIES else f.pos  # "less than $ 1 million"
    for phrase, bound in lexicon.BOUND_PHRASES:
        bits = phrase.split()
        start = end - len(bits)
        if start >= 0 and lower[start:end] == bits:
            f.bound = bound
            f.bound_words = tuple(range(start, end))
            return


_CURRENCIES = frozenset({"$", "\u20ac", "\u00a3", "\u00a5", "us$", "usd", "eur", "gbp"})


def _decade(f: Figure, lower: list[str]) -> bool:
    after = lower[f.pos + 1 : f.pos + 3]
    return f.text.lower().endswith("s") or after == ["'", "s"] or after[:1] == ["'s"]


def _rounding_step(f: Figure) -> float:
    """How far a written figure may be from the exact value it rounds: "1.32 million" -> 5e3."""
    if f.unit in {"version", "weekday", "month", "year", "rate"} or f.value == 0:
        return 0.0
    digits = re.search(r"\d[\d,]*(?:\.(\d+))?", f.text)
    if not digits:
        return 0.0
    decimals = len(digits.group(1) or "")
    if f.scale != 1.0 or decimals:
        return 0.5 * (10.0**-decimals) * f.scale
    return 0.0


def _is_month(words: list[str], lower: list[str], i: int) -> bool:
    """A capitalised month name; an abbreviation ("Nov") only next to a number ("Nov 23")."""
    if not words[i][0].isupper():
        return False
    if len(lower[i]) <= 4 and lower[i] not in {"june", "july"}:
        return any(t[:1].isdigit() for t in lower[max(0, i - 1) : i + 2])
    return True


def _unit_after(lower: list[str], j: int) -> str:
    nxt = lower[j] if j < len(lower) else ""
    after = lower[j + 1] if j + 1 < len(lower) else ""
    if nxt in {"percent", "pct", "%"} or (nxt == "per" and after == "cent"):
        return "%"
    if nxt in {"x", "times", "fold", "\u00d7"}:
        return "x"
    if nxt in {"bit", "bits"}:
        return "bit"
    if nxt in lexicon.BYTE_UNITS:
        return lexicon.BYTE_UNITS[nxt]
    return ""


def _number_token(original: str, w: str, lower: list[str], i: int) -> list[Figure]:
    """Figures in one token: 128k, 4-bit, 40-70%, 3B-8B, 0.15.5, 2,400, 16GB, 1.5x ..."""
    parts = [p for p in re.split(r"[-/]", w) if p]
    if any(re.match(r"[a-z]+\d", p) for p in parts):
        return []  # a name with digits (qwen3, int4, a3b): checked as a name
    out: list[Figure] = []
    last_unit = ""
    for k, part in enumerate(parts):
        m = _NUMBER_PART.fullmatch(part)
        if not m:
            if part in {"bit", "bits"} and out:
                for f in out:
                    if not f.unit:
                        f.unit = "bit"
            continue
        number, suffix = m.group(1).replace(",", ""), m.group(2)
        if number.count(".") >= 2:
            key = "version:" + re.sub(r"(\.0)+$", "", number)
            out.append(make_figure(0, 0, 1, "version", original, i, key=key))
            continue
        raw = float(number)
        scale, unit = 1.0, ""
        if suffix in lexicon.SUFFIX_SCALE:
            scale = lexicon.SUFFIX_SCALE[suffix]
        elif suffix in lexicon.BYTE_UNITS:
            unit = lexicon.BYTE_UNITS[suffix]
        elif suffix in {"%", "x", "bit"}:
            unit = suffix
        elif suffix == "s" and 1900 <= raw <= 2100 and raw % 10 == 0:
            unit = "year"  # "the 1970s"
        elif suffix in {"st", "nd", "rd", "th", "s"}:
            unit = ""
        elif suffix:
            continue  # 60-page, 2,000-word: the number alone
        last = k == len(parts) - 1
        if last and not unit:
            unit = _unit_after(lower, i + 1)
            nxt = lower[i + 1] if i + 1 < len(lower) else ""
            if nxt in lexicon.SCALE_WORDS and scale == 1.0:
                scale = lexicon.SCALE_WORDS[nxt]
        if not unit and not suffix and "," not in m.group(1) and 1900 <= raw <= 2100:
            if raw == int(raw):
                unit = "year"
        fig = make_figure(raw * scale, raw, scale, unit, original, i)
        fig.in_name = any(
            p.isalpha() and p not in {"bit", "bits", "x"} and p not in lexicon.BYTE_UNITS
            for p in parts
        )
        out.append(fig)
        last_unit = unit or last_unit
    # A range shares its unit: "40-70%", "3B-8B", "2- and 4-bit".
    for f in out:
        if not f.unit and last_unit:
            f.unit = last_unit
    return out


def make_figure(
    value: float, raw: float, scale: float, unit: str, text: str, pos: int, key: str = ""
) -> Figure:
    return Figure(value, raw, scale, unit, text, pos, key or f"{round(value, 6)!r}")


_STRICT_UNITS = frozenset({"%", "x", "bit", "kb", "mb", "gb", "tb"})
ABOUT = 0.1
"""How far "about", "around", "nearly" may be from the source's number (a share of it)."""
ROUNDING = 0.025
"""How far an unhedged rounding may be from the source's number ("1.32 million" for 1,316,000)."""
BOUND_REACH = 10.0
"""A bound is about a number of its order: "more than 100,000" fits 258,000, not 3 million."""


def _units_agree(f: Figure, g: Figure) -> bool:
    if f.unit in {"version", "weekday", "rate", "month", "year"} or f.unit != g.unit:
        return False
    return f.value > 0 and g.value > 0 and (f.scale == g.scale or f.scale != 1.0 or g.scale != 1.0)


def _within(f: Figure, g: Figure) -> bool:
    x, v = f.value, g.value
    if f.bound in {"<?", ">?"}:  # "over 25 conversations" may mean "across 25"
        return math.isclose(x, v, rel_tol=1e-9) or _within(replace(f, bound=f.bound[0]), g)
    if f.bound in {"<", "<="}:
        return (v < x or (f.bound == "<=" and v == x)) and v * BOUND_REACH >= x
    if f.bound in {">", ">="}:
        return (v > x or (f.bound == ">=" and v == x)) and v <= x * BOUND_REACH
    if f.bound in {"~", "<~"}:
        near = abs(v - x) <= max(ABOUT * v, f.step)
        return near and (f.bound == "~" or v <= x * (1 + 1e-9))  # "nearly 60%": 58%
    if math.isclose(x, v, rel_tol=1e-9):
        return True
    # a rounding: the claim is the coarser writing of the source's number, never the finer
    return abs(x - v) <= f.step + 1e-9 and abs(x - v) <= ROUNDING * v and f.step > g.step


_TIME_UNITS = frozenset({"second", "minute", "hour", "day", "week", "month", "year", "night"})


def figures_match(f: Figure, g: Figure) -> bool:
    """Whether claim figure f says the same as source figure g, spellings aside.

    A bound in the claim is judged against the source's number ("more than 134" for 137, "less
    than 58%" for 57%, "about 2,400" for 2,412), and so is a rounding ("1.32 million" for
    1,316,000): never against the string.
    """
    if f.bound and g.bound and f.bound[0] == g.bound[0] and math.isclose(f.value, g.value):
        return _units_agree(f, g) or f.unit == g.unit  # "under 8B" for "under 8B"
    if f.bound == "decade" or g.bound == "decade":
        decade, year = (f, g) if f.bound == "decade" else (g, f)
        return year.unit == "year" and decade.value <= year.value <= decade.value + 9
    if g.bound and f.bound and "~" not in g.bound:
        return False  # "up to 30%" is not what "up to 20%" says
    if f.bound or f.step or g.step:
        if _units_agree(f, g):
            return _within(f, g)
    if f.unit in {"version", "weekday"} or g.unit in {"version", "weekday"}:
        return f.key == g.key or (f.unit == "version" and g.key == f.key.split(":")[1])
    if f.unit == "%" and g.unit == "frac":
        return abs(f.value / 100 - g.value) < 0.005
    if f.unit == "frac" and g.unit == "%":
        return abs(g.value / 100 - f.value) < 0.005
    if f.unit and g.unit and f.unit != g.unit and "year" not in {f.unit, g.unit}:
        return False
    if f.unit in _STRICT_UNITS and g.unit != f.unit:
        return False  # "ten times more" is not the source's "ten articles"
    if f.unit == "rate" or g.unit == "rate":
        return f.key == g.key
    if f.unit == "month" or g.unit == "month":
        return f.unit == g.unit and f.value == g.value
    if math.isclose(f.value, g.value, rel_tol=1e-9):
        return True
    # "7-8B" and "7B to 8B": an unscaled bare number may stand for the scaled one.
    if f.scale == 1.0 and not f.unit and math.isclose(f.raw, g.raw, rel_tol=1e-9):
        return True
    return g.scale == 1.0 and not g.unit and math.isclose(f.raw, g.raw, rel_tol=1e-9)


# -- names ------------------------------------------------------------------------------------


def _names(
    words: list[str], lower: list[str], vocabulary: set[str], known: set[str] | None = None
) -> list[tuple[int, str]]:
    names = []
    first_word = True
    for i, w in enumerate(words):
        if not any(c.isalpha() for c in w):
            if w in _OPENERS or w in {".", "!", "?"}:
                first_word = True
            continue
        starts = first_word
        first_word = False
        low = lower[i]
        if low in lexicon.MONTHS or low in lexicon.WEEKDAYS or low == "i":
            continue
        if low in lexicon.GENERIC_ABBREVIATIONS:
            continue
        if w.isalpha() and w.islower():
            continue  # the common case, decided without a pattern
        parts = re.split(r"[-/]", w)
        mixed = any(re.match(r"[A-Za-z]+\d", p) or re.search(r"[a-z][A-Z]", p) for p in parts)
        dotted = bool(re.search(r"[a-z]\.[a-z]", low))
        caps = bool(re.fullmatch(r"[A-Z]{2,}[A-Z0-9]*s?", parts[0]))
        capital = w[0].isupper()
        if mixed or dotted or caps:
            names.append((i, w))
        elif capital and not starts:
            names.append((i, w))
        elif capital and starts and _unknown_word(low, vocabulary, known):
            names.append((i, w))
    return names


def _unknown_word(low: str, vocabulary: set[str], known: set[str] | None = None) -> bool:
    """A capitalised first word is a name unless it is a common word (or the pack uses it so)."""
    base = low.split("-")[0].split("'")[0]
    if base in STOPWORDS or base in _COMMON_OPENERS or base in vocabulary:
        return False
    if known is not None and low not in known and lemmas(base):
        return False  # a dictionary word the sources never use as a name
    if re.search(r"(ing|ed|ly|s)$", base) and len(base) > 4:
        return stem(base) not in vocabulary and base.rstrip("s") not in vocabulary and False
    return True


_UNIT_WORDS = frozenset(
    [*lexicon.SCALE_WORDS, *lexicon.BYTE_UNITS, "percent", "pct", "bit", "bits", "times", "x"]
)

_COMMON_OPENERS = frozenset(
    """early just only new its their this these those both each every most many several some
    all another other such first second third last next local small large big open free
    prompt tests study users researchers authors operators builders volunteers hobbyists
    experts models runs labs teams developers people readers since according despite
    because although while though unlike like overall meanwhile still even today yesterday
    here there today's base cached generating putting giving feeding using running""".split()
)


def name_in(name: str, source: Analysis, joined: JoinedParts | set[str]) -> bool:
    """Whether a claimed name occurs in a source: its parts in a row, any case or separator."""
    parts = [p for p in re.split(r"[^a-z0-9]+", name.lower()) if p]
    if parts and parts[-1] == "s" and len(parts) > 1:
        parts = parts[:-1]  # possessive split at the apostrophe
    if not parts:
        return True
    glued = "".join(parts)
    for form in (glued, glued[:-1] if glued.endswith("s") else glued):
        if form in joined:
            return True
    return any(_spells_initials(form, source.parts) for form in _abbreviation_forms(name))


def _abbreviation_forms(name: str) -> list[str]:
    """How `name` may abbreviate words: LoRA -> lra or lora, Wh -> wh; not LangChain."""
    letters = [c for c in name if c.isalpha()]
    upper = [c for c in letters if c.isupper()]
    if not upper or len(letters) > 6 or (len(letters) > 3 and len(upper) * 2 < len(letters)):
        return []
    forms = {"".join(upper).lower(), "".join(letters).lower()}
    return [f for f in forms if len(f) >= 2]


def _spells_initials(letters: str, words: list[str]) -> bool:
    k = len(letters)
    return any(
        "".join(x[0] for x in words[j : j + k]) == letters for j in range(len(words) - k + 1)
    )


class JoinedParts:
    """Runs of up to `longest` consecutive parts, glued together ("openai", "kestrel7b"), as a
    set you can ask `form in joined`: looked up on demand, so a long page costs nothing until a
    name is checked against it."""

    def __init__(self, parts: list[str], longest: int = 5):
        self.parts = parts
        self.longest = longest
        self._by_first: dict[str, list[int]] = {}
        for i, part in enumerate(parts):
            self._by_first.setdefault(part[0], []).append(i)

    def __contains__(self, form: object) -> bool:
        if not isinstance(form, str) or not form:
            return False
        for i in self._by_first.get(form[0], ()):
            glued = ""
            for part in self.parts[i : i + self.longest]:
                glued += part
                if glued == form:
                    return True
                if not form.startswith(glued):
                    break
        return False


def joined_ngrams(parts: list[str], longest: int = 5) -> JoinedParts:
    """Every run of up to `longest` consecutive parts, glued together ("openai", "kestrel7b")."""
    return JoinedParts(parts, longest)
