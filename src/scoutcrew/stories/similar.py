"""What tells two news items apart: their rare words and names, weighed by how rare each is.

Each item becomes a profile: a unit vector over its content words and names (title words count
twice, names more than other words), where a word weighs what it is worth in English at large:
"the" nothing, "earthquake" some, "Qeshm" or "Klitschko" a lot. That weight comes from wordfreq's
English word frequencies (a fixed table, so two items score the same in a run of 10 items as in
a run of 10,000), with the batch's own document frequencies as the fallback when wordfreq is not
installed. Two items' similarity is the cosine of their profiles, computed through an inverted
index over each profile's heaviest terms, so a large run compares only items that share them.

Names also matter on their own: two events of one kind (two earthquakes, two DUI arrests) are
told with the same words but about different people and places, so a group's headline names
are kept for the clusterer's "different event" test (see group.py).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..text.measure import STOPWORDS

TITLE_WEIGHT = 2.0  # a word of the headline (or a note's fact) counts this many times
NAME_WEIGHT = 1.0  # a name counts once more as a name ("N:qeshm"), besides as a word
TEXT_CHARS = 3000  # the lead of a long text tells the event; the rest only adds noise and time
TOP_TERMS = 30  # a profile keeps its heaviest terms
COMMON_POSTINGS = 150  # a term in more items than this joins no pair by itself
RARE = 9.0  # a word's weight is RARE minus its Zipf frequency (wordfreq's log scale)
MIN_WEIGHT = 0.3
NUMBER_WEIGHT = 4.0  # a figure that is not a year: specific, but often repeated in other news

_TOKEN = re.compile(
    r"[A-Za-z\u00c0-\u024f](?:[A-Za-z0-9\u00c0-\u024f']|-(?=[A-Za-z0-9]))*"
    r"|\d+(?:[.,]\d+)*|[.!?](?=\s|$)|\n"
)
_SKIP = STOPWORDS | frozenset(
    "said says say told tells according would could just like also even still yet us mr mrs ms "
    "dr st it's i'm don't didn't isn't wasn't can't won't there here".split()
)


@dataclass
class Profile:
    """One item as the grouping sees it."""

    vector: dict[str, float]  # unit length: term -> weight
    names: frozenset[str]  # every name in the item
    headline_names: frozenset[str]  # names in its title


def item_profile(title: str, text: str, facts: Sequence[str] = ()) -> Profile:
    """The profile of one item from its title, the lead of its text and its note's facts."""
    counts: dict[str, float] = defaultdict(float)
    headline = _count_terms(title, counts, TITLE_WEIGHT, headline=True)
    names = set(headline)
    for part in (" ".join(facts), text[:TEXT_CHARS]):
        names |= _count_terms(part, counts, 1.0, headline=False)
    return Profile(_weigh(counts), frozenset(names), frozenset(headline))


def _count_terms(text: str, counts: dict[str, float], weight: float, *, headline: bool) -> set[str]:
    """Count the text's words and names into `counts`; return its names.

    A capitalised word that does not start a sentence is a name; in a Title Case headline only
    a word that is rare in English is (so "Arrested" is not, "Klitschko" is). A capitalised
    word with a figure in it (Kestrel-7B) is a name wherever it stands."""
    tokens = _TOKEN.findall(text)
    title_case = headline and sum(1 for t in tokens if t[:1].isupper()) > 0.6 * len(tokens) > 1.2
    names = set()
    starts = True
    for token in tokens:
        if token in ".!?\n":
            starts = True
            continue
        first, starts = starts, False
        word = token.lower().strip("'-")
        if word.endswith("'s"):
            word = word[:-2]
        if len(word) < 2 or word in _SKIP:
            continue
        counts[word] += weight
        named = not first and token[0].isupper() and (not title_case or zipf(word) < 4.0)
        if named or (any(c.isdigit() for c in word) and token[0].isupper()):
            names.add(word)
            counts["N:" + word] += weight * NAME_WEIGHT
    return names


def _weigh(counts: dict[str, float]) -> dict[str, float]:
    weights = {t: (1.0 + math.log(c) if c >= 1 else c) * term_weight(t) for t, c in counts.items()}
    top = sorted(weights.items(), key=lambda kv: -kv[1])[:TOP_TERMS]
    norm = math.sqrt(sum(w * w for _t, w in top)) or 1.0
    return {t: w / norm for t, w in top}


@lru_cache(maxsize=200_000)
def term_weight(term: str) -> float:
    """What a term is worth: how rare it is in English (a name by the same measure)."""
    word = term[2:] if term.startswith("N:") else term
    if word[0].isdigit():
        return RARE - 4.5 if len(word) == 4 and word[:2] in {"19", "20"} else NUMBER_WEIGHT
    return max(MIN_WEIGHT, RARE - zipf(word))


@lru_cache(maxsize=200_000)
def zipf(word: str) -> float:
    """A word's frequency in English on wordfreq's Zipf scale (0 for unknown, ~7.7 for "the")."""
    table = _frequencies()
    if table is None:
        return 0.0
    freq = table.get(word)
    return math.log10(freq) + 9.0 if freq else 0.0


_USE_FREQUENCIES = [True]


def use_word_frequencies(enabled: bool) -> None:
    """Weigh words by wordfreq (the default when it is installed) or by the batch alone."""
    _USE_FREQUENCIES[0] = enabled
    zipf.cache_clear()
    term_weight.cache_clear()


def _frequencies() -> dict[str, float] | None:
    return _load_frequencies() if _USE_FREQUENCIES[0] else None


@lru_cache(maxsize=1)
def _load_frequencies() -> dict[str, float] | None:
    try:
        import wordfreq
    except ImportError:
        return None
    return dict(wordfreq.get_frequency_dict("en"))


def have_frequencies() -> bool:
    """Whether word weights come from wordfreq (else from the batch's own frequencies)."""
    return _frequencies() is not None


def batch_weights(profiles: list[Profile]) -> list[Profile]:
    """Without wordfreq: reweigh every profile by its terms' inverse frequency in the batch."""
    df: Counter[str] = Counter()
    for p in profiles:
        df.update(p.vector)
    n = len(profiles)
    out = []
    for p in profiles:
        w = {t: v * (math.log((n + 1) / (df[t] + 1)) + 1.0) for t, v in p.vector.items()}
        norm = math.sqrt(sum(x * x for x in w.values())) or 1.0
        out.append(Profile({t: x / norm for t, x in w.items()}, p.names, p.headline_names))
    return out


def similarities(profiles: Sequence[Profile], floor: float) -> dict[tuple[int, int], float]:
    """Cosine similarity of every pair of profiles that reaches `floor`, as {(i, j): s} with
    i < j, computed through an inverted index (terms shared by very many items are skipped)."""
    df: Counter[str] = Counter(t for p in profiles for t in p.vector)
    postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
    scores: dict[tuple[int, int], float] = {}
    for j, p in enumerate(profiles):
        acc: dict[int, float] = defaultdict(float)
        for term, weight in p.vector.items():
            if df[term] > COMMON_POSTINGS:
                continue
            posting = postings[term]
            for i, other in posting:
                acc[i] += weight * other
            posting.append((j, weight))
        for i, s in acc.items():
            if s >= floor:
                scores[(i, j)] = s
    return scores
