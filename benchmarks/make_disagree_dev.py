"""Build benchmarks/data/stories/disagree_dev.jsonl: many more labelled pairs for "sources
disagree", made by rule from the tuned ECB+ topics only, so that nobody chose them.

    python benchmarks/make_disagree_dev.py

Two sentences of two articles of one tuned event that tell the same thing (they share at least
MIN_SHARED content words, and that many of the shorter's) are an `agree` pair as published. From
each such pair, b is edited once by rule:
- `figure`: a figure both sentences give (digits or a number word, not a year, a time or a
  part of a name) is changed in b: n -> n + max(1, n // 5); a number word -> the next one;
- `polarity`: the first auxiliary in b that stands before a word both sentences use ("was
  charged", "has checked") gets "not" after it.
At most PER_EVENT pairs of each label per event, in file order. Source and licence: ECB+, CC BY
3.0 (see data/stories/README.md).
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from itertools import combinations
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ecbplus  # noqa: E402

OUT = HERE / "data" / "stories" / "disagree_dev.jsonl"
MIN_SHARED = 4
SHARE = 0.4
PER_EVENT = 3
SENTENCES = 6  # the lead of each article
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven"]
_FIGURE = re.compile(
    r"(?<![\d:,.])\b(\d{1,3}(?:,\d{3})*|" + "|".join(_WORDS) + r")\b(?![\d:]| ?: ?\d)",
    re.IGNORECASE,
)
_AUX = re.compile(r"\b(was|were|is|are|has|have|had|will|would|could)\s+(\w+)", re.IGNORECASE)


def main() -> int:
    from scoutcrew.text.terms import terms

    tuned, _held = ecbplus.split(ecbplus.load())
    by_event: dict[str, list[ecbplus.Article]] = defaultdict(list)
    for a in tuned:
        by_event[a.cluster].append(a)
    rows: list[dict[str, object]] = []
    for event, articles in by_event.items():
        counts: dict[str, int] = defaultdict(int)
        for a, b in combinations(articles, 2):
            for s in _lead(a):
                for t in _lead(b):
                    ts, tt = set(terms(s)), set(terms(t))
                    shared = len(ts & tt)
                    if shared < MIN_SHARED or shared < SHARE * min(len(ts), len(tt)) or s == t:
                        continue
                    for label, edited in (("agree", t), ("figure", _figure(s, t))):
                        _add(rows, counts, event, a, b, s, t, label, edited)
                    _add(rows, counts, event, a, b, s, t, "polarity", _negated(s, t, terms))
    with OUT.open("w", encoding="utf-8") as handle:
        for n, row in enumerate(rows, 1):
            handle.write(json.dumps({"id": f"d{n}", **row}, ensure_ascii=False) + "\n")
    print(f"{len(rows)} pairs -> {OUT}")
    return 0


def _lead(a: ecbplus.Article) -> list[str]:
    return [s for s in _SENTENCE.split(f"{a.title} {a.text}")[:SENTENCES] if 40 <= len(s) <= 400]


def _add(
    rows: list[dict[str, object]],
    counts: dict[str, int],
    event: str,
    a: ecbplus.Article,
    b: ecbplus.Article,
    s: str,
    t: str,
    label: str,
    edited: str | None,
) -> None:
    if edited is None or counts[label] >= PER_EVENT:
        return
    counts[label] += 1
    origin = "real" if label == "agree" else f"rule: {t!r} -> {edited!r}"
    rows.append(
        {
            "topic": a.topic,
            "event": event,
            "label": label,
            "a": s,
            "b": edited,
            "docs": [a.doc, b.doc],
            "origin": origin if len(origin) < 600 else "rule",
        }
    )


def _figure(s: str, t: str) -> str | None:
    """t with a figure both sentences give changed, or None."""
    given = {m.group(1).lower() for m in _FIGURE.finditer(s)}
    for m in _FIGURE.finditer(t):
        value = m.group(1)
        if value.lower() not in given:
            continue
        if value.lower() in _WORDS:
            k = _WORDS.index(value.lower())
            new = _WORDS[k + 1] if k + 1 < len(_WORDS) else "twelve"
            new = new.capitalize() if value[0].isupper() else new
        else:
            n = int(value.replace(",", ""))
            if 1900 <= n <= 2100 or re.search(r"[A-Za-z]$|: ?$", t[: m.start()]):
                continue  # a year, a part of a name, the minutes of a time
            new = f"{n + max(1, n // 5):,}" if "," in value else str(n + max(1, n // 5))
        return t[: m.start()] + new + t[m.end() :]
    return None


def _negated(s: str, t: str, terms: object) -> str | None:
    """t with "not" after its first auxiliary that stands before a word s uses too."""
    assert callable(terms)
    used = set(terms(s))
    for m in _AUX.finditer(t):
        word = m.group(2)
        if word.lower() in {"not", "no", "never", "n't"} or not terms(word):
            continue
        if set(terms(word)) & used:
            return t[: m.end(1)] + " not" + t[m.end(1) :]
    return None


if __name__ == "__main__":
    sys.exit(main())
