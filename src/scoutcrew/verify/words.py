"""Word forms the claim check compares: a word's lemma (lemminflect's dictionary of English
inflections: "taught" is "teach", "children" is "child"), stemmed like every other word of the
package, and the synonym groups of lexicon.py.

A claim word and a source word meet when their forms share an element. Nothing here is tied to
one text: the lemmas come from lemminflect's English dictionary, the groups from lexicon.py.
"""

from __future__ import annotations

from functools import lru_cache

from ..text.terms import stem
from . import lexicon


@lru_cache(maxsize=200_000)
def lemmas(word: str) -> tuple[str, ...]:
    """The dictionary forms of a lowercase word, verbs first ("left" -> leave, left)."""
    from lemminflect import getAllLemmas

    found = getAllLemmas(word)
    out: list[str] = []
    for pos in ("VERB", "NOUN", "ADJ", "ADV", "AUX"):
        for lemma in found.get(pos, ()):
            if lemma not in out:
                out.append(lemma.lower())
    return tuple(out)


@lru_cache(maxsize=200_000)
def base(word: str) -> str:
    """One stemmed dictionary form of a lowercase word: its verb or noun lemma, else itself.

    Adjective lemmas are left out on purpose: "better" is not "good" for a claim check.
    """
    from lemminflect import getAllLemmas

    table = getAllLemmas(word)
    for pos in ("VERB", "NOUN"):
        if table.get(pos):
            return stem(table[pos][0].lower())
    return stem(word)


@lru_cache(maxsize=200_000)
def forms(word: str) -> frozenset[str]:
    """Every form a source word can be met by: its stem, its lemmas' stems, their groups."""
    out = set(canonical(stem(word)))
    for lemma in lemmas(word):
        out |= canonical(stem(lemma))
    return frozenset(out)


def canonical(term: str) -> set[str]:
    """The synonym groups a stemmed word belongs to (or the word itself)."""
    return _SYNONYMS.get(term, {term})


def _build_synonyms() -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    for n, group in enumerate(lexicon.SYNONYM_GROUPS):
        for word in group.split():
            table.setdefault(stem(word), {stem(word)}).add(f"#{n}")
    return table


_SYNONYMS = _build_synonyms()
