"""The preference model of one crew: rules a person can read, learned from their ratings.

Why a model of our own and not a library's: each weight is the smoothed log-odds of a feature
among the stories rated up against those rated down (naive Bayes, with the two classes' sizes
taken into account), so a rule reads as what it is ("up: Klitschko, from 3 stories rated up and
none down") and removing it or a rating changes exactly what it says. It learns from a crew's
ratings in milliseconds on every run and needs no package; scikit-learn's logistic regression
(with SciPy, 195 MB installed) gives weights no count explains, and does no better on real
news (benchmarks/bench_preferences.py, which measures both).

Rules:
- learned: a word, name, outlet or kind of story found in at least MIN_SUPPORT rated stories on
  the side its weight points to, whose weight is at least MIN_WEIGHT either way (a word as
  common among liked stories as among the others teaches nothing);
- the story itself: a rating holds for the same story in later runs (an update of it);
- set by the reader: an outlet or a term rated up or down directly (a strong rule);
- removed: a rule the reader removed is never learned again (until a reset).

A story's score is the sum of the weights of the rules it matches; with no rule matched it is
0, an even chance, and nothing moves. The probability that the reader wants it is
1 / (1 + e^-score).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from .features import KINDS, Features

MIN_SUPPORT = 2  # rated stories on its side a learned rule on a word or a name needs
MIN_WEIGHT = 0.4  # a learned rule weaker than this either way is left out
SMOOTHING = 0.5  # added to each count (Laplace-like)
MAX_WEIGHT = 2.0  # a learned rule's weight is at most this either way
# An outlet or a kind of story is a property of many stories at once, so a few ratings find
# chance patterns in them ("the five stories rated down came from one outlet each"): learned,
# such a rule needs more ratings behind it and weighs less, and it never moves a story aside
# on its own (see CONTENT).
MIN_SUPPORT_SHAPE = 3
MAX_WEIGHT_SHAPE = 0.7
STORY_WEIGHT = 3.0  # the same story, rated before
SET_WEIGHT = 3.0  # an outlet or a term the reader rated directly


@dataclass
class Rating:
    """One rating as the model reads it (see ratings.py for where it is kept)."""

    id: int
    target: str  # "story" | "outlet" | "term" | "forget"
    value: str  # the story id, the outlet's host, the term, or the removed rule's key
    vote: int  # +1 up, -1 down (0 for "forget")
    title: str = ""
    features: dict[str, str] = field(default_factory=dict)  # a story's, when it was rated
    rated_at: str = ""
    origin: str = ""
    run_id: str | None = None


@dataclass
class Rule:
    """One thing the model learned, with the ratings behind it."""

    key: str
    label: str
    weight: float
    up: int = 0  # rated stories up that have it
    down: int = 0
    set_by_reader: bool = False  # an outlet or a term rated directly
    ratings: list[int] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.key.split(":", 1)[0]

    @property
    def about_content(self) -> bool:
        """Whether it says what a story is about (a word, a name, the story, a rule the reader
        set), rather than its shape (a learned outlet or kind)."""
        return self.set_by_reader or self.kind not in {"outlet", "kind"}

    def words(self) -> str:
        """The rule as a person reads it: "Klitschko", "outlet lab-notes.example"."""
        if self.kind == "outlet":
            return f"outlet {self.label}"
        if self.kind == "story":
            title = " ".join(self.label.split())
            return f'the story "{title if len(title) <= 60 else title[:57] + "..."}"'
        return self.label

    def because(self) -> str:
        """Where the rule comes from, in words."""
        if self.set_by_reader:
            return "you rated it " + ("up" if self.weight > 0 else "down")
        if self.kind == "story":
            return "you rated it " + ("up" if self.weight > 0 else "down")
        counts = []
        if self.up:
            counts.append(f"{self.up} rated up")
        if self.down:
            counts.append(f"{self.down} rated down")
        return f"in {' and '.join(counts)}"


@dataclass
class Judgement:
    """What the model says of one story or item."""

    score: float
    matched: list[tuple[Rule, float]]  # the rules it matches and what each adds

    @property
    def p(self) -> float:
        """The chance the reader wants it."""
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, self.score))))

    def strongest(self, sign: int, limit: int = 3) -> list[Rule]:
        """The rules that pushed it most in one direction (+1 up, -1 down)."""
        pushed = [(rule, w) for rule, w in self.matched if w * sign > 0]
        pushed.sort(key=lambda rw: -abs(rw[1]))
        return [rule for rule, _w in pushed[:limit]]

    def reason(self, sign: int) -> str:
        """ "up: Klitschko, boxing (from 3 ratings)": the rule that moved it, in words."""
        rules = self.strongest(sign)
        if not rules:
            return ""
        behind = sorted({r for rule in rules for r in rule.ratings})
        return (
            f"{'up' if sign > 0 else 'down'}: {', '.join(rule.words() for rule in rules)} "
            f"({plural(len(behind), 'rating')})"
        )


@dataclass
class Preferences:
    """A crew's preference model: its rules, by key, and how many ratings taught it."""

    crew: str
    rules: dict[str, Rule] = field(default_factory=dict)
    rated: int = 0  # stories rated
    removed: list[str] = field(default_factory=list)  # rules the reader removed

    def __bool__(self) -> bool:
        return bool(self.rules)

    def judge(self, features: Features) -> Judgement:
        matched = []
        for key in features.keys:
            rule = self.rules.get(key)
            if rule is not None:
                matched.append((rule, rule.weight))
        for key, rule in self.rules.items():
            if key.startswith("phrase:") and features.has_phrase(key[len("phrase:") :]):
                matched.append((rule, rule.weight))
        return Judgement(sum(w for _r, w in matched), matched)

    def up(self) -> list[Rule]:
        return sorted((r for r in self.rules.values() if r.weight > 0), key=_strength)

    def down(self) -> list[Rule]:
        return sorted((r for r in self.rules.values() if r.weight < 0), key=_strength)

    def summary(self, limit: int = 8) -> str:
        """ "up: Ollama, quantisation, outlet lab-notes.example; down: crypto" in one line."""
        parts = []
        for name, rules in (("up", self.up()), ("down", self.down())):
            if rules:
                shown = ", ".join(r.words() for r in rules[:limit])
                more = f" and {len(rules) - limit} more" if len(rules) > limit else ""
                parts.append(f"{name}: {shown}{more}")
        return "; ".join(parts) or "nothing learned yet"


