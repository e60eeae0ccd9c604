"""Duplicates: the same story seen in several feeds becomes one item that keeps every link.

Exact duplicates (same canonical URL or same content) and near-duplicates (most of the text's
word shingles shared, or most of the title's words) are merged. No model is involved.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from ..gather.items import Item
from ..gather.urls import canonical_url
from ..text.measure import STOPWORDS, words

# -- duplicates -------------------------------------------------------------------------------


def _shingles(item: Item, size: int = 3) -> set[str]:
    toks = words(f"{item.title} {item.text}")[:400]
    if len(toks) < size:
        return {" ".join(toks)} if toks else set()
    return {" ".join(toks[i : i + size]) for i in range(len(toks) - size + 1)}


def _title_set(item: Item) -> set[str]:
    return {w for w in words(item.title) if w not in STOPWORDS}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def dedupe(
    items: list[Item], *, text_threshold: float = 0.45, title_threshold: float = 0.6
) -> tuple[list[Item], list[tuple[str, str]]]:
    """Merge exact and near-duplicate items; return (kept, dropped (title, reason))."""
    kept: list[Item] = []
    dropped: list[tuple[str, str]] = []
    by_key: dict[str, Item] = {}
    shingle_index: dict[str, list[int]] = defaultdict(list)
    title_index: dict[str, list[int]] = defaultdict(list)
    shingles: list[set[str]] = []
    titles: list[set[str]] = []
    for item in items:
        item.url = canonical_url(item.url)
        item.links = list(dict.fromkeys([item.url, *map(canonical_url, item.links)]))
        twin = by_key.get(item.url) or by_key.get(item.content_hash)
        reason = "same story" if twin else ""
        sh, ti = _shingles(item), _title_set(item)
        if twin is None:
            twin, reason = _near_twin(
                sh,
                ti,
                kept,
                shingles,
                titles,
                shingle_index,
                title_index,
                text_threshold,
                title_threshold,
            )
        if twin is not None:
            _merge(twin, item)
            dropped.append((item.title, f"{reason} as {twin.title!r} (links kept)"))
            by_key.setdefault(item.url, twin)
            continue
        idx = len(kept)
        kept.append(item)
        shingles.append(sh)
        titles.append(ti)
        for s in sh:
            shingle_index[s].append(idx)
        for t in ti:
            title_index[t].append(idx)
        by_key[item.url] = item
        by_key[item.content_hash] = item
    return kept, dropped


# A word or shingle found in more items than this tells no two of them apart: it is skipped
# when looking for candidates (which keeps dedup linear on large backlogs).
COMMON_POSTINGS = 200


def _near_twin(sh, ti, kept, shingles, titles, shingle_index, title_index, text_t, title_t):
    shared = Counter(
        i
        for s in sh
        if len(postings := shingle_index.get(s, ())) <= COMMON_POSTINGS
        for i in postings
    )
    for idx, n in shared.most_common(5):
        if n / (len(sh) + len(shingles[idx]) - n) >= text_t:
            return kept[idx], "near-duplicate text"
    if len(ti) >= 4:
        shared_t = Counter(
            i
            for t in ti
            if len(postings := title_index.get(t, ())) <= COMMON_POSTINGS
            for i in postings
        )
        for idx, _n in shared_t.most_common(5):
            if len(titles[idx]) >= 4 and _jaccard(ti, titles[idx]) >= title_t:
                return kept[idx], "near-duplicate title"
    return None, ""


def _merge(into: Item, other: Item) -> None:
    if into.url not in into.links:
        into.links.insert(0, into.url)
    for link in (other.url, *other.links):
        link = canonical_url(link)
        if link not in into.links:
            into.links.append(link)
    if len(other.text) > len(into.text):
        into.text = other.text
    if into.published is None:
        into.published = other.published
