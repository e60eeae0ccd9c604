"""The kinds of problem a claim can have and the three verdicts they lead to."""

from __future__ import annotations

from dataclasses import dataclass

CLASSES = ("wrong-source", "figure", "entity", "polarity", "invented")
"""The kinds of problem a claim can have, in the order a reason names them."""

SUPPORTED, CONTRADICTED, NOT_CONFIRMED = "supported", "contradicted", "not-confirmed"
VERDICTS = (SUPPORTED, CONTRADICTED, NOT_CONFIRMED)
"""supported: the cited sources say it. contradicted: a cited source says otherwise (another
value for the same quantity, the opposite polarity, another name in the same role, or the claim
matches another source than the one cited). not-confirmed: the code cannot tell, or the claim
adds detail the sources do not have."""


@dataclass
class Problem:
    """One reason a claim is not supported."""

    kind: str  # one of CLASSES
    detail: str
    contradicts: bool = False  # a cited source says otherwise (else: the sources do not say it)
