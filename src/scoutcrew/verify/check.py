"""Check a model-written report against its evidence pack, without another model call.

Three things a reader cannot see for themselves are made visible here:

- citations: every [S#] must name a source of the pack; unknown ids are removed and flagged;
- support: each cited sentence is scored against the text of the sources it cites (a weighted
  content-word overlap, IDF over the pack, with light stemming); low scores are flagged;
- links: any URL that is not one of the evidence sources' own URLs (a prompt-injected link,
  say) is removed from the text, replaced by a visible marker and flagged (see links.py).

The module reads the pack through its documented attributes only (pack.sources, pack.get(sid),
source.url/links/title/excerpt/text), so it has no import-time dependency on the evidence code.
The sentence model is in sentences.py, the cleaning in clean.py, the results in verdicts.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..text.terms import terms
from .claims import ClaimIndex
from .clean import sanitize_markdown, sources_of
from .facts import analyse
from .problems import NOT_CONFIRMED
from .sentences import citation_ids, claim_text, is_claim, iter_sentences
from .verdicts import SUPPORT_THRESHOLD, CitedSentence, Flag, SentenceVerdict, Verification

if TYPE_CHECKING:
    from ..select.pack import EvidencePack


def verify(
    text: str,
    pack: EvidencePack,
    *,
    threshold: float = SUPPORT_THRESHOLD,
    flag_uncited: bool = True,
    judged: dict[str, dict[str, Any]] | None = None,
    index: ClaimIndex | None = None,
    prompts: Sequence[str] = (),
) -> Verification:
    """Clean `text` against `pack` and check every sentence; return the per-sentence verdicts.

    Each cited claim gets one of three verdicts (problems.VERDICTS): supported, contradicted
    (a cited source says otherwise) or not confirmed (the code cannot tell, or the claim adds
    detail); a supported claim's support score must also reach `threshold`. A cited sentence
    that is no claim (a bare label, an echo of `prompts`, filler) is not counted. Sentences
    that state a figure or a name without any citation are counted (and, with flag_uncited,
    flagged) as uncited claims. judged: a model judge's answers by sentence text
    ({"verdict": "supported"|"unsupported", "kind", "reason", "model"}), recorded beside the
    code's verdict of a not-confirmed sentence; they never change it.
    """
    cleaned, flags, notes = sanitize_markdown(text, pack)
    sentences = list(iter_sentences(cleaned))
    claims = index or ClaimIndex.from_pack(pack)
    support = claims.cache.get("support")
    if not isinstance(support, SupportIndex):
        support = claims.cache["support"] = SupportIndex.from_pack(pack)
    known = {s.id for s in sources_of(pack)}
    judged = judged or {}

    citations: list[CitedSentence] = []
    cited_ids: list[str] = []
    verdicts: list[SentenceVerdict] = []
    uncited: list[str] = []
    not_claims: list[str] = []
    for sentence in sentences:
        ids = [i for i in citation_ids(sentence) if i in known]
        claim = claim_text(sentence)
        if not ids:
            # A label ("Q1.", "Theme 2:") names nothing a source could say: no claim either.
            if is_claim(claim, prompts) and is_factual(claim, claims):
                uncited.append(sentence)
                verdicts.append(SentenceVerdict(sentence, "uncited-claim"))
                if flag_uncited:
                    flags.append(
                        Flag(
                            "uncited-claim",
                            "states a figure or a name without a citation",
                            sentence,
                        )
                    )
            else:
                verdicts.append(SentenceVerdict(sentence, "no-claim"))
            continue
        for sid in ids:
            if sid not in cited_ids:
                cited_ids.append(sid)
        if not is_claim(claim, prompts):
            not_claims.append(sentence)
            verdicts.append(SentenceVerdict(sentence, "no-claim", ids=ids))
            continue
        cited = _check_sentence(sentence, claim, ids, support, claims, threshold)
        if cited.verdict == NOT_CONFIRMED:
            cited.judge = judged.get(sentence)
        citations.append(cited)
        verdicts.append(
            SentenceVerdict(
                sentence,
                cited.verdict,
                cited.kind,
                cited.reason,
                ids,
                cited.matches,
                judge=cited.judge,
            )
        )
        if not cited.supported:
            flags.append(Flag(cited.verdict, cited.reason, sentence, claim_class=cited.kind))

    flagged_sentences = {f.sentence or f"#{n}" for n, f in enumerate(flags)}
    return Verification(
        text=cleaned,
        sentences_cited=len(citations),
        supported=sum(c.supported for c in citations),
        flagged=len(flagged_sentences),
        flags=flags,
        cited_ids=cited_ids,
        citations=citations,
        sentences_total=len(sentences),
        threshold=threshold,
        notes=notes,
        uncited_claims=uncited,
        sentences=verdicts,
        not_claims=not_claims,
    )


def _check_sentence(
    sentence: str,
    claim: str,
    ids: list[str],
    support: SupportIndex,
    claims: ClaimIndex,
    threshold: float,
) -> CitedSentence:
    score, per_source, missing = support.score(claim, ids)
    check = claims.check(claim, ids)
    cited = CitedSentence(sentence, ids, round(score, 3), check.supported, per_source, missing)
    cited.set_verdict(check.verdict, check.kind, check.reason)
    cited.matches, cited.coverage = check.matches, check.coverage
    # The support score knows no synonyms; the claim check's coverage does: either may carry.
    if cited.supported and max(score, check.coverage) < threshold:
        reason = f"support {score:.2f} < {threshold:.2f} against [{', '.join(ids)}]"
        if missing:
            reason += f" (not in the sources: {', '.join(missing)})"
        cited.set_verdict(NOT_CONFIRMED, "invented", reason)
    return cited


def is_factual(claim: str, index: ClaimIndex) -> bool:
    """Whether an uncited sentence states a fact a reader would want a source for: a figure,
    or a name. A capitalised first word alone does not count ("Visit ...", "Update now")."""
    a = analyse(claim, index.vocabulary, index.known_names)
    # "Two themes stand out" is structure, not a figure: a number word counts only with a unit.
    if any(re.search(r"\d", f.text) or f.unit not in {"", "weekday"} for f in a.figures):
        return True
    first = next((i for i, w in enumerate(a.words) if w[:1].isalpha()), -1)
    return any(
        i != first or not re.fullmatch(r"[A-Z][a-z]+", name) or name.lower() in index.known_names
        for i, name in a.names
    )


# --------------------------------------------------------------------------------------------
# Support scoring


class SupportIndex:
    """Content words of each source, with IDF weights over the pack."""

    def __init__(self, docs: dict[str, set[str]]):
        self.docs = docs
        n = len(docs)
        df: dict[str, int] = {}
        for words in docs.values():
            for term in words:
                df[term] = df.get(term, 0) + 1
        self._df = df
        self._n = n

    @classmethod
    def from_pack(cls, pack: EvidencePack) -> SupportIndex:
        docs = {}
        for s in sources_of(pack):
            body = " ".join(
                str(getattr(s, attr, "") or "") for attr in ("title", "excerpt", "text")
            )
            docs[s.id] = set(terms(body))
        return cls(docs)

    def idf(self, term: str) -> float:
        df = self._df.get(term, 0)
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def score(self, claim: str, ids: list[str]) -> tuple[float, dict[str, float], list[str]]:
        """Return (score against the union of `ids`, score per id, missing heavy words)."""
        claim_terms = set(terms(claim))
        if not claim_terms:
            return 0.0, dict.fromkeys(ids, 0.0), []
        weights = {t: self.idf(t) for t in claim_terms}
        total = sum(weights.values())
        union: set[str] = set()
        per_source = {}
        for sid in ids:
            doc = self.docs.get(sid, set())
            union |= doc
            per_source[sid] = round(sum(w for t, w in weights.items() if t in doc) / total, 3)
        score = sum(w for t, w in weights.items() if t in union) / total
        missing = sorted((t for t in claim_terms if t not in union), key=lambda t: (-weights[t], t))
        return score, per_source, missing[:5]
