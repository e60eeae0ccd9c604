"""Word lists the claim check uses: number words, units, negation cues, polar pairs, synonyms.

Plain data, general English (nothing here names a particular source). Every entry is
lowercase; the checker stems words before it looks them up where that is noted.
"""

from __future__ import annotations

NUMBER_WORDS = {
    "zero": 0, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12,
}  # fmt: skip
"""Number words read as figures. "one" is left out: "a single", "one of" and "one" are too
often interchangeable for a figure check."""

SCALE_WORDS = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}

FRACTION_WORDS = {"half": 0.5, "third": 1 / 3, "quarter": 0.25, "tenth": 0.1, "fifth": 0.2}

MULTIPLIER_WORDS = {
    "twice": 2.0, "double": 2.0, "doubled": 2.0, "doubles": 2.0, "doubling": 2.0,
    "triple": 3.0, "tripled": 3.0, "triples": 3.0, "thrice": 3.0,
}  # fmt: skip

SUFFIX_SCALE = {"k": 1e3, "m": 1e6, "b": 1e9, "bn": 1e9, "t": 1e12}

BYTE_UNITS = {
    "kb": "kb", "mb": "mb", "gb": "gb", "tb": "tb", "kib": "kb", "mib": "mb", "gib": "gb",
    "tib": "tb", "gigabyte": "gb", "gigabytes": "gb", "megabyte": "mb", "megabytes": "mb",
    "terabyte": "tb", "terabytes": "tb",
}  # fmt: skip
"""Byte sizes: "24 GiB" and "24 GB" are written for the same card, so they compare equal."""

PERCENT_WORDS = {"percent", "per cent", "pct", "percentage", "percentage points"}

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip

WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

# --------------------------------------------------------------------------------------------
# Polarity

NEGATION_CUES = {
    "not", "no", "never", "without", "none", "neither", "nor", "cannot", "can't", "won't",
    "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't", "hasn't", "haven't",
    "hadn't", "shouldn't", "wouldn't", "couldn't", "lacks", "lack", "lacking", "unable",
    "nothing", "nobody",
}  # fmt: skip
"""Words that negate the few words after them."""

NEGATION_PHRASES = (
    "no longer", "not yet", "rather than", "instead of", "as opposed to", "in place of",
    "advise against", "advises against", "advised against", "recommend against",
    "recommends against", "warn against", "warns against", "argue against", "stopped",
    "stop", "stops", "ceased", "ceases", "gave up", "gives up", "free of", "fail to",
    "fails to", "failed to", "failing to",
)  # fmt: skip
"""Phrases that negate what follows them ("no longer requires", "rather than dropping")."""

SCOPE_BREAKS = {
    "but", "while", "whereas", "although", "though", "and", "so", "because", "which", "that",
    "who", "yet", "unless", "than", "when", "if", "however",
}  # fmt: skip
"""A negation's scope ends at these words (and at punctuation)."""

NEGATION_TRANSPARENT = {
    "need", "needs", "needed", "have", "has", "had", "to", "be", "been", "being", "able",
    "get", "gets", "even", "really", "actually", "any", "anymore", "longer", "always",
    "require", "requires", "required", "use", "uses",
}  # fmt: skip
"""Words a negation passes through to reach the word it governs ("no longer need to guess")."""

GENERIC_ABBREVIATIONS = {
    "ram", "vram", "gpu", "gpus", "cpu", "cpus", "ssd", "llm", "llms", "ai", "api", "apis",
    "os", "url", "urls", "http", "faq", "ui", "cli", "qa", "tps",
}  # fmt: skip
"""Abbreviations of plain words, not names: read as content words (see SYNONYM_GROUPS)."""

LIGHT_WORDS = {
    "mean", "meant", "come", "comes", "came", "get", "gets", "got", "go", "goes", "went",
    "make", "makes", "made", "take", "takes", "took", "look", "looked", "looks", "seem",
    "seems", "put", "thing", "things", "way", "ways", "kind", "lot", "well", "like", "able",
    "real", "really", "various", "given", "certain", "particular", "specific", "whole",
    "let", "lets", "top", "versus", "rather", "instead",
}  # fmt: skip
"""Words a paraphrase adds without adding a fact; they do not count as invented detail."""

NEGATION_SCOPE = 1
"""How many content words after a negation cue it negates (the verb or word it governs)."""

