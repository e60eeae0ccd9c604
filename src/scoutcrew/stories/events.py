"""Which items tell the same event: their profiles clustered, with a test for different events.

Items join when their groups are alike enough on average (SAME_EVENT, cosine of the profiles of
similar.py), unless the groups tell two events of one kind: a name that most of one group's
headlines carry (the person arrested, the town that burned) and that the other group's texts
never mention. That test needs groups of a few items to be sure of a headline name, which is
how two events of one kind meet in average linkage: late, as two groups.

Between MAYBE_EVENT and SAME_EVENT code cannot tell; a `decide` callable (a model asked yes or
no, within the run's budget) may settle those pairs, at most `max_decisions` of them.

Tuned on the ECB+ topics that bench_stories.py calls "tuned" (the held-out topics were not looked
at while choosing these numbers; see benchmarks/ecbplus.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from .cluster import average_linkage
from .similar import Profile, batch_weights, have_frequencies, similarities

SAME_EVENT = 0.22  # average cosine from which two groups tell the same event
MAYBE_EVENT = 0.15  # from here up to SAME_EVENT, only a `decide` callable may join them
HEADLINE_SHARE = 0.4  # a name in this share of a group's headlines is what the group is about
ABSENT_SHARE = 0.1  # ...and the other group tells another event if at most this share names it
MIN_GROUP = 3  # groups smaller than this are too few to be sure of their headline names
MAX_DECISIONS = 40

Decide = Callable[[int, int], bool]  # (item, item) -> same event?


def event_groups(
    profiles: Sequence[Profile],
    *,
    start: list[list[int]] | None = None,
    labels: Sequence[str | None] | None = None,
    decide: Decide | None = None,
    max_decisions: int = MAX_DECISIONS,
) -> list[list[int]]:
    """Group items (by index) into events.

    start: groups known already (an earlier run's story and its items); labels: per item, the
    story it is known to belong to (None for a new item): two different known stories never
    merge. decide: asked about pairs code cannot settle.
    """
    weighted = list(profiles) if have_frequencies() else batch_weights(list(profiles))
    floor = MAYBE_EVENT if decide is not None else SAME_EVENT
    sims = similarities(weighted, floor=min(floor, 0.1))
    asked = [0]

    def apart(a: list[int], b: list[int], score: float) -> bool:
        if labels is not None and _two_known(a, b, labels):
            return True
        if different_events(a, b, weighted) or different_events(b, a, weighted):
            return True
        if score >= SAME_EVENT:
            return False
        if decide is None or asked[0] >= max_decisions:
            return True
        asked[0] += 1
        return not decide(a[0], b[0])

    return average_linkage(len(weighted), sims, floor, apart, start)


def _two_known(a: list[int], b: list[int], labels: Sequence[str | None]) -> bool:
    left = {labels[i] for i in a} - {None}
    right = {labels[i] for i in b} - {None}
    return bool(left and right and left != right)


def different_events(group: list[int], other: list[int], profiles: Sequence[Profile]) -> bool:
    """Whether `group`'s headlines are about a name that `other`'s texts do not mention.

    A name with a figure in it (Kestrel-7B, Phi-5, A320) names one product or model: one
    headline with it is enough, so even two single items about two versions stay apart."""
    headline = Counter(name for i in group for name in profiles[i].headline_names)
    mentioned = Counter(name for i in other for name in profiles[i].names)
    sure = len(group) >= MIN_GROUP and len(other) >= MIN_GROUP
    for name, n in headline.items():
        if n / len(group) < HEADLINE_SHARE or mentioned[name] / len(other) > ABSENT_SHARE:
            continue
        if sure or (any(c.isdigit() for c in name) and any(c.isalpha() for c in name)):
            return True
    return False
