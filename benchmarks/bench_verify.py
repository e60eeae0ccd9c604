"""Claim-check quality on the labelled set: per error class the share caught, and the share of
faithful claims accepted. Every claim goes through the library entry point,
scoutcrew.report.verify.verify(text, pack), as one cited sentence over the whole sample pack
(the feeds in examples/feeds and the pages in benchmarks/data/verify/pages.json).

    PYTHONPATH=src python benchmarks/bench_verify.py [-v]

Targets: >= 95% of each error class caught, >= 95% of faithful claims accepted. "right class"
is the share of caught claims whose first reason names their labelled class (wrong-source
claims must also name the source they really match); it is reported, not a target.
Exit 1 on a miss.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claimset import LABELS, build_pack, cited_text, load_claims  # noqa: E402

TARGET_CAUGHT = 0.95
TARGET_FAITHFUL = 0.95
KIND = {"wrong_source": "wrong-source"}


def main(argv: list[str]) -> int:
    from scoutcrew.report.claims import ClaimIndex
    from scoutcrew.report.verify import verify

    verbose = "-v" in argv
    pack, keys = build_pack()
    index = ClaimIndex.from_pack(pack)
    claims = load_claims()
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # ok, right class, total
    misses = []
    started = time.perf_counter()
    for claim in claims:
        v = verify(cited_text(claim, keys), pack, index=index)
        verdict = v.citations[0]
        row = hits[claim.label]
        row[2] += 1
        if claim.label == "faithful":
            ok = verdict.supported
            right = ok
        else:
            ok = not verdict.supported
            right = ok and verdict.kind == KIND.get(claim.label, claim.label)
            if right and claim.label == "wrong_source":
                right = verdict.matches == keys[claim.matches or ""]
        row[0] += ok
        row[1] += right
        if not ok or (verbose and not right):
            misses.append((claim, verdict))
    elapsed = time.perf_counter() - started

    print(f"claim check on {len(claims)} labelled claims, {len(pack.sources)} sources")
    print(f"{'class':<14}{'claims':>7}{'result':>10}{'right class':>13}{'target':>9}  ok")
    failed = False
    for label in LABELS:
        ok, right, total = hits[label]
        share = ok / total if total else 0.0
        target = TARGET_FAITHFUL if label == "faithful" else TARGET_CAUGHT
        what = "accepted" if label == "faithful" else "caught"
        good = share >= target
        failed |= not good
        right_share = f"{right / ok:.0%}" if ok and label != "faithful" else "-"
        print(
            f"{label:<14}{total:>7}{share:>9.1%} {right_share:>12}{target:>9.0%}  "
            f"{'yes' if good else 'MISS'} ({what} {ok}/{total})"
        )
    print(f"time: {elapsed * 1000 / len(claims):.2f} ms per claim, {elapsed:.2f} s in all")
    for claim, verdict in misses:
        status = "accepted" if verdict.supported else f"flagged {verdict.kind}"
        print(f"  {claim.id} [{claim.label}] {status}: {claim.claim}")
        if verdict.reason:
            print(f"      {verdict.reason}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
