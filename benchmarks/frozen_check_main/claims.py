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
from .facts import (
    SENTENCE_BREAK,
    Analysis,
    Figure,
    analyse,
    figures_match,
    joined_ngrams,
    make_figure,
    name_in,
    tokenize,
)
from .terms import stem

CLASSES = ("figure", "entity", "polarity", "wrong-source", "invented")
"""The kinds of unsupported claim, in the order a reason names them."""

COVERAGE_MIN = 0.5
"""Below this share of its (weighted) content words in the sources, a claim is invented."""
COVERAGE_SOFT = 0.75
"""Below this share, a claim with MISSING_MAX or more words the sources lack is invented."""
MISSING_MAX = 3


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
        self.cache: dict[str, Any] = {}  # what other checks build from the same pack
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
            sentences = [analyse(x, vocabulary) for x in SENTENCE_BREAK.split(body) if x.strip()]
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
        whole = _all_terms(a)
        for key, side, pos, word in claim_items:
            reach = 4 if key.startswith("w:") else 2
            ctx = _clause_context(a, pos, reach)
            found: list[tuple[tuple[int, int], str, str, Analysis]] = []
            for s in cited:
                for sent in s.sentences:
                    for side2, _pos2, word2, ctx2 in _indexed_items(sent, reach).get(key, ()):
                        near = _overlap(ctx, ctx2)
                        # Two polar words of one scale must be about the same things ("more
                        # tokens" vs "no gain in quality" are not): they share their neighbours.
                        if near >= (1 if key.startswith("w:") else 2):
                            score = (near, len(whole & _all_terms(sent)))
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
    before = [t for i, t in a.context if lo <= i < pos][-window:]
    after = [t for i, t in a.context if pos < i <= hi][:window]
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


def _all_terms(a: Analysis) -> set[str]:
    if "terms" not in a.cache:
        a.cache["terms"] = {t for _, t in a.content}
    return a.cache["terms"]


def _indexed_items(a: Analysis, reach: int) -> dict[str, list[tuple[str, int, str, set[str]]]]:
    """A source sentence's polar items by key, with their contexts (computed once)."""
    slot = f"items{reach}"
    if slot not in a.cache:
        table: dict[str, list[tuple[str, int, str, set[str]]]] = {}
        for key, side, pos, word in _items(a):
            table.setdefault(key, []).append((side, pos, word, _clause_context(a, pos, reach)))
        a.cache[slot] = table
    return a.cache[slot]


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
            out.append(make_figure(100 * x / y, 100 * x / y, 1, "%", m.group(0), -1))
    return out


def _published_figures(published: Any) -> list[Figure]:
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