# Each polar word names a scale and a side of it: "+", "-" or "0" (no change). Two claims
# about the same thing that sit on different sides of one scale contradict each other.
_POLAR = {
    "enable": ("on", "+"), "enabled": ("on", "+"), "enables": ("on", "+"),
    "on": ("on", "+"), "active": ("on", "+"), "activated": ("on", "+"),
    "disable": ("on", "-"), "disabled": ("on", "-"), "disables": ("on", "-"),
    "off": ("on", "-"), "inactive": ("on", "-"), "deactivated": ("on", "-"),
    "add": ("amount", "+"), "adds": ("amount", "+"), "added": ("amount", "+"),
    "increase": ("amount", "+"), "increases": ("amount", "+"), "increased": ("amount", "+"),
    "raise": ("amount", "+"), "raises": ("amount", "+"), "raised": ("amount", "+"),
    "rise": ("amount", "+"), "rises": ("amount", "+"), "rose": ("amount", "+"),
    "grow": ("amount", "+"), "grows": ("amount", "+"), "grew": ("amount", "+"),
    "boost": ("amount", "+"), "boosts": ("amount", "+"), "boosted": ("amount", "+"),
    "more": ("amount", "+"), "higher": ("amount", "+"), "gain": ("amount", "+"),
    "gains": ("amount", "+"), "multiply": ("amount", "+"), "multiplies": ("amount", "+"),
    "remove": ("amount", "-"), "removes": ("amount", "-"), "removed": ("amount", "-"),
    "drop": ("amount", "-"), "drops": ("amount", "-"), "dropped": ("amount", "-"),
    "decrease": ("amount", "-"), "decreases": ("amount", "-"), "decreased": ("amount", "-"),
    "reduce": ("amount", "-"), "reduces": ("amount", "-"), "reduced": ("amount", "-"),
    "cut": ("amount", "-"), "cuts": ("amount", "-"), "lower": ("amount", "-"),
    "lowers": ("amount", "-"), "lowered": ("amount", "-"), "fall": ("amount", "-"),
    "falls": ("amount", "-"), "fell": ("amount", "-"), "decline": ("amount", "-"),
    "declines": ("amount", "-"), "declined": ("amount", "-"), "shrink": ("amount", "-"),
    "shrinks": ("amount", "-"), "shrank": ("amount", "-"), "less": ("amount", "-"),
    "fewer": ("amount", "-"), "loss": ("amount", "-"), "eliminate": ("amount", "-"),
    "eliminates": ("amount", "-"), "eliminated": ("amount", "-"), "under": ("amount", "-"),
    "below": ("amount", "-"), "above": ("amount", "+"), "over": ("amount", "+"),
    "stable": ("amount", "0"), "steady": ("amount", "0"), "unchanged": ("amount", "0"),
    "flat": ("amount", "0"),
    "fast": ("speed", "+"), "faster": ("speed", "+"), "fastest": ("speed", "+"),
    "quick": ("speed", "+"), "quicker": ("speed", "+"), "speedup": ("speed", "+"),
    "speedups": ("speed", "+"), "slow": ("speed", "-"), "slower": ("speed", "-"),
    "slowest": ("speed", "-"),
    "good": ("quality", "+"), "better": ("quality", "+"), "best": ("quality", "+"),
    "improve": ("quality", "+"), "improves": ("quality", "+"), "improved": ("quality", "+"),
    "bad": ("quality", "-"), "worse": ("quality", "-"), "worst": ("quality", "-"),
    "degrade": ("quality", "-"), "degrades": ("quality", "-"), "hurt": ("quality", "-"),
    "hurts": ("quality", "-"),
    "large": ("size", "+"), "larger": ("size", "+"), "largest": ("size", "+"),
    "big": ("size", "+"), "bigger": ("size", "+"), "small": ("size", "-"),
    "smaller": ("size", "-"), "smallest": ("size", "-"), "tiny": ("size", "-"),
    "most": ("rank", "+"), "least": ("rank", "-"), "top": ("rank", "+"), "bottom": ("rank", "-"),
    "often": ("frequency", "+"), "frequently": ("frequency", "+"), "usually": ("frequency", "+"),
    "always": ("frequency", "+"), "commonly": ("frequency", "+"), "rarely": ("frequency", "-"),
    "seldom": ("frequency", "-"), "sharply": ("degree", "+"),
    "allow": ("permit", "+"), "allows": ("permit", "+"), "allowed": ("permit", "+"),
    "accept": ("permit", "+"), "accepts": ("permit", "+"), "permit": ("permit", "+"),
    "refuse": ("permit", "-"), "refuses": ("permit", "-"), "reject": ("permit", "-"),
    "rejects": ("permit", "-"), "forbid": ("permit", "-"), "forbids": ("permit", "-"),
    "block": ("permit", "-"), "blocks": ("permit", "-"), "prevent": ("permit", "-"),
    "prevents": ("permit", "-"), "restrict": ("permit", "-"), "restricts": ("permit", "-"),
    "keep": ("retain", "+"), "keeps": ("retain", "+"), "kept": ("retain", "+"),
    "retain": ("retain", "+"), "retains": ("retain", "+"), "lose": ("retain", "-"),
    "loses": ("retain", "-"), "lost": ("retain", "-"),
    "little": ("degree", "-"), "slightly": ("degree", "-"), "barely": ("degree", "-"),
    "lot": ("degree", "+"), "much": ("degree", "+"), "far": ("degree", "+"),
    "heavily": ("degree", "+"), "noticeably": ("degree", "+"), "greatly": ("degree", "+"),
    "include": ("include", "+"), "includes": ("include", "+"), "exclude": ("include", "-"),
    "excludes": ("include", "-"), "miss": ("include", "-"), "misses": ("include", "-"),
    "missed": ("include", "-"), "catch": ("include", "+"), "catches": ("include", "+"),
    "caught": ("include", "+"),
    "success": ("outcome", "+"), "succeeds": ("outcome", "+"), "succeeded": ("outcome", "+"),
    "failure": ("outcome", "-"), "failures": ("outcome", "-"),
    "open": ("open", "+"), "closed": ("open", "-"), "proprietary": ("open", "-"),
    "permissive": ("open", "+"), "restrictive": ("open", "-"),
    "long": ("length", "+"), "longer": ("length", "+"), "longest": ("length", "+"),
    "short": ("length", "-"), "shorter": ("length", "-"), "shortest": ("length", "-"),
    "help": ("quality", "+"), "helps": ("quality", "+"), "helped": ("quality", "+"),
    "harm": ("quality", "-"), "harms": ("quality", "-"), "harmed": ("quality", "-"),
    "cheap": ("cost", "-"), "cheaper": ("cost", "-"), "cheapest": ("cost", "-"),
    "expensive": ("cost", "+"), "costlier": ("cost", "+"), "pricier": ("cost", "+"),
    "easy": ("ease", "+"), "easier": ("ease", "+"), "hard": ("ease", "-"),
    "harder": ("ease", "-"), "difficult": ("ease", "-"),
    "strong": ("strength", "+"), "stronger": ("strength", "+"), "weak": ("strength", "-"),
    "weaker": ("strength", "-"),
    "early": ("time", "-"), "earlier": ("time", "-"), "late": ("time", "+"),
    "later": ("time", "+"), "before": ("time", "-"), "after": ("time", "+"),
    "accurate": ("accuracy", "+"), "inaccurate": ("accuracy", "-"),
    "correct": ("accuracy", "+"), "incorrect": ("accuracy", "-"),
    "safe": ("safety", "+"), "unsafe": ("safety", "-"), "secure": ("safety", "+"),
    "insecure": ("safety", "-"),
    "public": ("public", "+"), "private": ("public", "-"),
    "free": ("cost", "-"), "paid": ("cost", "+"),
    "win": ("outcome", "+"), "wins": ("outcome", "+"), "won": ("outcome", "+"),
    "beat": ("outcome", "+"), "beats": ("outcome", "+"),
    "still": ("still", "+"),
}  # fmt: skip

