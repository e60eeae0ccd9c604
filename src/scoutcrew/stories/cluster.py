"""Average-linkage clustering over a sparse similarity graph, with a veto for different events.

Two groups merge when the average similarity of their items' pairs (a missing pair counts 0)
is the highest left and reaches the threshold, unless `apart(a, b, score)` says the two groups tell
different events. Groups grow from the most alike pairs, so two events of one kind meet only
late, as two sizeable groups, which is where the veto looks at them.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable


def average_linkage(
    n: int,
    sims: dict[tuple[int, int], float],
    threshold: float,
    apart: Callable[[list[int], list[int], float], bool] | None = None,
    start: list[list[int]] | None = None,
) -> list[list[int]]:
    """Groups of item indexes (each sorted, in order of their first item).

    apart(a, b, score): whether groups a and b (lists of indexes) tell different events,
    asked before they merge at average similarity `score`.
    start: groups formed already (each item in at most one); every other item starts alone.
    """
    owner = list(range(n))
    members: dict[int, list[int]] = {}
    for group in start or []:
        for i in group:
            owner[i] = group[0]
    for i in range(n):
        members.setdefault(owner[i], []).append(i)
    totals: dict[int, dict[int, float]] = defaultdict(dict)  # cluster -> neighbour -> sum
    for (i, j), s in sims.items():
        a, b = owner[i], owner[j]
        if a != b:
            totals[a][b] = totals[a].get(b, 0.0) + s
            totals[b][a] = totals[b].get(a, 0.0) + s
    heap = []
    for a, row in totals.items():
        for b, total in row.items():
            avg = total / (len(members[a]) * len(members[b]))
            if a < b and avg >= threshold:
                heap.append((-avg, a, b))
    heapq.heapify(heap)
    vetoed: set[tuple[int, int, int, int]] = set()
    while heap:
        neg, a, b = heapq.heappop(heap)
        if a not in members or b not in members:
            continue
        size = len(members[a]) * len(members[b])
        current = totals[a].get(b, 0.0) / size
        if abs(current + neg) > 1e-12 or current < threshold:
            continue  # stale: one side has changed since
        key = (a, len(members[a]), b, len(members[b]))
        if apart is not None and (key in vetoed or apart(members[a], members[b], current)):
            vetoed.add(key)
            continue
        if len(members[a]) < len(members[b]):
            a, b = b, a
        members[a] += members.pop(b)
        for c, s in totals.pop(b).items():
            del totals[c][b]
            if c == a:
                continue
            total = totals[a].get(c, 0.0) + s
            totals[a][c] = total
            totals[c][a] = total
        for c, total in totals[a].items():
            avg = total / (len(members[a]) * len(members[c]))
            if avg >= threshold:
                heapq.heappush(heap, (-avg, min(a, c), max(a, c)))
    groups = [sorted(m) for m in members.values()]
    return sorted(groups, key=lambda g: g[0])
