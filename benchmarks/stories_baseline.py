"""The grouping scoutcrew had before stories were grouped on real news, frozen for comparison.

bench_stories.py prints today's figures beside these on the same data. Frozen on purpose: it
is the old dedup (a text-shingle rule and a title-word rule; the longer text wins) and the old
group_stories (titles that share most of their words join), reduced to what the benchmark
needs: lists of items in, groups of indexes out. Nothing in the package uses it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from scoutcrew.text.measure import STOPWORDS, words

SAME_TITLE = 0.6
MIN_TITLE_WORDS = 3
COMMON = 200


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def old_dedupe(titles: Sequence[str], texts: Sequence[str]) -> dict[int, int]:
    """Which item the old dedup merged each item into: {dropped index: kept index}."""
    merged: dict[int, int] = {}
    kept: list[int] = []
    shingles: list[set[str]] = []
    heads: list[set[str]] = []
    sh_index: dict[str, list[int]] = defaultdict(list)
    ti_index: dict[str, list[int]] = defaultdict(list)
    for i, (title, text) in enumerate(zip(titles, texts, strict=True)):
        toks = words(f"{title} {text}")[:400]
        sh = {" ".join(toks[k : k + 3]) for k in range(max(1, len(toks) - 2))}
        ti = {w for w in words(title) if w not in STOPWORDS}
        twin = None
        shared = Counter(k for s in sh if len(post := sh_index.get(s, ())) <= COMMON for k in post)
        for k, n in shared.most_common(5):
            if n / (len(sh) + len(shingles[k]) - n) >= 0.45:
                twin = k
                break
        if twin is None and len(ti) >= 4:
            shared_t = Counter(
                k for t in ti if len(post := ti_index.get(t, ())) <= COMMON for k in post
            )
            for k, _n in shared_t.most_common(5):
                if len(heads[k]) >= 4 and _jaccard(ti, heads[k]) >= 0.6:
                    twin = k
                    break
        if twin is not None:
            merged[i] = kept[twin]
            continue
        kept.append(i)
        shingles.append(sh)
        heads.append(ti)
        for s in sh:
            sh_index[s].append(len(kept) - 1)
        for t in ti:
            ti_index[t].append(len(kept) - 1)
    return merged


def old_group(titles: Sequence[str]) -> list[list[int]]:
    """The old group_stories on titles alone (no model deciding): groups of indexes."""
    parent = list(range(len(titles)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sets = [{w for w in words(t) if w not in STOPWORDS and len(w) > 1} for t in titles]
    index: dict[str, list[int]] = defaultdict(list)
    for i, title in enumerate(sets):
        shared = Counter(j for w in title if len(post := index.get(w, ())) <= COMMON for j in post)
        for j, n in shared.most_common(8):
            if n < 2 or find(i) == find(j):
                continue
            if len(title) < MIN_TITLE_WORDS or len(sets[j]) < MIN_TITLE_WORDS:
                continue
            if _jaccard(title, sets[j]) >= SAME_TITLE:
                a, b = find(i), find(j)
                parent[max(a, b)] = min(a, b)
        for w in title:
            index[w].append(i)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(titles)):
        groups[find(i)].append(i)
    return [groups[root] for root in sorted(groups)]
