"""Polarity of a claim against its sources: a negation or an opposite ("disabled" for
"enabled", "did not cut" for "cut") on the other side from the source's words about the same
thing, clause by clause, or a comparison turned around. Either contradicts the claim.
"""

from __future__ import annotations

from .context import all_terms, clause_context, clause_negated, overlap
from .facts import Analysis
from .problems import Problem
from .words import canonical


def polarity_problems(a: Analysis, sentences: list[Analysis], where: str) -> list[Problem]:
    """Negations and opposites of the claim against the source sentences about the same thing."""
    problems = []
    claim_items = _items(a)
    whole = all_terms(a)
    for key, side, pos, word in claim_items:
        reach = 4 if key[0] in "wn" else 2
        ctx = clause_context(a, pos, reach)
        found: list[tuple[tuple[int, int], str, int, Analysis]] = []
        for sent in sentences:
            if sent.words and sent.words[-1] == "?":
                continue  # a question asserts nothing
            for side2, pos2, word2, ctx2 in _indexed_items(sent, reach).get(key, ()):
                if key[0] == "p" and word2.lower() == word.lower():
                    found.append(((99, 99), side2, pos2, sent))  # the very same word
                    continue
                near = overlap(ctx, ctx2)
                # Two polar words of one scale must be about the same things ("more
                # tokens" vs "no gain in quality" are not): they share their neighbours.
                if near >= (1 if key[0] in "wn" else 2):
                    score = (near, len(whole & all_terms(sent)))
                    found.append((score, side2, pos2, sent))
        if not found:
            continue
        top = max(score for score, *_ in found)
        best = [x for x in found if x[0] == top]
        if key[0] in "wn":
            # A negated word: a contradiction only where one clause negates and the other
            # does not ("did not attract tourists" is not "is not a tourist destination").
            negated = clause_negated(a, pos)
            best = [x for x in found if clause_negated(x[3], x[2]) != negated]
            if not best or any(side2 == side for _, side2, _, _ in found):
                continue
        elif any(side2 == side for _, side2, _, _ in best):
            continue
        sent = best[0][3]
        said = " ".join(sent.words[:24]) + (" ..." if len(sent.words) > 24 else "")
        problems.append(
            Problem("polarity", f'"{word}" contradicts [{where}], which says: "{said}"', True)
        )
        break
    if not problems:
        flipped = _reversed_comparison(a, sentences)
        if flipped is not None:
            problems.append(
                Problem(
                    "polarity",
                    f'the comparison is the other way round in [{where}]: "{flipped}"',
                    True,
                )
            )
    return problems


def _indexed_items(a: Analysis, reach: int) -> dict[str, list[tuple[str, int, str, set[str]]]]:
    """A source sentence's polar items by key, with their contexts (computed once)."""
    slot = f"items{reach}"
    table: dict[str, list[tuple[str, int, str, set[str]]]] | None = a.cache.get(slot)
    if table is None:
        table = {}
        for key, side, pos, word in _items(a):
            table.setdefault(key, []).append((side, pos, word, clause_context(a, pos, reach)))
        a.cache[slot] = table
    return table


def _items(a: Analysis) -> list[tuple[str, str, int, str]]:
    """Polar items: lexicon words with their side, and negated content words ("w:" keys)."""
    items = [(f"p:{p.scale}", p.side, p.pos, p.word) for p in a.polar]
    polar_pos = {p.pos for p in a.polar}
    for i, term in a.content:
        if i in polar_pos:
            continue
        items.append((f"w:{term}", "-" if i in a.negated else "+", i, a.words[i]))
    for i, name in a.names:
        items.append((f"n:{name.lower()}", "-" if i in a.negated else "+", i, name))
    return items


def _reversed_comparison(a: Analysis, sentences: list[Analysis]) -> str | None:
    """A "more X than Y" claim whose sides are swapped relative to its source."""
    if "than" not in a.lower:
        return None
    k = a.lower.index("than")
    cb = set().union(*(canonical(t) for i, t in a.content if i < k)) if a.content else set()
    ca = set().union(*(canonical(t) for i, t in a.content if i > k)) if a.content else set()
    cb |= {f.key for f in a.figures if f.pos < k}
    ca |= {f.key for f in a.figures if f.pos > k}
    anchors_b = {f.key for f in a.figures if f.pos < k} | {n.lower() for i, n in a.names if i < k}
    anchors_a = {f.key for f in a.figures if f.pos > k} | {n.lower() for i, n in a.names if i > k}
    for sent in sentences:
        if "than" not in sent.lower:
            continue
        j = sent.lower.index("than")
        src_b = {f.key for f in sent.figures if f.pos < j} | {
            n.lower() for i, n in sent.names if i < j
        }
        src_a = {f.key for f in sent.figures if f.pos > j} | {
            n.lower() for i, n in sent.names if i > j
        }
        kept = len((anchors_b & src_b) - src_a) + len((anchors_a & src_a) - src_b)
        swapped = len((anchors_b & src_a) - src_b) + len((anchors_a & src_b) - src_a)
        if swapped >= 2 and kept == 0:
            return " ".join(sent.words[:24])
        sb = {c for i, t in sent.content if i < j for c in canonical(t)}
        sa = {c for i, t in sent.content if i > j for c in canonical(t)}
        sb |= {f.key for f in sent.figures if f.pos < j}
        sa |= {f.key for f in sent.figures if f.pos > j}
        straight = len((cb & sb) - sa) + len((ca & sa) - sb)
        crossed = len((cb & sa) - sb) + len((ca & sb) - sa)
        if crossed >= 2 and crossed > straight + 1:
            return " ".join(sent.words[:24])
    return None
