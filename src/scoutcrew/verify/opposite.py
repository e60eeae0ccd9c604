"""Opposite statements between two sources of one story: one says what the other denies.

Two sentences are compared when they tell the same thing (most of the shorter one's content
words are in the other). They make opposite statements when a predicate one of them asserts
is negated in the other ("was found guilty" / "was not found guilty", "pointed a gun" / "never
pointed a gun", "caused $1 million in damages" / "caused no damage"), or when they use the two
sides of one opposition ("denied" / "confirmed", "acquitted" / "convicted", "survived" /
"died"), and the predicate is about the same thing in both: a word or name that stands next
to it in one sentence stands next to it in the other too, or it is said in the main clause
of both of the name both open with ("John Jenkin, 23, of ..., was arrested" / "John Jenkin,
23, was not arrested"). "Failed to" denies what follows it as "not" does. A few verbs name
one act ("captured" / "failed to arrest", "thwarted" / "fails to stop"). Sentences that
share many words but less than half of the shorter's are compared too, where the predicate
is in the main clause of both and at least three words stand next to it in both. A denial of
what did not happen ("would not have placed him on reserve if ...") is no denial.

What is not a statement about the event is left alone: a negated verb of saying ("did not say
what she was treated for", "would not comment"), a name ("Not because Mo Cheeks ..."), an
adverb ("not officially sanctioned": the negation reaches the verb), and negations that deny
nothing ("not only", "not because", "no doubt").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..text.terms import STOPWORDS, stem
from . import lexicon
from .facts import Analysis, analyse
from .quantities import QUANTITY_WORDS

CLOSE_SHARE = 0.4  # share of the shorter sentence's words and names the other must have
MIN_SHARED = 3  # ...and at least this many
ARGUMENT_REACH = 8  # tokens on each side of a predicate where the words it is about stand
SCOPE_REACH = 6  # tokens after a negation cue where the word it negates may stand
SAME_TOPIC_TERMS = 5  # sentences that share this many words and names ...
SAME_TOPIC_SHARE = 0.5  # ... and this share of the shorter's tell of one thing throughout
NEAR_SHARED = 5  # sentences less close than CLOSE_SHARE that share this many words and names,
NEAR_SHARE = 0.3  # ... and this share of the shorter's, are compared where the words around
STRICT_NEIGHBOURS = 3  # ... the predicate that both use are at least this many

# "without", "lack" and "few" negate less plainly than a predicate's "not".
_CUES = frozenset(lexicon.NEGATION_CUES - {"without", "lack", "lacks", "lacking", "few"}) | {
    "never"
}
_FAILING = frozenset({"fail", "fails", "failed", "failing"})  # before "to": "failed to reach"
_MODALS = frozenset({"would", "could", "might", "should"})
_MODAL_NOT = frozenset({"wouldn't", "couldn't", "shouldn't"})
# Negations that deny nothing of what follows.
_HOLLOW = frozenset(
    {
        ("not", "because"),
        ("not", "only"),
        ("not", "just"),
        ("not", "least"),
        ("not", "until"),
        ("not", "to"),
        ("no", "doubt"),
        ("no", "matter"),
        ("no", "one"),  # "no one" is read as "nobody", below
        ("not", "yet"),
    }
)
_CLAUSE_BREAKS = frozenset(',;:.()!?"') | frozenset(lexicon.SCOPE_BREAKS) - {"than", "if"}
_PASS_THROUGH = frozenset(lexicon.NEGATION_TRANSPARENT) | {
    "ever",
    "yet",
    "even",
    "immediately",
    "officially",
    "publicly",
    "formally",
    "actually",
    "also",
    "all",
    "one",
}
# Verbs of saying and knowing: negated, they say nothing about the event itself.
_SAYING = frozenset(
    stem(w)
    for w in "say said says tell told comment comments commented know knew known elaborate "
    "specify specified explain explained answer answered call called".split()
)
# Verbs that name one act: a source that says it happened and one that says it failed to
# happen disagree whichever of them each uses ("captured 23 pirates" / "failed to arrest 23
# pirates", "thwarted an attack" / "fails to stop").
# The words that name one quantity (quantities.py: killed/died, arrested/captured) name one act.
_ACTS = QUANTITY_WORDS | {
    stem(w): "#stop"
    for w in "stop stopped thwart thwarted foil foiled prevent prevented repel repelled avert "
    "averted".split()
}
# The two sides of an opposition, as stems: (scale, side).
_OPPOSITES = {
    stem(w): (scale, side)
    for scale, pairs in {
        "admit": ("confirm confirmed confirms admit admitted admits", "deny denied denies"),
        "guilt": ("guilty convicted convict", "innocent acquitted acquit acquittal"),
        "alive": ("survived survive survives alive", "died dies die dead"),
        "accept": ("accepted accepts accept approved approves", "rejected rejects refused refuses"),
    }.items()
    for side, words in zip("+-", pairs, strict=True)
    for w in words.split()
}


@dataclass(frozen=True)
class Opposite:
    """Two sentences that say opposite things, and the word they differ on."""

    first: str
    second: str
    word: str


def opposite_statement(sents_a: Sequence[str], sents_b: Sequence[str]) -> Opposite | None:
    """The first sentence of `sents_a` that a close sentence of `sents_b` contradicts."""
    read_b = [(s, _read(s)) for s in sents_b if "?" not in s]
    for sentence in sents_a:
        if "?" in sentence:
            continue
        x = _read(sentence)
        for other, y in read_b:
            if _close(x, y):
                word = _flipped(x, y)
            elif _nearly_close(x, y):
                word = _flipped(x, y, strict=True)
            else:
                continue
            if word:
                return Opposite(sentence, other, word)
    return None


@dataclass
class _Reading:
    analysis: Analysis
    terms: set[str]  # content words and names (stemmed)
    said: dict[str, list[tuple[int, bool]]]  # predicate stem -> [(position, negated)]
    near: list[str]  # per position: the stem of a content word or name there, else ""


def _read(sentence: str) -> _Reading:
    words = sentence.split()
    if sum(w[:1].isupper() for w in words) > 0.6 * len(words) > 2:
        sentence = sentence.lower()  # a Title Case headline: its capitals mark no names
    a = analyse(sentence)
    names = {i for i, _ in a.names}
    near = [""] * len(a.lower)
    for i, t in a.context:
        near[i] = t
    negated = _negated(a, names)
    said: dict[str, list[tuple[int, bool]]] = {}
    for i, t in a.content:
        if i in names or a.lower[i].endswith("ly"):
            continue
        said.setdefault(_ACTS.get(t, t), []).append((i, i in negated))
    return _Reading(a, {t for _, t in a.context}, said, near)


def _negated(a: Analysis, names: set[int]) -> set[int]:
    """Positions a negation denies: the first content word after its cue, in its clause."""
    out: set[int] = set()
    words = a.lower
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w in _FAILING and nxt != "to":
            continue  # "her failed campaign" denies nothing
        if nxt == "have" and (w in _MODAL_NOT or (i > 0 and words[i - 1] in _MODALS)):
            continue  # "would not have placed him on reserve if ...": what did not happen
        if w not in _CUES and not w.endswith("n't") and w not in _FAILING:
            continue
        if (w, nxt) in _HOLLOW and not (w == "no" and nxt == "one"):
            continue
        if w in _FAILING and nxt == "to":
            start = i + 2  # "failed to win": the win is denied
        elif w in {"nobody", "nothing", "none"} or (w, nxt) == ("no", "one"):
            start = i + 2 if nxt == "one" else i + 1  # "nobody was hurt": the verb is denied
        elif (w, nxt) == ("no", "longer"):
            start = i + 2
        else:
            start = i + 1
        for j in range(start, min(len(words), start + SCOPE_REACH)):
            word = words[j]
            if word in _CLAUSE_BREAKS or j in names:
                break
            if word in STOPWORDS or word in _PASS_THROUGH or word.endswith("ly"):
                continue
            if word[0].isalpha():
                if stem(word) not in _SAYING:
                    out.add(j)
                break
    return out


def _close(x: _Reading, y: _Reading) -> bool:
    shared = len(x.terms & y.terms)
    return shared >= MIN_SHARED and shared >= CLOSE_SHARE * min(len(x.terms), len(y.terms))


def _nearly_close(x: _Reading, y: _Reading) -> bool:
    """Two sentences that share many words, though less than half of the shorter's: compared
    only where the words around the predicate are much the same in both (_flipped, strict)."""
    shared = len(x.terms & y.terms)
    return shared >= NEAR_SHARED and shared >= NEAR_SHARE * min(len(x.terms), len(y.terms))


def _flipped(x: _Reading, y: _Reading, strict: bool = False) -> str:
    """A predicate one sentence asserts and the other denies, about the same thing (strict:
    with at least STRICT_NEIGHBOURS words around it in both)."""
    for t in sorted(set(x.said) & set(y.said)):
        if t in _SAYING:
            continue
        sides_x = {neg for _, neg in x.said[t]}
        sides_y = {neg for _, neg in y.said[t]}
        if len(sides_x) != 1 or len(sides_y) != 1 or sides_x == sides_y:
            continue
        i, j = x.said[t][0][0], y.said[t][0][0]
        if strict and not _strictly_same(x, i, y, j):
            continue
        if _same_topic(x, i, y, j) and not _two_actors(x.analysis, i, y.analysis, j):
            return x.analysis.words[i].lower()
    for t, (scale, side) in _OPPOSITES.items():
        for i, neg_x in x.said.get(t, []):
            for u, (scale_u, side_u) in _OPPOSITES.items():
                if scale_u != scale:
                    continue
                for j, neg_y in y.said.get(u, []):
                    opposed = (side == side_u) != (neg_x == neg_y)
                    if strict and not _strictly_same(x, i, y, j):
                        continue
                    if opposed and _same_topic(x, i, y, j):
                        if not _two_actors(x.analysis, i, y.analysis, j):
                            return x.analysis.words[i].lower()
    return ""


def _same_topic(x: _Reading, i: int, y: _Reading, j: int) -> bool:
    """Whether a word or name next to the predicate in one sentence is next to it in the
    other, or the two sentences share most of their words: the two statements are about the
    same thing."""
    shared = len(x.terms & y.terms)
    if shared >= SAME_TOPIC_TERMS and shared >= SAME_TOPIC_SHARE * min(len(x.terms), len(y.terms)):
        return True
    if _neighbours(x, i, y, j) > 0:
        return True
    subject = main_subject(x.analysis, i)
    return bool(subject) and subject == main_subject(y.analysis, j)


def _strictly_same(x: _Reading, i: int, y: _Reading, j: int) -> bool:
    """For sentences only nearly close: the predicate stated in the main clause of both, with
    at least STRICT_NEIGHBOURS words around it in both."""
    if _subordinate(x.analysis, i) or _subordinate(y.analysis, j):
        return False  # "After ... facing the prospect of arrest, Lohan checked into ..."
    return _neighbours(x, i, y, j) >= STRICT_NEIGHBOURS


def _subordinate(a: Analysis, pos: int) -> bool:
    """Whether the word at `pos` stands in a clause a subordinator opens ("after", "if",
    "when", "which" ...), with no comma since."""
    for k in range(pos - 1, -1, -1):
        word = a.lower[k]
        if word in {",", ";", ":"}:
            return False
        if word in _SUBORDINATORS or word in _RELATIVES:
            return True
    return False


def _neighbours(x: _Reading, i: int, y: _Reading, j: int) -> int:
    """How many words and names stand near the predicate in both sentences."""
    left = {t for t in x.near[max(0, i - ARGUMENT_REACH) : i + ARGUMENT_REACH + 1] if t}
    right = {t for t in y.near[max(0, j - ARGUMENT_REACH) : j + ARGUMENT_REACH + 1] if t}
    left.discard(x.near[i])
    right.discard(y.near[j])
    return len(left & right)


def main_subject(a: Analysis, pos: int) -> tuple[str, ...]:
    """The name a sentence opens with, when what is said at `pos` is said of it: in the main
    clause, not in a clause that opens after it ("after police found", "which took place"),
    though a clause set off inside the subject is passed ("Bettie Page, the model who
    inspired a generation, died"). Empty otherwise."""
    names = dict(a.names)
    run = 0
    while run in names:
        run += 1
    if not run or a.cache.setdefault("title case", _title_case(a)):
        return ()
    aside = False
    for k in range(run, pos):
        word = a.lower[k]
        if word == ",":
            aside = False
        elif word in _RELATIVES:
            aside = True
        elif word in _SUBORDINATORS and not aside:
            return ()
        elif word in {";", ":"} and not aside:
            return ()
    if aside:
        return ()
    return tuple(_stem_name(names[k]) for k in range(run))


_RELATIVES = frozenset("who whose whom which that".split())
_SUBORDINATORS = frozenset(
    "after before when while because since although though if as until unless where".split()
)


def _two_actors(x: Analysis, i: int, y: Analysis, j: int) -> bool:
    """Whether the names that act in the two clauses differ ("Klitschko landed" / "Rahman
    did not land"): then the two statements are about two people."""
    first, second = actor(x, i), actor(y, j)
    return bool(first and second and first != second)


def actor(a: Analysis, pos: int, reach: int = 4) -> str:
    """Who does what is said at position `pos`, stemmed: the name right before it in its
    clause ("McDermott scored 23 points"), or else the full name the sentence opens with
    ("Doug McDermott became ... and had five points", "Klitschko, who ..., landed"); "" when a
    pronoun or a passive ("was fired") stands before it, when no name is found, or in a Title
    Case headline, where capitals mark no names."""
    if a.cache.setdefault("title case", _title_case(a)):
        return ""
    names = dict(a.names)
    for k in range(pos - 1, max(-1, pos - reach - 1), -1):
        if a.lower[k] in _POSSESSIVES:
            continue  # "finished his career with 2,290 points": who acts is further back
        if a.lower[k] in _PRONOUNS or a.lower[k] in _PASSIVE:
            return ""  # "Cheeks was fired": the name before a passive is not who acts
        if a.lower[k] in _CLAUSE_BREAKS:
            break
        if k in names and _describes(a, k, names):
            continue  # "A British climber has fallen": the climber acts
        if k in names and (k == pos - 1 or not _object(a, k, names)):
            return _stem_name(names[k])
    return _opening_name(a, names)


def _describes(a: Analysis, k: int, names: dict[int, str]) -> bool:
    """Whether the name at k says what kind a noun after it is ("British climber", "Iranian
    rescue workers"): a word lemminflect knows as a noun and not as a verb follows it."""
    nxt = k + 1
    if nxt in names or nxt >= len(a.lower) or not a.lower[nxt].isalpha():
        return False
    word = a.lower[nxt]
    if word in STOPWORDS:
        return False
    from lemminflect import getAllLemmas

    kinds = getAllLemmas(word)
    return "NOUN" in kinds and "VERB" not in kinds


def _object(a: Analysis, k: int, names: dict[int, str]) -> bool:
    """Whether the name at k is what a verb or a preposition takes, not
    who acts: "offered Teixeira a contract", "checked into the Betty Ford Center to begin"."""
    while k + 1 in names:
        k += 1
    if k + 1 < len(a.lower) and a.lower[k + 1] in {"a", "an", "the"}:
        return True  # "offered first baseman Mark Teixeira an eight-year contract"
    start = k
    while start - 1 in names:
        start -= 1
    before = start - 1
    while before >= 0 and a.lower[before] in {"the", "a", "an"}:
        before -= 1
    if before < 0:
        return False
    word = a.lower[before]
    if word in _PREPOSITIONS:
        return True
    return word.isalpha() and word not in STOPWORDS and _verb_only(word)


_PREPOSITIONS = frozenset(
    "into in at on to from with for of about against toward towards through near "
    "between over under inside outside".split()
)


def _verb_only(word: str) -> bool:
    """A word lemminflect's dictionary knows as a verb and not as a noun or adjective."""
    from lemminflect import getAllLemmas

    kinds = getAllLemmas(word)
    return "VERB" in kinds and not {"NOUN", "ADJ"} & set(kinds)


def _opening_name(a: Analysis, names: dict[int, str]) -> str:
    """The name a sentence opens with, when it is surely one: two capitalised words ("Doug
    McDermott") or one set off by a comma ("Klitschko, who ...", "Ford, now an assistant
    coach, finished his career ...")."""
    run = 0
    while run in names:
        run += 1
    if run >= 2 or (run == 1 and a.lower[1:2] == [","]):
        return _stem_name(names[run - 1])
    return ""


def _stem_name(name: str) -> str:
    name = name.lower()
    return stem(name[:-2] if name.endswith("'s") else name)


_PASSIVE = frozenset("was were is are been be being".split())
_PRONOUNS = frozenset("he she they it we i you who".split())
_POSSESSIVES = frozenset("his her their its".split())


def _title_case(a: Analysis) -> bool:
    words = [w for w in a.words if w[:1].isalpha()]
    return sum(w[0].isupper() for w in words) > 0.6 * len(words) > 2
