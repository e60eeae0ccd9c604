"""Check one cited claim against the text of its sources, in code, and give it one of three
verdicts: supported, contradicted (a cited source says otherwise), not confirmed (the code
cannot tell, or the claim adds detail).

The checks are deliberately plain so a reader can predict them:

- figures (figures.py): every number of the claim must fit a number of the cited sources,
  spellings, bounds and roundings judged against the number; another value for the same thing,
  or a figure attached to the wrong thing, contradicts the claim;
- names (names.py): every name must be in the cited sources, or a variant of one; another name
  in the same slot contradicts the claim;
- polarity (polarity.py): negations and opposites must sit on the source's side, clause by
  clause; a comparison must not be turned around;
- invented detail: the claim's content words (lemmas, synonyms folded) must mostly be in the
  cited sources; what they lack is not confirmed;
- wrong source: a claim that fails against the sources it cites but passes against another
  source of the pack names that source, and is contradicted.

Nothing here calls a model. The source texts are read through documented attributes only
(id, title, text, excerpt, feed_title, published).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..text.terms import STOPWORDS, stem
from . import lexicon
from .context import CLAUSE_BREAKS, all_terms
from .facts import (
    SENTENCE_BREAK,
    Analysis,
    Figure,
    JoinedParts,
    analyse,
    joined_ngrams,
    tokenize,
)
from .figures import figure_problems, negates_a_figure, published_figures
from .names import name_runs, opens_with_anaphor, other_name_in_role, run_found
from .polarity import polarity_problems
from .problems import CLASSES, CONTRADICTED, NOT_CONFIRMED, SUPPORTED, Problem
from .words import canonical, forms

if TYPE_CHECKING:
    from ..select.pack import EvidencePack

COVERAGE_MIN = 0.5
"""Below this share of its (weighted) content words in the sources, a claim is invented."""
COVERAGE_SOFT = 0.75
"""Below this share, a claim with MISSING_MAX or more words the sources lack is invented."""
MISSING_MAX = 3
SHARED_BEGINNING = 6
"""A word the sources lack but whose first six letters begin one of theirs is the same word in
another form ("introduction" for "introduced", "difference" for "differed")."""
NEAR_MAX = 12
"""At most this many source sentences (those sharing the most words) are read for polarity."""


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class ClaimCheck:
    """The verdict on one claim against the sources it cites."""

    verdict: str  # one of problems.VERDICTS
    kind: str | None = None  # the class of the problem that decides the verdict, or None
    reason: str = ""
    problems: list[Problem] = field(default_factory=list)
    matches: str | None = None  # for "wrong-source": the source the claim matches instead
    coverage: float = 1.0
    missing: list[str] = field(default_factory=list)

    @property
    def supported(self) -> bool:
        return self.verdict == SUPPORTED


# --------------------------------------------------------------------------------------------
# The pack's sources, analysed once


@dataclass
class SourceText:
    id: str
    analysis: Analysis
    joined: JoinedParts
    canon: set[str]
    raw_sentences: list[tuple[str, frozenset[str]]]  # each sentence and its lowercase words
    date_figures: list[Figure]
    vocabulary: set[str] = field(default_factory=set, repr=False)
    _read: dict[int, Analysis] = field(default_factory=dict, repr=False)

    def sentences_near(self, a: Analysis) -> list[Analysis]:
        """The sentences that share the most words with the claim (two at least, NEAR_MAX at
        most), analysed on first use: a long page is read in full once, and sentence by
        sentence only where a claim touches it."""
        words = set(a.lower) - STOPWORDS
        shared = [
            (len(words & lower), n)
            for n, (_, lower) in enumerate(self.raw_sentences)
            if len(words & lower) >= 2
        ]
        shared.sort(key=lambda x: (-x[0], x[1]))
        out = []
        for _, n in sorted(shared[:NEAR_MAX], key=lambda x: x[1]):
            if n not in self._read:
                self._read[n] = analyse(self.raw_sentences[n][0], self.vocabulary)
            out.append(self._read[n])
        return out


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
    def from_pack(cls, pack: EvidencePack | None) -> ClaimIndex:
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
            a = analyse(body, vocabulary, polarity=False)
            terms_all = [t for _, t in a.content]
            terms_all += [stem(p) for _, n in a.names for p in re.split(r"[^a-z]+", n.lower()) if p]
            canon = set().union(*(canonical(t) for t in terms_all)) if terms_all else set()
            for i in dict.fromkeys(i for i, _ in a.content):
                for part in re.split(r"[-/.']", a.lower[i]):
                    canon |= forms(part)
            for c in canon:
                df[c] = df.get(c, 0) + 1
            sentences = [
                (x, frozenset(w.lower() for w in tokenize(x)) - STOPWORDS)
                for x in SENTENCE_BREAK.split(body)
                if x.strip()
            ]
            dates = published_figures(getattr(s, "published", None))
            texts.append(
                SourceText(s.id, a, joined_ngrams(a.parts), canon, sentences, dates, vocabulary)
            )
        return cls(texts, df, vocabulary)

    def idf(self, canon: set[str]) -> float:
        df = max((self._df.get(c, 0) for c in canon), default=0)
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def check(self, claim: str, ids: list[str]) -> ClaimCheck:
        """Check `claim` (its citations removed or not) against the sources `ids`."""
        a = analyse(claim, self.vocabulary, self.known_names)
        cited = [self.sources[i] for i in ids if i in self.sources]
        if not cited:
            return ClaimCheck(NOT_CONFIRMED, "invented", "cites no source of the evidence")
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
            problem = Problem("wrong-source", f"cites [{where}] but matches [{best[1]}]", True)
            result.problems.insert(0, problem)
            result.verdict, result.kind, result.matches = CONTRADICTED, "wrong-source", best[1]
            result.reason = "; ".join(p.detail for p in result.problems)
        return result

    # -- the checks ------------------------------------------------------------------------

    def _check(self, a: Analysis, cited: list[SourceText]) -> ClaimCheck:
        problems: list[Problem] = []
        where = ", ".join(s.id for s in cited)
        problems += figure_problems(a, [(s.analysis, s.date_figures) for s in cited], where)
        problems += self._name_problems(a, cited, where)
        near = [sent for s in cited for sent in s.sentences_near(a)]
        problems += polarity_problems(a, near, where)
        if negates_a_figure(a) and any(p.kind == "figure" for p in problems):
            # "did not sign in 2014" where the source says she signed in 2018: a negated claim
            # about another figure is not what the source denies. The code cannot tell.
            for p in problems:
                if p.kind in {"figure", "polarity"}:
                    p.contradicts = False
        coverage, missing = self._coverage(a, cited)
        clause = _unsupported_clause(a, set().union(*(s.canon for s in cited)))
        if coverage < COVERAGE_MIN or (coverage < COVERAGE_SOFT and len(missing) >= MISSING_MAX):
            problems.append(Problem("invented", f"not in [{where}]: {', '.join(missing[:6])}"))
        elif clause:
            problems.append(Problem("invented", f'not in [{where}]: "{clause}"'))
        order = {k: n for n, k in enumerate(CLASSES)}
        problems.sort(key=lambda p: (not p.contradicts, order.get(p.kind, 99)))
        verdict = SUPPORTED
        if problems:
            verdict = CONTRADICTED if problems[0].contradicts else NOT_CONFIRMED
        return ClaimCheck(
            verdict=verdict,
            kind=problems[0].kind if problems else None,
            reason="; ".join(p.detail for p in problems),
            problems=problems,
            coverage=round(coverage, 3),
            missing=missing[:8],
        )

    def _name_problems(self, a: Analysis, cited: list[SourceText], where: str) -> list[Problem]:
        runs = name_runs(a)
        missing = [r for r in runs if not any(run_found(r, s.analysis, s.joined) for s in cited)]
        if not missing:
            return []
        aligned = _best_sentence(a, cited)
        first_word = next((i for i, w in enumerate(a.lower) if w[:1].isalnum()), -1)
        if (
            len(missing) == 1
            and missing[0].start == first_word
            and all(
                re.fullmatch(r"[A-Z\u00c0-\u024f][a-z\u00c0-\u024f'.]*", w)
                for w in missing[0].words
            )
            and aligned is not None
            and opens_with_anaphor(aligned)
        ):
            return []  # "Sandra Bullock was ..." where the source says "She was ..."
        problems = []
        for run in missing:
            rival = other_name_in_role(a, run, aligned, runs) if aligned is not None else None
            if rival is not None:
                detail = f'"{run.text}" where [{where}] names "{rival.text}"'
                problems.append(Problem("entity", detail, True))
        unmatched = [r.text for r in missing]
        if not problems:
            shown = ", ".join(f'"{n}"' for n in dict.fromkeys(unmatched))
            problems.append(Problem("entity", f"{shown} not in [{where}]"))
        return problems

    def _coverage(self, a: Analysis, cited: list[SourceText]) -> tuple[float, list[str]]:
        have = set().union(*(s.canon for s in cited))
        beginnings = set().union(*(_beginnings(s.analysis) for s in cited))
        total = got = 0.0
        missing: list[str] = []
        for i, term in dict.fromkeys(a.content):
            if a.lower[i] in lexicon.LIGHT_WORDS:
                continue
            canon = canonical(term)
            weight = self.idf(canon)
            total += weight
            if canon & have or a.lower[i][:SHARED_BEGINNING] in beginnings:
                got += weight
            elif a.words[i].lower() not in missing:
                missing.append(a.words[i].lower())
        return (got / total if total else 1.0), missing


# --------------------------------------------------------------------------------------------
# Helpers shared by the checks


def _beginnings(a: Analysis) -> set[str]:
    found: set[str] | None = a.cache.get("beginnings")
    if found is None:
        found = a.cache["beginnings"] = {
            w[:SHARED_BEGINNING] for w in a.lower if len(w) >= SHARED_BEGINNING and w.isalpha()
        }
    return found


def _best_sentence(a: Analysis, cited: list[SourceText]) -> Analysis | None:
    """The source sentence that shares the most content words and names with the claim."""
    want = all_terms(a) | {n.lower() for _, n in a.names}
    best: tuple[int, Analysis] | None = None
    for s in cited:
        for sent in s.sentences_near(a):
            score = len(want & (all_terms(sent) | {n.lower() for _, n in sent.names}))
            if score and (best is None or score > best[0]):
                best = (score, sent)
    return best[1] if best and best[0] >= 2 else None


CLAUSE_MIN_WORDS = 3
"""A clause of at least this many content words, most of them in no cited source, is invented."""


def _unsupported_clause(a: Analysis, have: set[str]) -> str:
    """The first clause of the claim whose content words are mostly not in the sources."""
    start = 0
    bounds = [i for i, w in enumerate(a.lower) if w in CLAUSE_BREAKS] + [len(a.lower)]
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
