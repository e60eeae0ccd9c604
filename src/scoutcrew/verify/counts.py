"""What a figure counts or measures, for "sources disagree" (disagree.py).

A number counts the noun its phrase ends on, past the words that describe it: "23 Somalian
pirates" and "25 pirates" count pirates, "two possible gang members" and "three male gang
members" count members, "the top two power running backs" counts backs. A number followed by
a unit measures in that unit: "an eight-year offer" counts years, "2,000 feet" feet. Which
words may be nouns or describe one is read from lemminflect's English dictionary (and a
capitalised word inside the phrase is a name that describes: "Somalian"); a word that can only
be a verb ends the phrase ("three bank workers died"). An amount of money is marked as one
("$ 1 million" and "$ 2 million" are both money) so that one more word beside the two makes
them one quantity ("damage").
"""

from __future__ import annotations

from functools import lru_cache

from ..text.terms import STOPWORDS, stem
from .facts import Analysis, Figure
from .quantities import QUANTITY_WORDS

PHRASE_REACH = 4  # words after a number its noun phrase may span
CURRENCIES = frozenset({"$", "\u20ac", "\u00a3", "\u00a5"})
MONEY = "@money"  # the context mark of an amount of money

MEASURES = {
    stem(w)
    for w in "second seconds minute minutes hour hours day days week weeks month months year "
    "years decade decades century metres meters metre meter miles mile kilometres feet foot "
    "yards yard points point goals runs rounds inches pounds kilos tons dollars euros "
    "percent times".split()
}
DURATIONS = {stem(w) for w in "minute minutes hour hours day days week weeks months".split()}
_LEAD_INS = frozenset({"-", "more", "other", "new"})
_UNITS = frozenset(
    "second seconds minute minutes hour hours day days week weeks month months year years "
    "decade decades century centuries metres meters metre meter miles mile kilometres "
    "kilometers kilograms centimetres millimetres mph feet foot yards yard points point goals "
    "runs rounds inches pounds kilos tons "
    "dollars euros percent times magnitude".split()
)  # a number before one of these measures in it: "an eight-year offer" counts years
_ENDS = frozenset({"whose", "whom", "per", "via"})


def counted(a: Analysis, f: Figure) -> set[str]:
    """What a figure counts: the unit right after it, or the noun its phrase ends on."""
    cache = a.cache.setdefault("counted", {})
    if f.pos not in cache:
        cache[f.pos] = _counted(a, f.pos)
    return set(cache[f.pos])


def _counted(a: Analysis, pos: int) -> frozenset[str]:
    terms = dict(a.context)
    names = dict(a.names)
    nxt = pos + 1
    while nxt < len(a.lower) and a.lower[nxt] in _LEAD_INS:
        nxt += 1
    first = terms.get(nxt)
    if first is None:
        return frozenset()
    if a.lower[nxt] in _UNITS:
        return frozenset({first})
    head = None
    for k in range(nxt, min(len(a.lower), nxt + PHRASE_REACH)):
        word = a.lower[k]
        if k not in terms or word in STOPWORDS or word in _ENDS:
            break
        if k in names:
            head = k  # "23 Somalian pirates": a name describes, or is what is counted
            continue
        kinds = _word_kinds(word)
        if head is not None and "VERB" in kinds and _verb_here(a, k, terms):
            break  # "288 candidates running for", "60 firefighters tackle the blaze"
        if "NOUN" in kinds:
            head = k
        elif "ADJ" not in kinds and not (head is None and _modifies(a, k, terms)):
            break  # a verb: "three bank workers died"; not "two suspected gang members"
    found = terms[head] if head is not None else first
    return frozenset({QUANTITY_WORDS.get(found, found)})


def _verb_here(a: Analysis, k: int, terms: dict[int, str]) -> bool:
    """Whether a word that may be a verb, after the noun of a phrase, acts as one: it takes
    an object or a preposition ("run for", "tackle the"), or it is a participle that no noun
    follows ("candidates running for"; not "two power running backs"). A plural noun is the
    noun: a number counts many."""
    if _plural_noun(a.lower[k]):
        return False  # "23 Somalian pirates off the coast"
    after = a.lower[k + 1] if k + 1 < len(a.lower) else ""
    if after in _VERB_FOLLOWERS:
        return True
    if a.lower[k].endswith(("ing", "ed")):
        return k + 1 not in terms or after in STOPWORDS or "NOUN" not in _word_kinds(after)
    return False


def _modifies(a: Analysis, k: int, terms: dict[int, str]) -> bool:
    """Whether a participle before a noun describes it: "suspected" in "two suspected gang
    members"."""
    after = a.lower[k + 1] if k + 1 < len(a.lower) else ""
    return (
        a.lower[k].endswith(("ed", "ing"))
        and k + 1 in terms
        and after not in STOPWORDS
        and "NOUN" in _word_kinds(after)
    )


_VERB_FOLLOWERS = frozenset(
    "the a an for to in on at with into from his her their its off up out down by".split()
)


@lru_cache(maxsize=50_000)
def _plural_noun(word: str) -> bool:
    """A noun's plural form ("pirates", "backs"): its noun lemma is another word."""
    from lemminflect import getAllLemmas

    return any(lemma != word for lemma in getAllLemmas(word).get("NOUN", ()))


@lru_cache(maxsize=50_000)
def _word_kinds(word: str) -> frozenset[str]:
    """The parts of speech lemminflect's dictionary knows a lowercase word as; a word it does
    not know is taken for a noun."""
    from lemminflect import getAllLemmas

    word = word.split("-")[-1]
    found = getAllLemmas(word)
    return frozenset(found) if found else frozenset({"NOUN"})


def is_money(a: Analysis, pos: int) -> bool:
    """An amount of money: a figure right after a currency sign ("$ 2 million")."""
    return pos > 0 and a.lower[pos - 1] in CURRENCIES


def part_of(a: Analysis, pos: int) -> bool:
    """Whether a figure counts a whole that a part is taken from: "one of four men"."""
    w = a.lower
    return pos > 1 and w[pos - 1] == "of" and (w[pos - 2] in {"one", "two", "three", "some"})
