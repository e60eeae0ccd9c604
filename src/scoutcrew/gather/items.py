"""What gathering produces: items, notes about sources, and the helpers that make items."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import SourceError
from ..text.untrusted import strip_controls
from .safety import html_to_text
from .urls import canonical_url

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 300
MAX_TEXT_CHARS = 20_000  # per item: a feed cannot push a book into a prompt


@dataclass
class Note:
    """Something the report's sources section should mention (a failed feed, say)."""

    kind: str  # "feed" | "search" | "page" | "evidence"
    source: str
    message: str
    level: str = "warning"  # "warning" | "error" | "info"

    def __post_init__(self) -> None:
        # Messages quote servers, parsers and search engines: outside text.
        self.source = strip_controls(str(self.source))
        self.message = strip_controls(str(self.message))

    def __str__(self) -> str:
        return f"{self.kind} {self.source}: {self.message}"


@dataclass
class Item:
    """One story: clean plain text, canonical URL, every link it was seen at."""

    url: str
    links: list[str]
    title: str
    text: str
    published: datetime | None
    feed_url: str
    feed_title: str
    content_hash: str
    first_seen: str = ""
    # Sentences of merged duplicates that this item's own text lacks (select.dedupe).
    also: list[str] = field(default_factory=list)


@dataclass
class Gathered:
    """Everything gathered for one run."""

    items: list[Item]
    notes: list[Note] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    degraded: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        # Short on purpose: asyncio reprs a finished task's result in full (Python 3.11).
        return (
            f"Gathered({len(self.items)} items, {len(self.notes)} notes, "
            f"{len(self.degraded)} degraded)"
        )


def describe_failure(exc: Exception) -> str:
    """Word a failure for the report; unexpected ones are logged with their traceback."""
    if isinstance(exc, SourceError):
        return str(exc)
    log.warning("unexpected error while gathering", exc_info=exc)
    return f"unexpected {type(exc).__name__}: {str(exc)[:160]}"


def entry_row(entry: dict[str, Any]) -> dict[str, Any]:
    """Turn a parsed entry into a store row: canonical URL, clean text, content hash."""
    title = html_to_text(entry.get("title"))[:MAX_TITLE_CHARS] or "(untitled)"
    text = html_to_text(entry.get("content") or entry.get("summary"))[:MAX_TEXT_CHARS]
    published = entry.get("published")
    url = canonical_url(entry["link"])
    return {
        "url": url,
        "links": [url],
        "title": title,
        "text": text,
        "published": published.isoformat() if published else None,
        "content_hash": content_hash(title, text),
    }


def content_hash(title: str, text: str) -> str:
    """Hash an item's normalised title and text (exact-duplicate key)."""
    norm = " ".join(f"{title}\n{text}".lower().split())
    return hashlib.sha256(norm.encode()).hexdigest()[:20]


def item_from_row(row: dict[str, Any], feed_url: str, feed_title: str) -> Item:
    published = row.get("published")
    return Item(
        url=row["url"],
        links=list(row.get("links") or [row["url"]]),
        # Rows written before control characters were stripped at entry_row may hold some.
        title=strip_controls(row["title"]),
        text=strip_controls(row["text"]),
        published=datetime.fromisoformat(published) if published else None,
        feed_url=feed_url,
        feed_title=strip_controls(feed_title),
        content_hash=row["content_hash"],
        first_seen=row.get("first_seen", ""),
    )
