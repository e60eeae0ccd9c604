"""Public labelled claim sets, read from the shared data folder, with a fixed held-out split.

- FEVER-Symmetric (Schuster et al., EMNLP 2019), dev and test: a Wikipedia claim and one
  evidence sentence, SUPPORTS or REFUTES. Annotations under CC BY-SA 3.0 (Wikipedia text
  under its own terms); see fever-symmetric-LICENSE.txt beside the data.
- WiCE (Kamoi et al., EMNLP 2023), dev and test: a Wikipedia claim and the sentences of the web
  page it cites, supported / partially_supported / not_supported. Annotations under ODC-BY,
  Wikipedia text under CC BY-SA, pages under Common Crawl's terms; see wice-LICENSE.md.

Nothing here copies their text into the repository: the files are read where they are
($SCOUTCREW_PUBLIC_DATA, else ../shared/data beside the repository, else /work/shared/data).

The split is fixed by the claim id alone, before any tuning: a claim is held out when the first
eight hex digits of sha256(id) modulo 100 fall below 30. Tuning looks at the other 70% only.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELD_OUT_PERCENT = 30
FILES = {"fever": "fever-symmetric.jsonl", "wice": "wice.jsonl"}
CORRECT = {"SUPPORTS", "supported"}
"""Labels of correct claims; every other label is a wrong (or partly wrong) claim."""


@dataclass
class Pair:
    """One labelled claim with the text of the one source it is cited to."""

    id: str
    label: str
    claim: str
    evidence: str
    part: str  # "tuned" or "held-out"
    extra: dict = field(default_factory=dict)

    @property
    def correct(self) -> bool:
        return self.label in CORRECT


def held_out(claim_id: str) -> bool:
    """Whether a claim belongs to the held-out part (a fixed 30%, by a hash of its id)."""
    digest = hashlib.sha256(claim_id.encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % 100 < HELD_OUT_PERCENT


def data_dir() -> Path:
    """The folder that holds the public sets."""
    configured = os.environ.get("SCOUTCREW_PUBLIC_DATA")
    candidates = [Path(configured)] if configured else []
    candidates += [ROOT.parent / "shared" / "data", Path("/work/shared/data")]
    for folder in candidates:
        if (folder / FILES["fever"]).is_file():
            return folder
    raise FileNotFoundError(
        "the public claim sets are not found: set SCOUTCREW_PUBLIC_DATA to the folder that "
        f"holds {FILES['fever']} and {FILES['wice']}"
    )


def load(name: str, part: str | None = None) -> list[Pair]:
    """The pairs of one set ("fever" or "wice"), all or one part ("tuned", "held-out")."""
    pairs = []
    with (data_dir() / FILES[name]).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            evidence = row["evidence"]
            if isinstance(evidence, list):
                evidence = "\n".join(str(s) for s in evidence)
            which = "held-out" if held_out(row["id"]) else "tuned"
            if part is not None and which != part:
                continue
            extra = {k: v for k, v in row.items() if k not in {"id", "label", "claim", "evidence"}}
            pairs.append(Pair(row["id"], row["label"], row["claim"], evidence, which, extra))
    return pairs