def _strength(rule: Rule) -> tuple[int, float, str]:
    return (0 if rule.set_by_reader or rule.kind == "story" else 1, -abs(rule.weight), rule.label)


def learn(crew: str, ratings: Sequence[Rating]) -> Preferences:
    """Learn a crew's rules from its ratings (the latest rating of a target counts)."""
    removed = {r.value for r in ratings if r.target == "forget"}
    stories = [r for r in ratings if r.target == "story" and r.vote]
    ups = [r for r in stories if r.vote > 0]
    downs = [r for r in stories if r.vote < 0]
    prefs = Preferences(crew, rated=len(stories), removed=sorted(removed))
    counts: dict[str, list[Rating]] = {}
    labels: dict[str, str] = {}
    for rating in stories:
        for key, label in rating.features.items():
            if key.startswith("story:"):
                continue
            counts.setdefault(key, []).append(rating)
            labels.setdefault(key, label)
    for key, behind in counts.items():
        shape = key.split(":", 1)[0] in {"outlet", "kind"}
        if key in removed:
            continue
        up = sum(1 for r in behind if r.vote > 0)
        down = len(behind) - up
        weight = log_odds(up, down, len(ups), len(downs))
        if shape:
            weight = max(-MAX_WEIGHT_SHAPE, min(MAX_WEIGHT_SHAPE, weight))
        # "down: murder" means stories rated down had it: enough of them, on its own side.
        agreeing = up if weight > 0 else down
        if agreeing >= (MIN_SUPPORT_SHAPE if shape else MIN_SUPPORT) and abs(weight) >= MIN_WEIGHT:
            prefs.rules[key] = Rule(
                key, _label(key, labels[key]), weight, up, down, ratings=[r.id for r in behind]
            )
    for rating in stories:
        key = f"story:{rating.value}"
        if key not in removed:
            weight = STORY_WEIGHT if rating.vote > 0 else -STORY_WEIGHT
            prefs.rules[key] = Rule(key, rating.title or rating.value, weight, ratings=[rating.id])
    for rating in ratings:
        if rating.target in {"outlet", "term"} and rating.vote:
            key = rating.value
            if key in removed:
                continue
            label = rating.title or key.split(":", 1)[1]
            weight = SET_WEIGHT if rating.vote > 0 else -SET_WEIGHT
            prefs.rules[key] = Rule(key, label, weight, set_by_reader=True, ratings=[rating.id])
    return prefs


def log_odds(up: int, down: int, ups: int, downs: int) -> float:
    """How much likelier a feature is among the stories rated up than among those rated down,
    as a log ratio of smoothed shares, within +-MAX_WEIGHT."""
    a = SMOOTHING
    share_up = (up + a) / (ups + 2 * a)
    share_down = (down + a) / (downs + 2 * a)
    return max(-MAX_WEIGHT, min(MAX_WEIGHT, math.log(share_up / share_down)))


def _label(key: str, label: str) -> str:
    if key.startswith("kind:"):
        return KINDS.get(key[5:], label)
    return label


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
