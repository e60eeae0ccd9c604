"""The labelled claim set: sources from the sample feeds and pages, claims with their class.

Used by bench_verify.py and by the regression tests. Source ids follow the order of
benchmarks/data/verify (feeds first, then pages), keyed by the last part of each URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data" / "verify"
FEEDS = ROOT / "examples" / "feeds"

LABELS = ("faithful", "figure", "entity", "polarity", "wrong_source", "invented")


@dataclass
class Claim:
    id: str
    label: str
    cite: list[str]
    claim: str
    matches: str | None = None
    origin: str | None = None


def build_pack():
    """Return (pack, {key: source id}) over every sample feed item and sample page."""
    from scoutcrew.gather.feeds import entry_row, parse_feed
    from scoutcrew.select.pack import EvidencePack, Source

    rows = []
    for path in sorted(FEEDS.iterdir()):
        parsed = parse_feed(path.read_bytes(), path.as_uri())
        for entry in parsed.entries:
            row = entry_row(entry)
            rows.append((row, parsed.title))
    pages = json.loads((DATA / "pages.json").read_text())["pages"]
    for page in pages:
        row = {"url": page["url"], "title": page["title"], "text": page["text"]}
        row["published"] = page["published"].replace("Z", "+00:00")
        rows.append((row, "Sample pages"))
    sources, keys = [], {}
    for n, (row, feed_title) in enumerate(rows, start=1):
        sid = f"S{n}"
        key = row["url"].rstrip("/").split("/")[-1].split("#")[0]
        keys[key] = sid
        published = row.get("published")
        sources.append(
            Source(
                id=sid,
                url=row["url"],
                links=[row["url"]],
                title=row["title"],
                feed_title=feed_title,
                published=datetime.fromisoformat(published) if published else None,
                excerpt=row["text"],
                text=row["text"],
            )
        )
    return EvidencePack(sources=sources), keys


def load_claims(name: str = "claims.jsonl") -> list[Claim]:
    """The labelled claims of one file: claims.jsonl (the set), heldout.jsonl (written after
    the checker was tuned, and never tuned on)."""
    lines = (DATA / name).read_text().splitlines()
    return [Claim(**json.loads(line)) for line in lines if line.strip()]


def cited_text(claim: Claim, keys: dict[str, str]) -> str:
    """The claim as a report sentence, with the [S#] ids of the sources it cites."""
    ids = ", ".join(keys[k] for k in claim.cite)
    return f"{claim.claim.rstrip('.')} [{ids}]."
