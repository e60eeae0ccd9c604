"""Text measures every stage shares: words, stopwords, token estimates and BM25 ranking."""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import datetime
from typing import Any


def estimate_tokens(text: str) -> int:
    """Estimate a text's token count (about 3.6 characters per token for English prose)."""
    return math.ceil(len(text) / 3.6) if text else 0


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
STOPWORDS = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the this to was "
    "were will with not but they their we our you your he she his her which who what when "
    "new how than then also into over more most about after before can could would should "
    "may might been being do does did so if no yes all any one two".split()
)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def terms(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 1]


def bm25_scores(
    docs: list[list[str]], query: list[str], k1: float = 1.5, b: float = 0.75
) -> list[float]:
    """Score tokenised documents against a tokenised query with Okapi BM25."""
    n = len(docs)
    if not n or not query:
        return [0.0] * n
    avg = sum(len(d) for d in docs) / n or 1.0
    df: Counter[str] = Counter()
    for d in docs:
        df.update(set(d))
    qterms = set(query)
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in qterms}
    scores = []
    for d in docs:
        tf = Counter(t for t in d if t in qterms)
        norm = k1 * (1 - b + b * len(d) / avg)
        scores.append(sum(idf[t] * f * (k1 + 1) / (f + norm) for t, f in tf.items()))
    return scores


def rank(items: list[Any], query: str) -> list[Any]:
    """Order items by BM25 relevance to `query` (title counts twice), newest first on ties.

    An item is anything with title, text, published and url (gather's Item, a page).
    """
    docs = [terms(f"{it.title} {it.title} {it.text}") for it in items]
    scores = bm25_scores(docs, terms(query))
    order = sorted(
        range(len(items)),
        key=lambda i: (-round(scores[i], 6), -_stamp(items[i].published), items[i].url),
    )
    return [items[i] for i in order]


def _stamp(dt: datetime | None) -> float:
    return dt.timestamp() if dt else 0.0
