"""Content words of English text: tokens, light stemming and stopwords, shared by the checks."""

from __future__ import annotations

import re
from functools import lru_cache

_CITE_GROUP_RE = re.compile(r"\[\s*[Ss]\s?\d+(?:\s*[,;]\s*(?:[Ss]\s?)?\d+)*\s*\]")


def terms(text: str) -> list[str]:
    """Return the stemmed content words and numbers of `text`."""
    text = _CITE_GROUP_RE.sub(" ", text.lower().replace("\u2019", "'"))
    out = []
    for raw in re.findall(r"\d+(?:[.,]\d+)*%?|[a-z\u00c0-\u024f][a-z\u00c0-\u024f'-]*", text):
        if raw[0].isdigit():
            out.append(raw.rstrip("%").replace(",", ""))
            continue
        for word in raw.split("-"):
            word = word.strip("'")
            if word.endswith("'s"):
                word = word[:-2]
            if len(word) < 2 or word in STOPWORDS:
                continue
            out.append(stem(word))
    return out


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Strip common English suffixes so "released", "releases", "release" meet."""
    word = IRREGULAR.get(word, word)
    word = re.sub(r"is(e|es|ed|ing|ation|ations)$", r"iz\1", word)  # British -ise spelling
    verb_ate = re.search(r"at(e|es|ed|ing)$", word) and len(word) >= 8
    if re.search(r"[^sxzi]es$", word) and not re.search(r"(ch|sh)es$", word):
        word = word[:-1]  # "comes" -> "come", like "releases" -> "release"
    for suffix, repl, min_len in _SUFFIXES:
        if suffix == "ed" and word.endswith("eed"):
            break  # speed, need, feed
        if suffix == "s" and re.search(r"(ss|us|is)$", word):
            break  # less, versus, analysis
        if word.endswith(suffix) and len(word) - len(suffix) >= min_len:
            word = word[: len(word) - len(suffix)] + repl
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    if verb_ate and word.endswith("at"):
        word = word[:-2]  # "activates" meets "active", "validated" meets "valid"
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    return word


# fmt: off
_SUFFIXES = [  # (suffix, replacement, minimum stem length); first match wins
    ("ational", "ate", 3), ("ization", "ize", 3), ("fulness", "ful", 3), ("iveness", "ive", 3),
    ("ations", "ate", 3), ("ation", "ate", 3), ("ments", "", 4), ("ment", "", 4),
    ("ities", "", 3), ("ity", "", 3), ("ingly", "", 3), ("edly", "", 3), ("ness", "", 3),
    ("ies", "y", 2), ("ied", "y", 2), ("sses", "ss", 2), ("ing", "", 3), ("ers", "", 3),
    ("er", "", 3), ("ed", "", 3), ("ly", "", 3), ("es", "", 3), ("s", "", 3),
]
# fmt: on

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in into
    is it its itself just me more most my myself no nor not now of off on once only or other our
    ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    may might must shall us via per within without among across upon onto whether yet ever
    according said says say reported reports report noted notes stated states article source
    sources post blog new one two many much several however meanwhile overall including
    roughly approximately around nearly almost about some least reportedly
    """.split()
)


IRREGULAR = {
    "found": "find", "shown": "show", "grew": "grow", "grown": "grow", "rose": "rise",
    "risen": "rise", "fell": "fall", "fallen": "fall", "ran": "run", "made": "make",
    "gave": "give", "given": "give", "took": "take", "taken": "take", "began": "begin",
    "begun": "begin", "kept": "keep", "lost": "lose", "built": "build", "brought": "bring",
    "led": "lead", "spent": "spend", "wrote": "write", "written": "write", "chose": "choose",
    "chosen": "choose", "held": "hold", "told": "tell", "became": "become", "came": "come",
    "went": "go", "gone": "go", "seen": "see", "saw": "see", "known": "know", "knew": "know",
    "got": "get", "gotten": "get", "fed": "feed", "hid": "hide", "hidden": "hide",
    "broke": "break", "broken": "break", "shrank": "shrink", "shrunk": "shrink",
    "paid": "pay", "sent": "send", "meant": "mean", "sold": "sell", "bought": "buy",
    "drew": "draw", "drawn": "draw", "threw": "throw", "thrown": "throw", "won": "win",
    "beat": "beat", "beaten": "beat", "ate": "eat", "eaten": "eat", "spoke": "speak",
    "spoken": "speak", "stood": "stand", "understood": "understand", "did": "do", "done": "do",
}  # fmt: skip
"""Irregular verb forms, mapped to the form their regular inflections stem to."""
