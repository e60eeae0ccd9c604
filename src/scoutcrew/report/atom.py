"""Atom feeds of written reports: one per crew and one for all crews (RFC 4287).

Each report is an entry: its title, a plain-text summary of its findings followed by its trust
line, and a link to its HTML page. The XML is built with ElementTree (so every piece of text
is escaped) after characters that XML 1.0 forbids, such as terminal escape codes copied from a
feed, are dropped.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from .files import atomic_write
from .index import ReportEntry
from .model import story_disagreements

ATOM_NS = "http://www.w3.org/2005/Atom"
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://scoutcrew.invalid/reports")
ALL_CREWS = "all"
MAX_ENTRIES = 50
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

LinkFor = Callable[[ReportEntry], str]


def xml_text(text: object) -> str:
    """Text that may go into an XML 1.0 document (control characters dropped)."""
    return _XML_ILLEGAL.sub("", str(text))


def entry_id(entry: ReportEntry) -> str:
    """A stable id for a report: the same report has the same id in every feed, forever."""
    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, f'{entry.crew}/{entry.base}')}"


def feed_id(crew: str) -> str:
    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, f'feed/{crew}')}"


def entry_summary(entry: ReportEntry) -> str:
    """The entry's summary: the report's opening, where its sources disagree, its trust line."""
    stories = [s for s in entry.data.get("stories") or [] if isinstance(s, dict)]
    disagree = "\n".join(f"- {line}" for line in story_disagreements(stories))
    parts = [entry.summary or "(no findings)", disagree, entry.trust_line]
    return "\n\n".join(p for p in parts if p)


def render_feed(
    entries: Sequence[ReportEntry],
    *,
    crew: str,
    link_for: LinkFor,
    self_url: str,
    home_url: str | None = None,
    title: str | None = None,
    now: datetime | None = None,
) -> str:
    """Return an Atom feed document of `entries` (newest first, at most MAX_ENTRIES)."""
    ET.register_namespace("", ATOM_NS)
    shown = sorted(entries, key=lambda e: (e.generated_at, e.base), reverse=True)[:MAX_ENTRIES]
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _sub(feed, "id", feed_id(crew))
    name = "all crews" if crew == ALL_CREWS else crew
    _sub(feed, "title", title or f"scoutcrew reports: {name}")
    updated = shown[0].generated_at if shown else (now or datetime.now(UTC))
    _sub(feed, "updated", _stamp(updated))
    author = _sub(feed, "author")
    _sub(author, "name", "scoutcrew")
    _sub(feed, "generator", "scoutcrew")
    _link(feed, self_url, rel="self", type="application/atom+xml")
    if home_url:
        _link(feed, home_url, rel="alternate", type="text/html")
    for entry in shown:
        item = _sub(feed, "entry")
        _sub(item, "id", entry_id(entry))
        label = entry.title if crew != ALL_CREWS else f"{entry.crew}: {entry.title}"
        _sub(item, "title", label)
        _sub(item, "updated", _stamp(entry.generated_at))
        _sub(item, "published", _stamp(entry.generated_at))
        _link(item, link_for(entry), rel="alternate", type="text/html")
        category = _sub(item, "category")
        category.set("term", xml_text(entry.crew))
        summary = _sub(item, "summary", entry_summary(entry))
        summary.set("type", "text")
    body = ET.tostring(feed, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


def write_feeds(
    reports: dict[str, list[ReportEntry]],
    out_dir: Path,
    *,
    link_for: LinkFor,
    feed_url: Callable[[str], str],
) -> list[Path]:
    """Write CREW.atom for each crew and all.atom for every crew together into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    everything: list[ReportEntry] = []
    for crew, entries in sorted(reports.items()):
        if crew == ALL_CREWS:
            continue  # "all" is the combined feed's name
        everything += entries
        path = out_dir / f"{crew}.atom"
        atomic_write(
            path, render_feed(entries, crew=crew, link_for=link_for, self_url=feed_url(crew))
        )
        written.append(path)
    path = out_dir / f"{ALL_CREWS}.atom"
    atomic_write(
        path,
        render_feed(everything, crew=ALL_CREWS, link_for=link_for, self_url=feed_url(ALL_CREWS)),
    )
    written.append(path)
    return written


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}")
    if text is not None:
        child.text = xml_text(text)
    return child


def _link(parent: ET.Element, href: str, **attrs: str) -> None:
    link = _sub(parent, "link")
    link.set("href", xml_text(href))
    for key, value in attrs.items():
        link.set(key, value)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
