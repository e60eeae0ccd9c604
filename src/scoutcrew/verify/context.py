"""Where a word or a figure sits in a text: its clause, its phrase, its nearest content words.
The claim checks compare these neighbourhoods to tell whether two mentions are about one thing.
"""

from __future__ import annotations

from .facts import Analysis
from .words import canonical

CLAUSE_BREAKS = frozenset(
    {
        ",",
        ";",
        ":",
        ".",
        "(",
        ")",
        "!",
        "?",
        "but",
        "while",
        "whereas",
        "although",
        "though",
        "and",
        "because",
        "which",
        "than",
        "so",
        "yet",
    }
)

PHRASE_BREAKS = CLAUSE_BREAKS - {"which", "than", "so"}


def context(a: Analysis, pos: int, window: int = 3) -> set[str]:
    """The synonym-folded content words nearest to position `pos`: `window` on each side."""
    before = [t for i, t in a.content if i < pos][-window:]
    after = [t for i, t in a.content if i > pos][:window]
    return set().union(*(canonical(t) for t in before + after)) if before or after else set()


def clause_context(a: Analysis, pos: int, window: int = 4) -> set[str]:
    """Content words of the clause around `pos` (up to `window` on each side)."""
    lo, hi = clause_bounds(a, pos)
    before = [t for i, t in a.context if lo <= i < pos][-window:]
    after = [t for i, t in a.context if pos < i <= hi][:window]
    return set().union(*(canonical(t) for t in before + after)) if before or after else set()


def stems_near(a: Analysis, pos: int, window: int = 2) -> set[str]:
    """The exact stems of the `window` content words on each side of `pos`, in its phrase.

    The phrase ends at the neighbouring figures too: in "270M has 170 million embedding
    parameters" the words after 170 million describe 170 million, not 270M.
    """
    lo, hi = clause_bounds(a, pos, PHRASE_BREAKS)
    for f in a.figures:
        if f.pos < pos:
            lo = max(lo, f.pos + 1)
        elif f.pos > pos:
            hi = min(hi, f.pos - 1)
    before = [t for i, t in a.content if lo <= i < pos][-window:]
    after = [t for i, t in a.content if pos < i <= hi][:window]
    return set(before + after)


def clause_bounds(a: Analysis, pos: int, breaks: frozenset[str] = CLAUSE_BREAKS) -> tuple[int, int]:
    lo = pos
    while lo > 0 and a.lower[lo - 1] not in breaks and pos - lo < 12:
        lo -= 1
    hi = pos
    while hi + 1 < len(a.lower) and a.lower[hi + 1] not in breaks and hi - pos < 12:
        hi += 1
    return lo, hi


def context_text(a: Analysis, pos: int) -> str:
    lo, hi = max(0, pos - 3), min(len(a.words), pos + 4)
    return " ".join(a.words[lo:hi])


def overlap(x: set[str], y: set[str]) -> int:
    return len(
        {c for c in x & y if not c.startswith("#")} | {c for c in x & y if c.startswith("#")}
    )


def clause_negated(a: Analysis, pos: int) -> bool:
    """Whether the clause around `pos` negates anything ("not", "never", "instead of" ...)."""
    lo, hi = clause_bounds(a, pos, CLAUSE_BREAKS | {"that", "who"})
    return any(lo <= i <= hi for i in a.negated)


def all_terms(a: Analysis) -> set[str]:
    found: set[str] | None = a.cache.get("terms")
    if found is None:
        found = a.cache["terms"] = {t for _, t in a.content}
    return found
