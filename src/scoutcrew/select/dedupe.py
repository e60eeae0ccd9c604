"""Duplicates: the same article seen in several feeds becomes one item that keeps every link.

Items merge when they are the same article (same canonical URL or same content) or the same
report told with the same facts: most of their text's word shingles are shared and the
sentences that differ give no other figure and no other negation. A headline alone never
merges anything: "Phi-5 adds a CPU backend" and "Phi-5 deprecates a CPU backend" are two
stories, and two outlets that give a death toll of 12 and of 15 are two sources (the story
says the sources disagree). When items merge, nothing they say is dropped: the kept item holds
every link, and `also` holds each sentence of a merged copy that its own text lacks, so the
notes step reads it too (select.pack.full_text). No model is involved.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from ..gather.items import Item
from ..gather.urls import canonical_url
from ..text.measure import words

# A shingle found in more items than this tells no two of them apart: it is skipped when
# looking for candidates (which keeps dedup linear on large backlogs).
COMMON_POSTINGS = 200
TEXT_THRESHOLD = 0.45  # shared share (Jaccard) of word 3-shingles from which texts are copies

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nor|without|cannot|denie[sd]|deny|neither|n't|false|fails?|"
    r"failed|drops?|dropped|removes?|removed|deprecate[sd]?|cancel(?:s|led|ed)?)\b|n't\b",
    re.IGNORECASE,
)


def dedupe(
    items: list[Item], *, text_threshold: float = TEXT_THRESHOLD
) -> tuple[list[Item], list[tuple[str, str]]]:
    """Merge exact and near-duplicate items; return (kept, dropped (title, reason))."""
    kept: list[Item] = []
    dropped: list[tuple[str, str]] = []
    by_key: dict[str, Item] = {}
    shingle_index: dict[str, list[int]] = defaultdict(list)
    shingles: list[set[str]] = []
    for item in items:
        item.url = canonical_url(item.url)
        item.links = list(dict.fromkeys([item.url, *map(canonical_url, item.links)]))
        twin = by_key.get(item.url) or by_key.get(item.content_hash)
        reason = "same story"
        sh = _shingles(item)
        if twin is None:
            twin = _near_twin(item, sh, kept, shingles, shingle_index, text_threshold)
            reason = "near-duplicate text, same facts"
        if twin is not None:
            _merge(twin, item)
            dropped.append((item.title, f"{reason} as {twin.title!r} (links and text kept)"))
            by_key.setdefault(item.url, twin)
            continue
        idx = len(kept)
        kept.append(item)
        shingles.append(sh)
        for s in sh:
            shingle_index[s].append(idx)
        by_key[item.url] = item
        by_key[item.content_hash] = item
    return kept, dropped


def _shingles(item: Item, size: int = 3) -> set[str]:
    toks = words(f"{item.title} {item.text}")[:400]
    if len(toks) < size:
        return {" ".join(toks)} if toks else set()
    return {" ".join(toks[i : i + size]) for i in range(len(toks) - size + 1)}


def _near_twin(
    item: Item,
    sh: set[str],
    kept: list[Item],
    shingles: list[set[str]],
    index: dict[str, list[int]],
    threshold: float,
) -> Item | None:
    shared = Counter(
        i for s in sh if len(postings := index.get(s, ())) <= COMMON_POSTINGS for i in postings
    )
    for idx, n in shared.most_common(5):
        if n / (len(sh) + len(shingles[idx]) - n) >= threshold and same_facts(kept[idx], item):
            return kept[idx]
    return None


def same_facts(a: Item, b: Item) -> bool:
    """Whether the sentences that differ between two near-identical texts agree: no figure on
    one side that the other gives differently, no negation on one side only."""
    only_a, only_b = _own_sentences(a, b), _own_sentences(b, a)
    figures_a = {f.replace(",", "") for s in only_a for f in _FIGURE.findall(s)}
    figures_b = {f.replace(",", "") for s in only_b for f in _FIGURE.findall(s)}
    if figures_a and figures_b and figures_a != figures_b:
        return False
    negations_a = sum(len(_NEGATION.findall(s)) for s in only_a)
    negations_b = sum(len(_NEGATION.findall(s)) for s in only_b)
    return not (only_a and only_b and negations_a != negations_b)


def _own_sentences(item: Item, other: Item) -> list[str]:
    """The sentences of `item` (title included) that `other` does not have, word for word."""
    theirs = {_norm(s) for s in _sentences(f"{other.title}\n{other.text}")}
    theirs |= {_norm(s) for s in other.also}
    return [s for s in _sentences(f"{item.title}\n{item.text}") if _norm(s) not in theirs]


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def _norm(sentence: str) -> str:
    return " ".join(words(sentence))


def _merge(into: Item, other: Item) -> None:
    if into.url not in into.links:
        into.links.insert(0, into.url)
    for link in (other.url, *other.links):
        link = canonical_url(link)
        if link not in into.links:
            into.links.append(link)
    for sentence in _own_sentences(other, into):
        into.also.append(sentence)
    if into.published is None:
        into.published = other.published
