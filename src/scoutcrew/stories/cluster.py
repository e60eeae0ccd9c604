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
    size = [0] * n  # a group's size, under its key
    for a, group in members.items():
        size[a] = len(group)
    totals: dict[int, dict[int, float]] = defaultdict(dict)  # group -> neighbour -> sum
    if start:
        for (i, j), s in sims.items():
            a, b = owner[i], owner[j]
            if a != b:
                totals[a][b] = totals[a].get(b, 0.0) + s
                totals[b][a] = totals[b].get(a, 0.0) + s
    else:  # every item alone: each pair is its own sum
        for (i, j), s in sims.items():
            totals[i][j] = s
            totals[j][i] = s
    heap = []
    for a, row in totals.items():
        for b, total in row.items():
            avg = total / (size[a] * size[b])
            if a < b and avg >= threshold:
                heap.append((-avg, a, b))
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    vetoed: set[tuple[int, int, int, int]] = set()
    while heap:
        neg, a, b = pop(heap)
        if a not in members or b not in members:
            continue
        current = totals[a].get(b, 0.0) / (size[a] * size[b])
        if current < threshold:
            continue
        if current + neg < -1e-12:
            # One side grew since: a pair whose sum did not change only falls, and is put
            # back at its place now (a pair whose sum changed was pushed when it did).
            push(heap, (-current, a, b))
            continue
        if current + neg > 1e-12:
            continue  # pushed again since, at this higher value
        key = (a, size[a], b, size[b])
        if apart is not None and (key in vetoed or apart(members[a], members[b], current)):
            vetoed.add(key)
            continue
        if size[a] < size[b]:
            a, b = b, a
        members[a] += members.pop(b)
        size[a] += size[b]
        grown = size[a]
        row = totals[a]
        for c, s in totals.pop(b).items():
            del totals[c][b]
            if c == a:
                continue
            total = row.get(c, 0.0) + s
            row[c] = total
            totals[c][a] = total
            avg = total / (grown * size[c])
            if avg >= threshold:
                push(heap, (-avg, a, c) if a < c else (-avg, c, a))
    groups = [sorted(m) for m in members.values()]
    return sorted(groups, key=lambda g: g[0])
