"""Check one cited claim against the text of its sources, in code: figures, names, polarity,
wrong source and invented detail.

The checks are deliberately plain so a reader can predict them:

- figures: every number in the claim (counts, percentages, versions, sizes like 4k/32k/24 GB,
  multipliers like 2x/twice, years, months and weekdays) must appear in the cited sources after
  normalising the usual spellings (128k = 128,000; 30B = 30 billion; 61% = 61 percent; 9.0 =
  9). A figure that is in the source but next to different words than another figure of the
  same kind ("30 billion active" when the source says 3 billion are active) is a swap;
- names: capitalised words, CamelCase, ALL-CAPS, names with digits (Kestrel-7B, Qwen3) must
  appear in the cited sources (an abbreviation may stand for words whose initials it spells);
- polarity: negation cues ("not", "without", "no longer", "rather than", ...) and the polar
  lexicon (enabled/disabled, adds/removes, rises/falls, faster/slower, ...) must sit on the same
  side as the source's words about the same thing; a comparison must not be turned around;
- invented detail: the claim's content words (stemmed, synonyms folded) must mostly be in the
  cited sources;
- wrong source: a claim that fails against the sources it cites but passes against another
  source of the pack names that source.

Nothing here calls a model. The source texts are read through documented attributes only
(id, title, text, excerpt, feed_title, published).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from . import lexicon
from .terms import STOPWORDS, stem

CLASSES = ("figure", "entity", "polarity", "wrong-source", "invented")
"""The kinds of unsupported claim, in the order a reason names them."""

COVERAGE_MIN = 0.5
"""Below this share of its (weighted) content words in the sources, a claim is invented."""
COVERAGE_SOFT = 0.75
"""Below this share, a claim with MISSING_MAX or more words the sources lack is invented."""
MISSING_MAX = 3

_TOKEN = re.compile(
    r"\d{1,3}(?:,\d{3})+(?:\.\d+)?[A-Za-z%]*"  # 2,400 / 61,000
    r"|[A-Za-z0-9](?:[A-Za-z0-9]|[.\-+'\u2019/](?=[A-Za-z0-9]))*%?(?:\(\))?"
    r"|[^\sA-Za-z0-9]"
)
_NUMBER_PART = re.compile(r"(\d[\d,]*(?:\.\d+)*)([a-z%]*)")
_CITES = re.compile(r"\[\s*[Ss]\s?\d+(?:\s*[,;]\s*(?:[Ss]\s?)?\d+)*\s*\]")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n+")
_POLAR_REACH = 4
_PARTICLES = frozenset({"out", "up", "off", "down", "away", "short", "clear", "free"})
_OPENERS = {":", "(", '"', "\u201c", "'", "-", "\u2014", "\u2013", "*", "\u2022", ";"}


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Problem:
    """One reason a claim is not supported."""

    kind: str  # one of CLASSES
    detail: str


@dataclass
class ClaimCheck:
    """The verdict on one claim against the sources it cites."""

    supported: bool
    kind: str | None = None  # the first problem's class, or None
    reason: str = ""
    problems: list[Problem] = field(default_factory=list)
    matches: str | None = None  # for "wrong-source": the source the claim matches instead
    coverage: float = 1.0
    missing: list[str] = field(default_factory=list)


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
    negated: set[int]
    polar: list[Polar]
    parts: list[str]  # every word split at hyphens, dots and slashes, for name matching


def tokenize(text: str) -> list[str]:
    """Split text into words (hyphenated names and figures kept whole) and punctuation."""
    return _TOKEN.findall(_CITES.sub(" ", text.replace("\u2019", "'")))


def analyse(text: str, vocabulary: set[str] | None = None) -> Analysis:
    """Read figures, names, content words, negation scopes and polar words out of `text`."""
    words = tokenize(text)
    lower = [w.lower() for w in words]
    figures = _figures(words, lower)
    names = _names(words, lower, vocabulary or set())
    name_pos = {i for i, _ in names}
    figure_pos = {f.pos for f in figures}
    content = []
    for i, w in enumerate(lower):
        if i in name_pos or i in figure_pos or not w[0].isalpha() or w in _UNIT_WORDS:
            continue
        for part in re.split(r"[-/.']", w):
            if len(part) >= 2 and part not in STOPWORDS and not part[0].isdigit():
                if part not in lexicon.MONTHS and part not in lexicon.WEEKDAYS:
                    content.append((i, stem(part)))
    negated, near_negation = _negation_scopes(lower)
    polar = []
    for i, w in enumerate(lower):
        entry = lexicon.POLAR.get(w)
        if entry is None:
            continue
        if w == "on" and not _near(lower, i, {"by", "default", "turned", "switched", "now"}):
            continue  # "on" is mostly a preposition
        scale, side = entry
        if (i in negated or i in near_negation) and side != "0":
            side = "-" if side == "+" else "+"
        polar.append(Polar(scale, side, w, i))
    parts = [p for w in lower for p in re.split(r"[^a-z0-9]+", w) if p]
    return Analysis(words, lower, figures, names, content, negated, polar, parts)


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
        for phrase in lexicon.NEGATION_PHRASES:
            bits = phrase.split()
            if lower[i : i + len(bits)] == bits:
                width = len(bits)
                break
        if not width and (lower[i] in lexicon.NEGATION_CUES or lower[i].endswith("n't")):
            width = 1
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
            figures.append(_fig(value * scale, value, scale, unit, words[i], i))
            continue
        if w in lexicon.MULTIPLIER_WORDS:
            value = lexicon.MULTIPLIER_WORDS[w]
            figures.append(_fig(value, value, 1.0, "x", words[i], i))
            continue
        if w in lexicon.FRACTION_WORDS and i > 0 and lower[i - 1] in {"a", "one", "by"}:
            value = lexicon.FRACTION_WORDS[w]
            figures.append(_fig(value, value, 1.0, "frac", words[i], i))
            continue
        if w in lexicon.WEEKDAYS:
            figures.append(_fig(0, 0, 1, "weekday", words[i], i, key=f"weekday:{w}"))
            continue
        if w in lexicon.MONTHS and _is_month(words, lower, i):
            month = lexicon.MONTHS[w]
            figures.append(_fig(month, month, 1, "month", words[i], i))
            continue
        if not w[0].isdigit() and not re.search(r"[-/]\d", w):
            continue
        figures += _number_token(words[i], w, lower, i)
    # "Gemma 3", "RTX 4090": a bare number right after a capitalised word belongs to a name.
    for f in figures:
        if f.pos > 0 and not f.unit and f.scale == 1.0 and words[f.pos - 1][:1].isupper():
            f.in_name = words[f.pos - 1].lower() not in lexicon.MONTHS
    # "2-, 3- and 4-bit": a number left hanging on a hyphen takes the unit of the list's end.
    for k, f in enumerate(figures):
        if not f.unit and f.pos + 1 < n and lower[f.pos + 1] == "-":
            later = [g for g in figures[k + 1 :] if g.unit and g.pos - f.pos <= 8]
            if later:
                f.unit = later[0].unit
    return figures


def _is_month(words: list[str], lower: list[str], i: int) -> bool:
    w = lower[i]
    if w in {"may", "march", "mar"} and not words[i][0].isupper():
        return False
    if len(w) <= 4 and w not in {"june", "july"}:
        return (
            words[i][0].isupper()
            and _near(lower, i, set(), 0)
            or any(t[:1].isdigit() for t in lower[max(0, i - 1) : i + 2])
        )
    return words[i][0].isupper()


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
            out.append(_fig(0, 0, 1, "version", original, i, key=key))
            continue
        raw = float(number)
        scale, unit = 1.0, ""
        if suffix in lexicon.SUFFIX_SCALE:
            scale = lexicon.SUFFIX_SCALE[suffix]
        elif suffix in lexicon.BYTE_UNITS:
            unit = lexicon.BYTE_UNITS[suffix]
        elif suffix in {"%", "x", "bit"}:
            unit = suffix
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
        fig = _fig(raw * scale, raw, scale, unit, original, i)
        fig.in_name = any(
            p.isalpha() and p not in {"bit", "bits", "x"} and p not in lexicon.BYTE_UNITS
            for p in parts
        )
        out.append(fig)
        last_unit = unit or last_unit
    # A range shares its unit: "40-70%", "3B-8B", "2- and 4-bit".
    for f in out:
        if not f.unit and last_unit and f.unit != "year" and f.unit != "version":
            f.unit = last_unit
    return out


def _fig(
    value: float, raw: float, scale: float, unit: str, text: str, pos: int, key: str = ""
) -> Figure:
    return Figure(value, raw, scale, unit, text, pos, key or f"{round(value, 6)!r}")


def figures_match(f: Figure, g: Figure) -> bool:
    """Whether claim figure f says the same as source figure g, spellings aside."""
    if f.unit in {"version", "weekday"} or g.unit in {"version", "weekday"}:
        return f.key == g.key or (f.unit == "version" and g.key == f.key.split(":")[1])
    if f.unit == "%" and g.unit == "frac":
        return abs(f.value / 100 - g.value) < 0.005
    if f.unit == "frac" and g.unit == "%":
        return abs(g.value / 100 - f.value) < 0.005
    if f.unit and g.unit and f.unit != g.unit and "year" not in {f.unit, g.unit}:
        return False
    if f.unit == "month" or g.unit == "month":
        return f.unit == g.unit and f.value == g.value
    if math.isclose(f.value, g.value, rel_tol=1e-9):
        return True
    # "7-8B" and "7B to 8B": an unscaled bare number may stand for the scaled one.
    if f.scale == 1.0 and not f.unit and math.isclose(f.raw, g.raw, rel_tol=1e-9):
        return True
    return g.scale == 1.0 and not g.unit and math.isclose(f.raw, g.raw, rel_tol=1e-9)


# -- names ------------------------------------------------------------------------------------


def _names(words: list[str], lower: list[str], vocabulary: set[str]) -> list[tuple[int, str]]:
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
        parts = re.split(r"[-/]", w)
        mixed = any(re.match(r"[A-Za-z]+\d", p) or re.search(r"[a-z][A-Z]", p) for p in parts)
        dotted = bool(re.search(r"[a-z]\.[a-z]", low))
        caps = bool(re.fullmatch(r"[A-Z]{2,}[A-Z0-9]*s?", parts[0]))
        capital = w[0].isupper()
        if mixed or dotted or caps:
            names.append((i, w))
        elif capital and not starts:
            names.append((i, w))
        elif capital and starts and _unknown_word(low, vocabulary):
            names.append((i, w))
    return names


def _unknown_word(low: str, vocabulary: set[str]) -> bool:
    """A capitalised first word is a name unless it is a common word (or the pack uses it so)."""
    base = low.split("-")[0].split("'")[0]
    if base in STOPWORDS or base in _COMMON_OPENERS or base in vocabulary:
        return False
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


def name_in(name: str, source: Analysis, joined: set[str]) -> bool:
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


def joined_ngrams(parts: list[str], longest: int = 5) -> set[str]:
    """Every run of up to `longest` consecutive parts, glued together ("openai", "kestrel7b")."""
    grams: set[str] = set()
    for i in range(len(parts)):
        glued = ""
        for j in range(i, min(len(parts), i + longest)):
            glued += parts[j]
            grams.add(glued)
    return grams


# --------------------------------------------------------------------------------------------
# The pack's sources, analysed once


@dataclass
class SourceText:
    id: str
    analysis: Analysis
    joined: set[str]
    canon: set[str]
    sentences: list[Analysis]
    date_figures: list[Figure]


class ClaimIndex:
    """The sources of a pack, analysed for claim checks."""

    def __init__(self, sources: list[SourceText], df: dict[str, int], vocabulary: set[str]):
        self.sources = {s.id: s for s in sources}
        self.order = [s.id for s in sources]
        self._df = df
        self._n = max(1, len(sources))
        self.vocabulary = vocabulary
        self.known_names = {n.lower() for s in sources for _, n in s.analysis.names}
        """Names the sources use: a capitalised first word that is one of them is a name."""

    @classmethod
    def from_pack(cls, pack: Any) -> ClaimIndex:
        raw = []
        vocabulary: set[str] = set()
        for s in list(getattr(pack, "sources", None) or []):
            body = "\n".join(
                str(getattr(s, a, "") or "") for a in ("title", "excerpt", "text", "feed_title")
            )
            raw.append((s, body))
            vocabulary |= {w for w in tokenize(body) if w.islower()}
        texts = []
        df: dict[str, int] = {}
        for s, body in raw:
            a = analyse(body, vocabulary)
            terms_all = [t for _, t in a.content]
            terms_all += [stem(p) for _, n in a.names for p in re.split(r"[^a-z]+", n.lower()) if p]
            canon = set().union(*(canonical(t) for t in terms_all)) if terms_all else set()
            for c in canon:
                df[c] = df.get(c, 0) + 1
            sentences = [analyse(x, vocabulary) for x in _SENTENCE_BREAK.split(body) if x.strip()]
            dates = _published_figures(getattr(s, "published", None))
            texts.append(SourceText(s.id, a, joined_ngrams(a.parts), canon, sentences, dates))
        return cls(texts, df, vocabulary)

    def idf(self, canon: set[str]) -> float:
        df = max((self._df.get(c, 0) for c in canon), default=0)
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def check(self, claim: str, ids: list[str]) -> ClaimCheck:
        """Check `claim` (its citations removed or not) against the sources `ids`."""
        a = analyse(claim, self.vocabulary)
        cited = [self.sources[i] for i in ids if i in self.sources]
        if not cited:
            return ClaimCheck(False, "invented", "cites no source of the evidence")
        result = self._check(a, cited)
        if result.supported:
            return result
        best: tuple[float, str] | None = None
        for sid in self.order:
            if sid in ids:
                continue
            other = self._check(a, [self.sources[sid]])
            if other.supported and (best is None or other.coverage > best[0]):
                best = (other.coverage, sid)
        if best is not None:
            where = ", ".join(ids)
            problem = Problem("wrong-source", f"cites [{where}] but matches [{best[1]}]")
            result.problems.insert(0, problem)
            result.kind, result.matches = "wrong-source", best[1]
            result.reason = "; ".join(p.detail for p in result.problems)
        return result

    # -- the checks ------------------------------------------------------------------------

    def _check(self, a: Analysis, cited: list[SourceText]) -> ClaimCheck:
        problems: list[Problem] = []
        where = ", ".join(s.id for s in cited)
        problems += self._figure_problems(a, cited, where)
        problems += self._name_problems(a, cited, where)
        problems += self._polarity_problems(a, cited, where)
        coverage, missing = self._coverage(a, cited)
        clause = _unsupported_clause(a, set().union(*(s.canon for s in cited)))
        if coverage < COVERAGE_MIN or (coverage < COVERAGE_SOFT and len(missing) >= MISSING_MAX):
            problems.append(Problem("invented", f"not in [{where}]: {', '.join(missing[:6])}"))
        elif clause:
            problems.append(Problem("invented", f'not in [{where}]: "{clause}"'))
        order = {k: n for n, k in enumerate(CLASSES)}
        problems.sort(key=lambda p: order.get(p.kind, 99))
        return ClaimCheck(
            supported=not problems,
            kind=problems[0].kind if problems else None,
            reason="; ".join(p.detail for p in problems),
            problems=problems,
            coverage=round(coverage, 3),
            missing=missing[:8],
        )

    def _figure_problems(self, a: Analysis, cited: list[SourceText], where: str) -> list[Problem]:
        pool = [(s, f) for s in cited for f in [*s.analysis.figures, *s.date_figures]]
        pool += [(s, f) for s in cited for f in _derived_percentages(s.analysis)]
        problems = []
        for f in a.figures:
            same = [(s, g) for s, g in pool if figures_match(f, g)]
            if not same:
                kin = [g for _, g in pool if _same_kind(f, g)]
                says = _figure_list(kin or [g for _, g in pool])
                detail = f'"{f.text}" is not in [{where}]'
                problems.append(
                    Problem("figure", detail + (f" (the source says {says})" * bool(says)))
                )
                continue
            swap = self._swapped(a, f, same, [(s, g) for s, g in pool if _same_kind(f, g)])
            if swap is not None:
                problems.append(
                    Problem(
                        "figure",
                        f'"{f.text}" is attached to the wrong thing: [{where}] gives '
                        f'{swap.text} for "{_context_text(a, f.pos)}"',
                    )
                )
        return problems

    def _swapped(
        self,
        a: Analysis,
        f: Figure,
        same: list[tuple[SourceText, Figure]],
        kin: list[tuple[SourceText, Figure]],
    ) -> Figure | None:
        ctx = _stems_near(a, f.pos)
        if len(ctx) < 2 or f.in_name:
            return None
        best_same = max(len(ctx & _stems_near(s.analysis, g.pos)) for s, g in same)
        best_other: tuple[int, Figure] | None = None
        for s, g in kin:
            if figures_match(f, g) or g.pos < 0 or g.in_name:
                continue
            if any(s2 is s and abs(m.pos - g.pos) <= 3 for s2, m in same):
                continue  # the other end of the same range or list: "3B to 8B"
            score = len(ctx & _stems_near(s.analysis, g.pos))
            if best_other is None or score > best_other[0]:
                best_other = (score, g)
        if best_other and best_other[0] >= 2 and best_other[0] > best_same:
            return best_other[1]
        return None

    def _name_problems(self, a: Analysis, cited: list[SourceText], where: str) -> list[Problem]:
        missing = []
        for _, name in a.names:
            if not any(name_in(name, s.analysis, s.joined) for s in cited):
                missing.append(name)
        if not missing:
            return []
        shown = ", ".join(f'"{n}"' for n in dict.fromkeys(missing))
        return [Problem("entity", f"{shown} not in [{where}]")]

    def _polarity_problems(self, a: Analysis, cited: list[SourceText], where: str) -> list[Problem]:
        problems = []
        claim_items = _items(a)
        for key, side, pos, word in claim_items:
            ctx = _clause_context(a, pos)
            found: list[tuple[int, str, str, Analysis]] = []
            for s in cited:
                for sent in s.sentences:
                    for key2, side2, pos2, word2 in _items(sent):
                        if key2 != key:
                            continue
                        score = _overlap(ctx, _clause_context(sent, pos2))
                        if score or key.startswith("w:"):
                            found.append((score, side2, word2, sent))
            if not found:
                continue
            top = max(score for score, *_ in found)
            best = [x for x in found if x[0] == top]
            if any(side2 == side for _, side2, _, _ in best):
                continue
            _, _, word2, sent = best[0]
            said = " ".join(sent.words[:24]) + (" ..." if len(sent.words) > 24 else "")
            problems.append(
                Problem("polarity", f'"{word}" contradicts [{where}], which says: "{said}"')
            )
            break
        if not problems:
            flipped = _reversed_comparison(a, [x for s in cited for x in s.sentences])
            if flipped is not None:
                problems.append(
                    Problem(
                        "polarity",
                        f'the comparison is the other way round in [{where}]: "{flipped}"',
                    )
                )
        return problems

    def _coverage(self, a: Analysis, cited: list[SourceText]) -> tuple[float, list[str]]:
        have = set().union(*(s.canon for s in cited))
        total = got = 0.0
        missing: list[str] = []
        for i, term in dict.fromkeys(a.content):
            if a.lower[i] in lexicon.LIGHT_WORDS:
                continue
            canon = canonical(term)
            weight = self.idf(canon)
            total += weight
            if canon & have:
                got += weight
            elif a.words[i].lower() not in missing:
                missing.append(a.words[i].lower())
        return (got / total if total else 1.0), missing


# --------------------------------------------------------------------------------------------
# Helpers shared by the checks


def canonical(term: str) -> set[str]:
    """The synonym groups a stemmed word belongs to (or the word itself)."""
    return _SYNONYMS.get(term, {term})


def _build_synonyms() -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    for n, group in enumerate(lexicon.SYNONYM_GROUPS):
        for word in group.split():
            table.setdefault(stem(word), {stem(word)}).add(f"#{n}")
    return table


_SYNONYMS = _build_synonyms()


def _context(a: Analysis, pos: int, window: int = 3) -> set[str]:
    """The synonym-folded content words nearest to position `pos`: `window` on each side."""
    before = [t for i, t in a.content if i < pos][-window:]
    after = [t for i, t in a.content if i > pos][:window]
    return set().union(*(canonical(t) for t in before + after)) if before or after else set()


_CLAUSE_BREAKS = frozenset(
    {
        ",",
        ";",
        ":",
        ".",
        "(",
        ")",
        "!",
        "?",
        "but",
        "while",
        "whereas",
        "although",
        "though",
        "and",
        "because",
        "which",
        "than",
        "so",
        "yet",
    }
)


def _clause_context(a: Analysis, pos: int, window: int = 4) -> set[str]:
    """Content words of the clause around `pos` (up to `window` on each side)."""
    lo, hi = _clause_bounds(a, pos)
    before = [t for i, t in a.content if lo <= i < pos][-window:]
    after = [t for i, t in a.content if pos < i <= hi][:window]
    return set().union(*(canonical(t) for t in before + after)) if before or after else set()


CLAUSE_MIN_WORDS = 3
"""A clause of at least this many content words, most of them in no cited source, is invented."""


def _unsupported_clause(a: Analysis, have: set[str]) -> str:
    """The first clause of the claim whose content words are mostly not in the sources."""
    start = 0
    bounds = [i for i, w in enumerate(a.lower) if w in _CLAUSE_BREAKS] + [len(a.lower)]
    for end in bounds:
        terms = [
            (i, t)
            for i, t in a.content
            if start <= i < end and a.lower[i] not in lexicon.LIGHT_WORDS
        ]
        if len(terms) >= CLAUSE_MIN_WORDS:
            covered = sum(1 for _, t in terms if canonical(t) & have)
            if covered * 2 < len(terms):
                return " ".join(a.words[start:end]).strip(" ,;")
        start = end + 1
    return ""


def _stems_near(a: Analysis, pos: int, window: int = 2) -> set[str]:
    """The exact stems of the `window` content words on each side of `pos`, in its phrase.

    The phrase ends at the neighbouring figures too: in "270M has 170 million embedding
    parameters" the words after 170 million describe 170 million, not 270M.
    """
    lo, hi = _clause_bounds(a, pos, _PHRASE_BREAKS)
    for f in a.figures:
        if f.pos < pos:
            lo = max(lo, f.pos + 1)
        elif f.pos > pos:
            hi = min(hi, f.pos - 1)
    before = [t for i, t in a.content if lo <= i < pos][-window:]
    after = [t for i, t in a.content if pos < i <= hi][:window]
    return set(before + after)


def _clause_bounds(
    a: Analysis, pos: int, breaks: frozenset[str] = _CLAUSE_BREAKS
) -> tuple[int, int]:
    lo = pos
    while lo > 0 and a.lower[lo - 1] not in breaks and pos - lo < 12:
        lo -= 1
    hi = pos
    while hi + 1 < len(a.lower) and a.lower[hi + 1] not in breaks and hi - pos < 12:
        hi += 1
    return lo, hi


_PHRASE_BREAKS = _CLAUSE_BREAKS - {"which", "than", "so"}


def _context_text(a: Analysis, pos: int) -> str:
    lo, hi = max(0, pos - 3), min(len(a.words), pos + 4)
    return " ".join(a.words[lo:hi])


def _overlap(x: set[str], y: set[str]) -> int:
    return len(
        {c for c in x & y if not c.startswith("#")} | {c for c in x & y if c.startswith("#")}
    )


def _items(a: Analysis) -> list[tuple[str, str, int, str]]:
    """Polar items: lexicon words with their side, and negated content words ("w:" keys)."""
    items = [(f"p:{p.scale}", p.side, p.pos, p.word) for p in a.polar]
    polar_pos = {p.pos for p in a.polar}
    for i, term in a.content:
        if i in polar_pos:
            continue
        items.append((f"w:{term}", "-" if i in a.negated else "+", i, a.words[i]))
    for i, name in a.names:
        items.append((f"w:{name.lower()}", "-" if i in a.negated else "+", i, name))
    return items


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
    """ "one claim in five" also reads as 20%; "half" as 50%."""
    out = []
    text = " ".join(a.lower)
    words = {**lexicon.NUMBER_WORDS, "one": 1}
    for m in re.finditer(r"\b(\w+) (?:\w+ ){0,2}in (\w+)\b", text):
        x, y = words.get(m.group(1)), words.get(m.group(2))
        if x is None and m.group(1).isdigit():
            x = int(m.group(1))
        if y is None and m.group(2).isdigit():
            y = int(m.group(2))
        if x and y and x < y:
            out.append(_fig(100 * x / y, 100 * x / y, 1, "%", m.group(0), -1))
    return out


def _published_figures(published: Any) -> list[Figure]:
    if published is None or not hasattr(published, "year"):
        return []
    names = list(lexicon.WEEKDAYS)
    order = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    assert set(order) == set(names)
    day = order[published.weekday()]
    return [
        _fig(published.year, published.year, 1, "year", str(published.year), -1),
        _fig(published.month, published.month, 1, "month", f"{published:%B}", -1),
        _fig(published.day, published.day, 1, "", str(published.day), -1),
        _fig(0, 0, 1, "weekday", day, -1, key=f"weekday:{day}"),
    ]


def _reversed_comparison(a: Analysis, sentences: list[Analysis]) -> str | None:
    """A "more X than Y" claim whose sides are swapped relative to its source."""
    if "than" not in a.lower:
        return None
    k = a.lower.index("than")
    cb = set().union(*(canonical(t) for i, t in a.content if i < k)) if a.content else set()
    ca = set().union(*(canonical(t) for i, t in a.content if i > k)) if a.content else set()
    cb |= {f.key for f in a.figures if f.pos < k}
    ca |= {f.key for f in a.figures if f.pos > k}
    anchors_b = {f.key for f in a.figures if f.pos < k} | {n.lower() for i, n in a.names if i < k}
    anchors_a = {f.key for f in a.figures if f.pos > k} | {n.lower() for i, n in a.names if i > k}
    for sent in sentences:
        if "than" not in sent.lower:
            continue
        j = sent.lower.index("than")
        src_b = {f.key for f in sent.figures if f.pos < j} | {
            n.lower() for i, n in sent.names if i < j
        }
        src_a = {f.key for f in sent.figures if f.pos > j} | {
            n.lower() for i, n in sent.names if i > j
        }
        kept = len((anchors_b & src_b) - src_a) + len((anchors_a & src_a) - src_b)
        swapped = len((anchors_b & src_a) - src_b) + len((anchors_a & src_b) - src_a)
        if swapped >= 2 and kept == 0:
            return " ".join(sent.words[:24])
        sb = {c for i, t in sent.content if i < j for c in canonical(t)}
        sa = {c for i, t in sent.content if i > j for c in canonical(t)}
        sb |= {f.key for f in sent.figures if f.pos < j}
        sa |= {f.key for f in sent.figures if f.pos > j}
        straight = len((cb & sb) - sa) + len((ca & sa) - sb)
        crossed = len((cb & sa) - sb) + len((ca & sb) - sa)
        if crossed >= 2 and crossed > straight + 1:
            return " ".join(sent.words[:24])
    return None
