"""What tells two news items apart: their rare words and names, weighed by how rare each is.

Each item becomes a profile: a unit vector over its content words and names (title words count
twice, names more than other words), where a word weighs what it is worth in English at large:
"the" nothing, "earthquake" some, "Qeshm" or "Klitschko" a lot. That weight comes from wordfreq's
English word frequencies (a fixed table, so two items score the same in a run of 10 items as in
a run of 10,000), with the batch's own document frequencies as the fallback when wordfreq is not
installed. Two items' similarity is the cosine of their profiles, computed through an inverted
index over each profile's heaviest terms, so a large run compares only items that share them.

Speed (10,000 items in a few seconds): a profile's tokens are mapped to words and counted in C
(each distinct token is worked out once per process), a large batch is read by two processes
(item_profiles), and the pair sums are done in numpy.

Names also matter on their own: two events of one kind (two earthquakes, two DUI arrests) are
told with the same words but about different people and places, so a group's headline names
are kept for the clusterer's "different event" test (see group.py).
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from operator import itemgetter, mul

from ..text.measure import STOPWORDS

TITLE_WEIGHT = 2  # a word of the headline counts this many times
NAME_WEIGHT = 1  # a name counts once more as a name ("N:qeshm"), besides as a word
TEXT_CHARS = 3000  # the lead of a long text tells the event; the rest only adds noise and time
TOP_TERMS = 30  # a profile keeps its heaviest terms
COMMON_POSTINGS = 150  # a term in more items than this joins no pair by itself
RARE = 9.0  # a word's weight is RARE minus its Zipf frequency (wordfreq's log scale)
MIN_WEIGHT = 0.3
NUMBER_WEIGHT = 4.0  # a figure that is not a year: specific, but often repeated in other news
PARALLEL_FROM = 3000  # items from which a second process reads part of them
WORKER_SHARE = 55  # percent of the items this process reads; the worker starts a little late

# A word (hyphens inside it kept), a number, a sentence's end, a line break. Possessive
# quantifiers: a token never gives characters back, which is what makes this scan fast.
_TOKEN = re.compile(
    r"[A-Za-z\u00c0-\u024f][A-Za-z0-9\u00c0-\u024f']*+"
    r"(?:-[A-Za-z0-9][A-Za-z0-9\u00c0-\u024f']*+)*+"
    r"|\d++(?:[.,]\d+)*+|[.!?](?!\S)|\n"
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
    counts: Counter[str] = Counter()
    terms, headline = _terms(title, headline=True)
    for _ in range(TITLE_WEIGHT):
        counts.update(terms)
    names = set(headline)
    for part in (" ".join(facts), text[:TEXT_CHARS]):
        terms, found = _terms(part, headline=False)
        counts.update(terms)
        names |= found
    counts.pop("", None)
    return Profile(_weigh(counts), frozenset(names), frozenset(headline))


Row = tuple[str, str, Sequence[str]]  # an item's title, text and facts


def item_profiles(rows: Sequence[Row]) -> list[Profile]:
    """The profiles of many items, in order. From PARALLEL_FROM items, on Linux with more than
    one core, a forked worker reads the second half while this process reads the first (the
    work is pure, and the worker imports nothing); if the worker fails, this process reads
    its half too."""
    if len(rows) < PARALLEL_FROM or sys.platform != "linux" or (os.cpu_count() or 1) < 2:
        return [item_profile(*row) for row in rows]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _frequencies()  # loaded before the fork: the worker inherits the table
    half = len(rows) * WORKER_SHARE // 100
    rest = [(title, text[:TEXT_CHARS], tuple(facts)) for title, text, facts in rows[half:]]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        try:
            later = pool.submit(_profiles, rest)
        except OSError:  # no process could be forked
            return [item_profile(*row) for row in rows]
        first = [item_profile(*row) for row in rows[:half]]
        try:
            return first + later.result()
        except Exception:  # a lost worker (BrokenProcessPool), or an error of its own
            return first + _profiles(rest)  # (an error of the code itself raises here too)


def _profiles(rows: Sequence[Row]) -> list[Profile]:
    return [item_profile(*row) for row in rows]


def _terms(text: str, *, headline: bool) -> tuple[list[str], set[str]]:
    """The text's terms in order (each word, and "N:word" right after a name; "" for a token
    that counts for nothing), and its names.

    A capitalised word that does not start a sentence is a name; in a Title Case headline only
    a word that is rare in English is (so "Arrested" is not, "Klitschko" is). A capitalised
    word with a figure in it (Kestrel-7B) is a name wherever it stands.

    The terms are counted in C (Counter.update) and each distinct token is read once: a long
    text repeats most of its words. Their order is the order of first use, which _weigh keeps
    for terms of equal weight."""
    tokens = _TOKEN.findall(text)
    word_of = _WORD_OF
    if len(word_of) > WORDS_REMEMBERED:
        word_of.clear()
    for token in set(tokens).difference(word_of):  # tokens not seen before
        _word(token)
    terms = list(map(word_of.__getitem__, tokens))
    capitals = [k for k, t in enumerate(tokens) if t[0].isupper()]
    title_case = headline and len(capitals) > 0.6 * len(tokens) > 1.2
    names = set()
    for k in reversed(capitals):  # from the end, so that an insertion moves nothing unread
        word = terms[k]
        if not word:
            continue
        first = k == 0 or tokens[k - 1] in _BREAKS
        if (not first and (not title_case or zipf(word) < 4.0)) or _has_digit(word):
            names.add(word)
            terms[k + 1 : k + 1] = ["N:" + word] * NAME_WEIGHT
    return terms, names


_BREAKS = frozenset(".!?\n")
_WORD_OF: dict[str, str] = {}  # token -> _word(token), worked out once per distinct token
WORDS_REMEMBERED = 500_000


def _word(token: str) -> str:
    """The word a token counts as (lowercase, no possessive), or "" for one that does not."""
    word = token.lower().strip("'-")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) < 2 or word in _SKIP:
        word = ""
    _WORD_OF[token] = word
    return word


def _has_digit(word: str) -> bool:
    return not word.isalpha() and any(c.isdigit() for c in word)


def _weigh(counts: Counter[str]) -> dict[str, float]:
    """The heaviest TOP_TERMS terms, as a unit vector (of equal weights, the first met).

    Each term weighs (1 + log count) times term_weight; mapped in C, as this runs for
    every term of every item."""
    weight_of = _WEIGHT_OF
    if len(weight_of) > WORDS_REMEMBERED:
        weight_of.clear()
    for term in set(counts).difference(weight_of):  # terms not weighed before
        term_weight(term)
    values = counts.values()
    tf = map(_TF.__getitem__, values) if max(values, default=0) < len(_TF) else map(_tf, values)
    weights = map(mul, tf, map(weight_of.__getitem__, counts))
    ranked = zip(counts, weights, strict=True)
    top = sorted(ranked, key=itemgetter(1), reverse=True)[:TOP_TERMS]  # stable: first met first
    norm = math.sqrt(sum(w * w for _t, w in top)) or 1.0
    return {t: w / norm for t, w in top}


def _tf(count: int) -> float:
    return 1.0 + math.log(count) if count >= 1 else float(count)


_TF = [_tf(c) for c in range(1024)]
_WEIGHT_OF: dict[str, float] = {}  # term -> term_weight(term), for the current frequencies


def term_weight(term: str) -> float:
    """What a term is worth: how rare it is in English (a name by the same measure)."""
    word = term[2:] if term.startswith("N:") else term
    if word[0].isdigit():
        weight = RARE - 4.5 if len(word) == 4 and word[:2] in {"19", "20"} else NUMBER_WEIGHT
    else:
        weight = max(MIN_WEIGHT, RARE - zipf(word))
    _WEIGHT_OF[term] = weight
    return weight


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
    clear_caches()


def clear_caches() -> None:
    """Forget what was worked out per word (for a cold measurement, or new frequencies)."""
    zipf.cache_clear()
    _WEIGHT_OF.clear()
    _WORD_OF.clear()


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
    i < j, through an inverted index: each term's items are paired (terms in more than
    COMMON_POSTINGS items are skipped), and the products summed per pair, in numpy."""
    import numpy as np

    every = list(chain.from_iterable(p.vector for p in profiles))
    if not every:
        return {}
    term_ids = {t: k for k, t in enumerate(dict.fromkeys(every))}
    lengths = np.fromiter((len(p.vector) for p in profiles), dtype=np.int64, count=len(profiles))
    items = np.repeat(np.arange(len(profiles), dtype=np.int64), lengths)
    terms = list(map(term_ids.__getitem__, every))
    weights = np.fromiter(
        chain.from_iterable(p.vector.values() for p in profiles), np.float64, len(every)
    )
    term = np.asarray(terms, dtype=np.int64)
    order = np.argsort(term, kind="stable")  # by term, each term's items in ascending order
    item = items[order]
    weight = weights[order]
    term = term[order]
    starts = np.flatnonzero(np.r_[True, term[1:] != term[:-1]])
    sizes = np.diff(np.r_[starts, len(term)])
    size = np.repeat(sizes, sizes)
    start = np.repeat(starts, sizes)
    # Each posting pairs with the later postings of its term (none for a common term).
    later = np.where(size <= COMMON_POSTINGS, start + size - 1 - np.arange(len(term)), 0)
    left = np.repeat(np.arange(len(term)), later)
    first_of = np.repeat(np.cumsum(later) - later, later)
    right = left + 1 + np.arange(len(left)) - first_of
    keys = item[left] * len(profiles) + item[right]
    unique, where = np.unique(keys, return_inverse=True)
    sums = np.bincount(where, weights=weight[left] * weight[right])
    keep = sums >= floor
    pairs, kept = unique[keep], sums[keep]
    firsts, seconds = np.divmod(pairs, len(profiles))
    index = zip(firsts.tolist(), seconds.tolist(), strict=True)
    return dict(zip(index, kept.tolist(), strict=True))
