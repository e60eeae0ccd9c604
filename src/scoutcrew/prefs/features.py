"""What a story or an item is about, as the preference model reads it: its rarest words and
names (weighed as story grouping weighs them, stories/similar.py), its outlets, its kind, and
the story itself.

Every feature has a key (`term:earthquak`, `name:klitschko`, `outlet:lab-notes.example`,
`kind:update`, `story:st-0a1b2c...`) and a label a person reads ("earthquake", "Klitschko",
"lab-notes.example", "updates of earlier stories"). A story's features are computed from the
same parts wherever it is seen (the run's sources, or the run record and report when it is
rated): the title and the lead of each source's text, and its links.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..stories.group import host
from ..stories.similar import item_profile
from ..text.terms import STOPWORDS, stem, terms

LEAD_CHARS = 1500  # of each source's text: the lead tells what it is about
TOP_TERMS = 25  # a story keeps its heaviest words...
TOP_NAMES = 10  # ...and names (names are rarer: without a quota of their own they crowd out
# the words that say what kind of story it is)

# Words that say when or how a story was told, not what it is about.
FRAME_WORDS = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april
    june july august september october november december today yesterday tomorrow tonight
    morning afternoon evening night week weekend month year years day days time times news
    report reports reported story stories told update updated breaking latest people percent
    had has have was were being been did does don't""".split()
)

KINDS = {
    "update": "updates of earlier stories",
    "one-outlet": "stories from one outlet only",
    "wide": "widely reported stories (3 or more outlets)",
    "disagree": "stories whose sources disagree",
}


@dataclass
class Features:
    """What one story or item is about: feature key -> label, and its words for phrase rules."""

    keys: dict[str, str] = field(default_factory=dict)
    stems: str = " "  # " w1 w2 ... " of its titles and leads, stemmed: rules on a phrase

    def has_phrase(self, phrase_stems: str) -> bool:
        return f" {phrase_stems} " in self.stems


@dataclass(frozen=True)
class Part:
    """One source of a story: its title, text and the links it was seen at."""

    title: str
    text: str
    links: Sequence[str] = ()


def item_features(title: str, text: str, links: Iterable[str]) -> Features:
    """The features of one item before it is read: its words and names, and its outlets."""
    return combine([Part(title, text, tuple(links))])


def story_features(
    story_id: str,
    parts: Sequence[Part],
    *,
    status: str = "new",
    disagree: bool = False,
) -> Features:
    """The features of a story: its sources' words and names, its outlets, its kind."""
    features = combine(parts)
    hosts = {k for k in features.keys if k.startswith("outlet:")}
    kinds = []
    if status == "updated":
        kinds.append("update")
    kinds.append("one-outlet" if len(hosts) <= 1 else "wide" if len(hosts) >= 3 else "")
    if disagree:
        kinds.append("disagree")
    for kind in filter(None, kinds):
        features.keys[f"kind:{kind}"] = KINDS[kind]
    features.keys[f"story:{story_id}"] = "this story"
    return features


def combine(parts: Sequence[Part]) -> Features:
    """Sum the parts' profiles and keep the heaviest words and names, with the outlets."""
    weights: dict[str, float] = defaultdict(float)
    labels: dict[str, str] = {}
    texts = []
    for part in parts:
        lead = part.text[:LEAD_CHARS]
        texts.append(f"{part.title}\n{lead}")
        profile = item_profile(part.title, lead)
        for term, weight in profile.vector.items():
            if term.startswith("N:"):
                if term[2:] in FRAME_WORDS:
                    continue
                key = f"name:{term[2:]}"
            elif f"N:{term}" in profile.vector:
                continue  # the name counts once, as a name
            elif not term.isalpha() or term in STOPWORDS or term in FRAME_WORDS:
                continue  # a figure, "year-old", "n't", "Monday": nothing a reader likes
            else:
                key = f"term:{stem(term)}"
                labels.setdefault(key, term)
            weights[key] += weight
    ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    top = [kv for kv in ranked if kv[0].startswith("name:")][:TOP_NAMES]
    top += [kv for kv in ranked if kv[0].startswith("term:")][:TOP_TERMS]
    joined = "\n".join(texts)
    keys = {key: labels.get(key) or name_label(key[5:], joined) for key, _w in top}
    for link in [link for part in parts for link in part.links]:
        keys.setdefault(f"outlet:{host(link)}", host(link))
    return Features(keys, " " + " ".join(terms(joined)) + " ")


def name_label(word: str, text: str) -> str:
    """A name as the text writes it ("Klitschko", "IBF"), else capitalised."""
    match = re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text, re.IGNORECASE)
    return match.group(0) if match and match.group(0)[:1].isupper() else word.capitalize()


def phrase_key(kind: str, value: str) -> str:
    """The key of a rule the reader set on a term (its stemmed words) or an outlet (its host)."""
    if kind == "outlet":
        return f"outlet:{host(value) if '://' in value else value.strip().lower()}"
    return "phrase:" + " ".join(terms(value))