POLAR: dict[str, tuple[str, str]] = dict(_POLAR)
"""word -> (scale, side)."""

# "still" carries no polarity of its own; it marks the claim as affirmative, which the
# negation check already sees. Kept out of the comparison.
POLAR.pop("still")

# --------------------------------------------------------------------------------------------
# Synonyms: words a faithful paraphrase swaps freely. Each group maps onto its first word
# (after stemming, see claims.canonical).

SYNONYM_GROUPS = [
    "release publish ship launch announce unveil introduce debut out",
    "use employ utilize utilise",
    "show find reveal demonstrate indicate suggest report note say",
    "expose reveal uncover",
    "recommend suggest advise propose urge",
    "fast quick rapid speedy",
    "often frequently commonly usually regularly",
    "large big huge",
    "small tiny compact little",
    "model llm",
    "laptop notebook",
    "gpu card graphics gpus",
    "memory ram vram",
    "processor cpu",
    "question qa",
    "interface api",
    "hurt harm damage degrade",
    "come ship arrive",
    "version build variant release",
    "cut reduce lower shrink decrease trim slash",
    "rise increase grow climb",
    "remove drop eliminate strip",
    "start begin",
    "check verify validate confirm",
    "run execute",
    "refuse reject decline",
    "support handle allow enable",
    "need require",
    "answer response reply",
    "prompt input",
    "beginning start front",
    "silently quietly",
    "result finding outcome",
    "error mistake failure",
    "malformed broken invalid wrong bad",
    "study research paper survey",
    "researcher author",
    "test evaluate evaluation benchmark measure",
    "help improve benefit",
    "score result",
    "produce generate create write output",
    "make cause",
    "accurate correct",
    "reliable dependable",
    "cheap inexpensive",
    "several multiple various many",
    "get receive obtain",
    "keep retain preserve maintain",
    "lose drop",
    "give provide offer",
    "license licence",
    "quantize quantise quantization quantisation",
    "summarize summarise summary summarization summarisation",
    "recent new latest newest",
    "work task job",
    "now currently",
    "almost nearly roughly about approximately",
    "under below fewer less",
    "speedup faster",
    "guess infer",
    "pass step",
    "contain carry include hold",
    "beat outperform",
    "connect talk",
    "endpoint route api",
    "restriction limit",
    "state status",
    "exit return",
    "checkpoint save",
    "store keep save",
    "become rename",
    "backend engine",
    "off disable",
    "on enable",
    "web internet online",
    "operator admin administrator",
    "frameworks framework",
]
