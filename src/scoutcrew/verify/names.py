"""Names in a claim against the names of its sources: variants a faithful writer uses, and the
one case that accuses the writer, another name in the same role.

- A name is a run of name words ("Sandra Bullock", "Kestrel-7B"). A run is found when all its
  words are in the source (any case or separator, an abbreviation for its initials), when a
  part of it is (a surname for a full name: "Hillenburg" for "Stephen Hillenburg"), or when a
  name of the source spells nearly the same (rapidfuzz: "Faroe" and "Faeroe", "Jon" and "John").
- A run the source lacks is *another name in the same role* when the source sentence that best
  matches the claim names someone else next to the same words ("Researchers at Stanford" where
  the source says "Researchers at the Halden Institute"): that contradicts the claim. Otherwise
  the name is only not confirmed.
- The subject of a claim may be what a source sentence calls "he", "she", "it" or "the film":
  a source about X often names X in its title only. That one run, at the start of the claim, is
  not held against it when the best-matching sentence opens with such a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .facts import Analysis, JoinedParts, name_in
from .words import lemmas

FUZZY_MIN = 88.0
"""The least rapidfuzz ratio (0-100) at which two names are spellings of one name."""
ANAPHORS = frozenset("he she it they his her its their this these".split())
SUBJECTS = frozenset("he she it they".split())
"""Pronouns that stand for the subject where they open a clause ("..., it signifies ...")."""
WORKS = frozenset(
    "film movie song single album series show book novel game episode season play poem painting "
    "track record documentary sitcom".split()
)
"""Nouns a source sentence uses for the work it is about ("The film was shot in ...")."""
_CONNECTORS = frozenset({"of", "de", "la", "le", "van", "von", "der", "da", "di", "&", "and"})


@dataclass
class NameRun:
    """Consecutive name words of one text: their positions and words."""

    start: int
    end: int  # the position after the last word
    words: list[str]

    @property
    def text(self) -> str:
        return " ".join(self.words)


def name_runs(a: Analysis) -> list[NameRun]:
    """The names of a text as runs: "Sandra Bullock", "Bank of England"."""
    cached: list[NameRun] | None = a.cache.get("runs")
    if cached is not None:
        return cached
    positions = {i: name for i, name in a.names}
    runs: list[NameRun] = []
    for i in sorted(positions):
        last = runs[-1] if runs else None
        if last is not None and i == last.end:
            last.end, last.words = i + 1, [*last.words, positions[i]]
        elif (
            last is not None
            and i == last.end + 1
            and a.lower[last.end] in _CONNECTORS
            and a.lower[last.end] != "and"
        ):
            last.end, last.words = i + 1, [*last.words, a.words[last.end], positions[i]]
        else:
            runs.append(NameRun(i, i + 1, [positions[i]]))
    a.cache["runs"] = runs
    return runs


def run_found(run: NameRun, source: Analysis, joined: JoinedParts) -> bool:
    """Whether a source gives this name, or a variant a faithful writer may use."""
    words = [w for w in run.words if w.lower() not in _CONNECTORS]
    found = [name_in(w, source, joined) for w in words]
    if all(found) or name_in(run.text, source, joined):
        return True
    # A part of a multi-word name: a surname for a full name ("Hillenburg" for "Stephen
    # Hillenburg"), never a name that differs in another part ("Halden Institute" is not
    # "Stanford Institute").
    parts = {w.lower() for ok, w in zip(found, words, strict=True) if ok and len(w) >= 3}
    claimed = {w.lower() for w in words}
    for other in name_runs(source) if parts and len(words) > 1 else []:
        given = {w.lower() for w in other.words if w.lower() not in _CONNECTORS}
        if given & parts and given <= claimed:
            return True
    return _fuzzy_found(run.text, source)


def _fuzzy_found(name: str, source: Analysis) -> bool:
    """Whether the name is spelt nearly like one of the source's ("Jon"/"John", "Faroe"/
    "Faeroe"): the whole name against whole names, so one shared word is not enough."""
    from rapidfuzz import process
    from rapidfuzz.distance import JaroWinkler

    if len(name) < 4:
        return False
    choices = source.cache.get("run_texts")
    if choices is None:
        choices = source.cache["run_texts"] = list(
            dict.fromkeys(r.text.lower() for r in name_runs(source))
        )
    cutoff = FUZZY_MIN / 100
    found = process.extractOne(
        name.lower(), choices, scorer=JaroWinkler.similarity, score_cutoff=cutoff
    )
    return found is not None


def opens_with_anaphor(sentence: Analysis) -> bool:
    """Whether a source sentence is about something it does not name: "She was ...", "The film
    was shot in ...", "... of Hinduism, it signifies ..." (a source about X often names X in
    its title only)."""
    words = [w for w in sentence.lower if re.match(r"[a-z]", w)]
    if not words:
        return False
    if words[0] in ANAPHORS:
        return True
    # A subject pronoun that opens a clause (", it signifies"), not any "it" of the sentence.
    low = sentence.lower
    if any(w in SUBJECTS and i > 0 and low[i - 1] in {",", ";"} for i, w in enumerate(low)):
        return True
    return words[0] == "the" and len(words) > 1 and words[1] in WORKS


def other_name_in_role(
    claim: Analysis, run: NameRun, sentence: Analysis, claim_runs: list[NameRun]
) -> NameRun | None:
    """A name of `sentence` that stands where the claim has `run`: the same words next to it.

    "Researchers at Stanford traced 2,400 failed runs" against "Researchers at the Halden
    Institute traced 2,400 failed agent runs": Halden Institute is in Stanford's role.
    """
    before = _neighbours(claim, run.start, -1, 1)
    after = _neighbours(claim, run.end - 1, +1, 1)
    if not before and not after:
        return None
    claimed = {w.lower() for r in claim_runs for w in r.words}
    first = next((i for i, w in enumerate(sentence.lower) if w[:1].isalnum()), -1)
    for other in name_runs(sentence):
        if {w.lower() for w in other.words} <= claimed:
            continue  # a name the claim uses too is not a rival
        if other.start == first and len(other.words) == 1 and lemmas(other.words[0].lower()):
            continue  # "Production took place in ...": a capitalised word, not a name
        # The nearest word on one side, and the token right beside, must be the same: the two
        # names fill one slot ("at Stanford traced" / "Halden Institute traced").
        if (
            before
            and before == _neighbours(sentence, other.start, -1, 1)
            and _token(claim, run.start - 1) == _token(sentence, other.start - 1)
        ) or (
            after
            and after == _neighbours(sentence, other.end - 1, +1, 1)
            and _token(claim, run.end) == _token(sentence, other.end)
        ):
            return other
    return None


def _token(a: Analysis, pos: int) -> str:
    return a.lower[pos] if 0 <= pos < len(a.lower) else ""


def _neighbours(a: Analysis, pos: int, direction: int, reach: int = 3) -> set[str]:
    """The content stems within `reach` words of `pos` on one side, inside the sentence."""
    stems = dict(a.content)
    out: set[str] = set()
    i = pos + direction
    steps = 0
    while 0 <= i < len(a.lower) and steps < reach + 2:
        w = a.lower[i]
        if w in {".", ";", "!", "?"}:
            break
        if i in stems:
            out.add(stems[i])
            if len(out) >= reach:
                break
        i += direction
        steps += 1
    return out
