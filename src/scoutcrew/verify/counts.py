"""What a figure counts or measures, for "sources disagree" (disagree.py).

A number counts the noun its phrase ends on, past the words that describe it: "23 Somalian
pirates" and "25 pirates" count pirates, "two possible gang members" and "three male gang
members" count members, "the top two power running backs" counts backs. A number followed by
a unit measures in that unit: "an eight-year offer" counts years, "2,000 feet" feet. Which
words may be nouns or describe one is read from lemminflect's English dictionary (and a
capitalised word inside the phrase is a name that describes: "Somalian"); a word that can only
be a verb ends the phrase ("three bank workers died").

A count that a word before it makes a part of a series ("the final two games", "the first 10
minutes") is not one quantity with a count without it ("four games").
"""

from __future__ import annotations

from functools import lru_cache

from ..text.terms import STOPWORDS, stem
from .facts import Analysis, Figure
from .quantities import QUANTITY_WORDS

PHRASE_REACH = 4  # words after a number its noun phrase may span
CURRENCIES = frozenset({"$", "\u20ac", "\u00a3", "\u00a5"})

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
    return set(_phrase(a, f.pos)[0])


def compound(a: Analysis, f: Figure) -> frozenset[str]:
    """The nouns before the noun a figure counts, that make it a kind of its own: "career" in
    "2,301 career points", "gang" in "two suspected gang members"; not adjectives or names
    ("23 Somalian pirates")."""
    return _phrase(a, f.pos)[1]


def _phrase(a: Analysis, pos: int) -> tuple[frozenset[str], frozenset[str]]:
    cache: dict[int, tuple[frozenset[str], frozenset[str]]] = a.cache.setdefault("counted", {})
    if pos not in cache:
        cache[pos] = _read_phrase(a, pos)
    return cache[pos]


def _read_phrase(a: Analysis, pos: int) -> tuple[frozenset[str], frozenset[str]]:
    terms = dict(a.context)
    names = {} if _title_case(a) else dict(a.names)  # "7 Villages Damaged": no names
    nxt = pos + 1
    while nxt < len(a.lower) and a.lower[nxt] in _LEAD_INS:
        nxt += 1
    first = terms.get(nxt)
    if first is None:
        return frozenset(), frozenset()
    if a.lower[nxt] in _UNITS:
        return frozenset({first}), frozenset()
    head = None
    for k in range(nxt, min(len(a.lower), nxt + PHRASE_REACH)):
        word = a.lower[k]
        if k not in terms or word in STOPWORDS or word in _ENDS:
            break
        if k in names:
            head = k  # "23 Somalian pirates": a name describes, or is what is counted
            continue
        kinds = word_kinds(word)
        if head is not None and "VERB" in kinds and _verb_here(a, k, terms):
            break  # "288 candidates running for", "60 firefighters tackle the blaze"
        if "NOUN" in kinds:
            head = k
        elif "ADJ" not in kinds and not (head is None and _modifies(a, k, terms)):
            break  # a verb: "three bank workers died"; not "two suspected gang members"
    if head is None:
        return frozenset({QUANTITY_WORDS.get(first, first)}), frozenset()
    nouns = frozenset(
        terms[k]
        for k in range(nxt, head)
        if k not in names
        and "NOUN" in word_kinds(a.lower[k])
        and "ADJ" not in word_kinds(a.lower[k])
        and not _modifies(a, k, terms)
    )
    return frozenset({QUANTITY_WORDS.get(terms[head], terms[head])}), nouns


PEOPLE = frozenset(
    stem(w)
    for w in "person people man men woman women child children boy boys girl girls adult "
    "adults individual individuals".split()
)  # counted as one thing: "one person" and "two men" count the people a story is about


_GROUPS = PEOPLE | {stem("other"), stem("others")}


def people_count(a: Analysis, f: Figure, figures: list[Figure]) -> set[str]:
    """What f counts, read as "#people" where it counts people and no other figure of the
    sentence counts people or others (then "two men and one woman" keep their nouns)."""
    mine = counted(a, f)
    if not mine & PEOPLE:
        return mine
    if any(g.pos != f.pos and counted(a, g) & _GROUPS for g in figures):
        return mine  # "shot to death one person and injured two others": parts of a whole
    return {"#people"}


def names_a_thing(a: Analysis, f: Figure) -> bool:
    """Whether a number and its unit describe a noun after them ("a 90-day stint", "an
    eight-year offer") rather than measure a span ("10 minutes later")."""
    nxt = f.pos + 1
    while nxt < len(a.lower) and a.lower[nxt] in _LEAD_INS:
        nxt += 1
    if nxt >= len(a.lower) or a.lower[nxt] not in _UNITS:
        return False
    after = a.lower[nxt + 1] if nxt + 1 < len(a.lower) else ""
    terms = {k for k, _ in a.context}
    return nxt + 1 in terms and after not in STOPWORDS and "NOUN" in word_kinds(after)


def _title_case(a: Analysis) -> bool:
    words = [w for w in a.words if w[:1].isalpha()]
    return sum(w[0].isupper() for w in words) > 0.6 * len(words) > 2


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
        return k + 1 not in terms or after in STOPWORDS or "NOUN" not in word_kinds(after)
    return False


def _modifies(a: Analysis, k: int, terms: dict[int, str]) -> bool:
    """Whether a participle before a noun describes it: "suspected" in "two suspected gang
    members"."""
    after = a.lower[k + 1] if k + 1 < len(a.lower) else ""
    return (
        a.lower[k].endswith(("ed", "ing"))
        and k + 1 in terms
        and after not in STOPWORDS
        and "NOUN" in word_kinds(after)
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
def word_kinds(word: str) -> frozenset[str]:
    """The parts of speech lemminflect's dictionary knows a lowercase word as; a word it does
    not know is taken for a noun."""
    from lemminflect import getAllLemmas

    word = word.split("-")[-1]
    found = getAllLemmas(word)
    return frozenset(found) if found else frozenset({"NOUN"})


def is_money(a: Analysis, pos: int) -> bool:
    """An amount of money: a figure right after a currency sign ("$ 2 million")."""
    return pos > 0 and a.lower[pos - 1] in CURRENCIES


def segment(a: Analysis, pos: int) -> str:
    """The word that makes a count a part of a series: right before it ("the final two
    games", "his last three starts", "the first 10 minutes", "the top two running backs"), or
    "during a" stretch after its noun ("had five points during a pivotal run": one of the
    game's runs, where "during the attack" is the whole); "" when there is none."""
    before = a.lower[pos - 1] if pos > 0 else ""
    if before in _SEGMENTS:
        return before
    after = a.lower[pos + 1 : pos + 1 + PHRASE_REACH + 2]
    for k, word in enumerate(after[:-1]):
        if word in {",", ";", ".", "and"}:
            break
        if word == "during" and after[k + 1] in {"a", "an"}:
            return "during a"
    return ""


_SEGMENTS = frozenset(
    "final last first next past previous remaining opening closing top bottom".split()
)


def part_of(a: Analysis, pos: int) -> bool:
    """Whether a figure counts a whole that a part is taken from: "one of four men"."""
    w = a.lower
    return pos > 1 and w[pos - 1] == "of" and (w[pos - 2] in {"one", "two", "three", "some"})
