"""Gather: every feed, search and page of a crew, fetched concurrently and kept in the store.

No model is involved. Feeds are fetched with conditional GET (a 304 costs no parsing: the
items come from the store), parsed from bytes (never handed to a parser as a URL), and reduced
to plain text. A source that fails becomes a Note; nothing here stops a run.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urljoin

from ..errors import SourceError
from ..store.db import FeedState, Store
from ..text.untrusted import strip_controls
from .charset import to_utf8
from .fetch import Fetcher, FetchLimits
from .items import (
    MAX_TITLE_CHARS,
    Gathered,
    Item,
    Note,
    describe_failure,
    entry_row,
    item_from_row,
)
from .safety import AddressPolicy, check_xml, html_to_text, refuse_entities, tidy

if TYPE_CHECKING:
    from .search import Searcher, SearchFn

log = logging.getLogger(__name__)

MAX_ENTRIES_PER_FEED = 500
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)

Progress = Callable[[str, str, int, int], None]  # (kind, source, done, total)


class SourcesSettings(Protocol):
    """The attributes gather reads (scoutcrew.config.models.SourcesConfig has them)."""

    feeds: list[str]
    search: list[str]
    keywords: list[str]
    max_items: int | None
    pages: int
    search_results: int
    search_backend: str
    allow_private_hosts: bool


# -- entry point ------------------------------------------------------------------------------


def gather(
    sources: SourcesSettings,
    *,
    store: Store,
    project_root: Path,
    search_backend: Searcher | SearchFn | None = None,
    progress: Progress | None = None,
    limits: FetchLimits | None = None,
) -> Gathered:
    """Fetch every feed, search and page of `sources`; failures become notes.

    search_backend: a scoutcrew.gather.search.Searcher, or a callable (query, backend, max_results)
    -> list of {title, href, body} dicts; default: ddgs.
    """
    coro = _gather(
        sources, store, Path(project_root), search_backend, progress, limits or FetchLimits()
    )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called from inside an event loop (a notebook, an async caller): run in a fresh thread.
    result: list[Gathered] = []
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=runner, name="scoutcrew-gather")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


async def _gather(sources, store, project_root, search_backend, progress, limits) -> Gathered:
    from .search import run_searches

    loop = asyncio.get_running_loop()
    started = loop.time()
    policy = AddressPolicy.from_settings(getattr(sources, "allow_private_hosts", False))
    notes: list[Note] = []
    degraded: list[str] = []
    stats: dict[str, Any] = {
        "feeds": 0,
        "feeds_ok": 0,
        "feeds_not_modified": 0,
        "feeds_failed": 0,
        "feed_items": 0,
    }
    feeds = list(dict.fromkeys(getattr(sources, "feeds", []) or []))
    queries = list(dict.fromkeys(getattr(sources, "search", []) or []))
    stats["feeds"] = len(feeds)
    done = 0

    async with Fetcher(limits, policy, project_root) as fetcher:
        search_task = (
            asyncio.create_task(
                run_searches(queries, sources, store, search_backend, notes, degraded)
            )
            if queries
            else None
        )

        states = await asyncio.to_thread(store.feed_states, feeds)

        async def one(url: str) -> list[Item]:
            nonlocal done
            try:
                items, status = await fetch_feed(url, fetcher, store, notes, states.get(url))
            except Exception as exc:  # one bad feed never stops a run
                message = describe_failure(exc)
                stats["feeds_failed"] += 1
                notes.append(Note("feed", url, message, "error"))
                await asyncio.to_thread(
                    store.record_feed_fetch, url, status=None, error=message, keep_validators=True
                )
                items = []
            else:
                stats["feeds_not_modified" if status == 304 else "feeds_ok"] += 1
            done += 1
            if progress:
                progress("feed", url, done, len(feeds))
            return items

        per_feed = await asyncio.gather(*(one(url) for url in feeds))
        items = [item for batch in per_feed for item in batch]
        stats["feed_items"] = len(items)
        if search_task is not None:
            try:
                search_items, search_stats = await search_task
            except Exception as exc:  # search is degraded, the run goes on
                message = describe_failure(exc)
                notes.append(Note("search", ", ".join(queries), message, "error"))
                degraded.append(f"search failed, the report lacks its results ({message})")
            else:
                items.extend(search_items)
                stats.update(search_stats)
        pages = int(getattr(sources, "pages", 0) or 0)
        if pages > 0 and items:
            from .pages import enrich_with_pages

            stats["pages"] = await enrich_with_pages(
                items, pages, getattr(sources, "keywords", []) or [], fetcher, store, notes
            )
    # Fetches finish in any order; notes follow the crew file's order so reports are stable.
    position = {url: i for i, url in enumerate(feeds)}
    notes.sort(key=lambda n: (n.kind != "feed", position.get(n.source, len(position))))
    stats["items"] = len(items)
    stats["seconds"] = round(loop.time() - started, 3)
    return Gathered(items=items, notes=notes, stats=stats, degraded=degraded)


# -- one feed ---------------------------------------------------------------------------------


async def fetch_feed(
    url: str, fetcher: Fetcher, store: Store, notes: list[Note], state: FeedState | None
) -> tuple[list[Item], int]:
    """Fetch and parse one feed; a 304 returns the items stored at the last full fetch."""
    fetched = await fetcher.get(
        url,
        etag=state.etag if state else None,
        last_modified=state.last_modified if state else None,
        accept=FEED_ACCEPT,
    )
    if fetched.not_modified and state is not None:
        await asyncio.to_thread(store.record_feed_fetch, url, status=304, keep_validators=True)
        rows = await asyncio.to_thread(store.feed_items, url)
        return [item_from_row(row, url, state.title or url) for row in rows], 304

    def ingest() -> tuple[list[Item], list[Note]]:
        # Parsing and cleaning are CPU work: off the event loop, so fetches keep flowing.
        parsed = parse_feed(fetched.body, fetched.url, fetched.headers.get("content-type", ""))
        found = [Note("feed", url, warning, "warning") for warning in parsed.warnings]
        # The channel title is feed text like any other: plain text, never markup.
        title = html_to_text(parsed.title)[:MAX_TITLE_CHARS] or url
        rows = [entry_row(e) for e in parsed.entries if e.get("link")]
        skipped = len(parsed.entries) - len(rows)
        if skipped:
            found.append(Note("feed", url, f"{skipped} entries without a link skipped", "info"))
        rows = _unique_rows(rows)
        first_seen = store.save_feed(
            url,
            rows,
            status=fetched.status,
            title=title,
            etag=fetched.headers.get("etag"),
            last_modified=fetched.headers.get("last-modified"),
        )
        for row in rows:
            row["first_seen"] = first_seen.get(row["url"], "")
        return [item_from_row(row, url, title) for row in rows], found

    items, found = await asyncio.to_thread(ingest)
    notes.extend(found)
    return items, fetched.status


def _unique_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(row["url"], row)
    return list(seen.values())


# -- parsing ----------------------------------------------------------------------------------


@dataclass
class ParsedFeed:
    """A feed's title and entries as plain dicts (title, link, summary, content, published)."""

    title: str
    entries: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)


_C0_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_C1_BYTES = re.compile(rb"\xc2[\x80-\x9f]")  # U+0080..U+009F in UTF-8
_HTML_START = re.compile(rb"\s*(?:<\?xml[^>]*>\s*)?(?:<!doctype\s+html|<html)", re.IGNORECASE)


def parse_feed(data: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Parse RSS 0.9x/1.0/2.0, Atom or JSON Feed bytes; raise SourceError if it is none."""
    head = data.lstrip(b"\xef\xbb\xbf")[:512].lstrip()
    if head.startswith(b"{") or "json" in content_type.lower():
        return _parse_json_feed(data.lstrip(b"\xef\xbb\xbf"), url)
    # From here on the document is UTF-8 whatever it was sent as, so every parser and check
    # below reads the same characters (expat knows no multi-byte encoding but UTF-8/16).
    data, warnings = to_utf8(data, content_type)
    # XML 1.0 allows no C0 control character but tab and newlines; C1 ones only by accident.
    # Stripped from the whole document, a feed full of terminal escapes stays on the fast path.
    if _C0_BYTES.search(data) or (b"\xc2" in data and _C1_BYTES.search(data)):
        data = strip_controls(data.decode("utf-8")).encode("utf-8")
    head = data[:512].lstrip()
    if _HTML_START.match(data[:1024]):
        raise SourceError("an HTML page, not a feed (check the feed URL)")
    if not head:
        raise SourceError("empty response")
    # Entities are refused before any parser sees the bytes. Without a DOCTYPE nothing can be
    # declared, so the full defusedxml pass is only needed for documents that have one, and
    # for anything handed to feedparser's lenient parser.
    refuse_entities(data)
    try:
        parsed = _parse_xml_fast(data, url)
    except _NotSimple:
        wellformed = check_xml(data)
        parsed = _parse_with_feedparser(data, url, wellformed)
    parsed.warnings[:0] = warnings
    return _capped(parsed)


def _capped(parsed: ParsedFeed) -> ParsedFeed:
    if len(parsed.entries) > MAX_ENTRIES_PER_FEED:
        parsed.warnings.append(
            f"{len(parsed.entries)} entries; kept the first {MAX_ENTRIES_PER_FEED}"
        )
        parsed.entries = parsed.entries[:MAX_ENTRIES_PER_FEED]
    return parsed


class _NotSimple(Exception):
    """The fast path does not know this document's shape; feedparser will try."""


_CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_RSS1_PREFIX = "{http://purl.org/rss/1.0/}"


def _parse_xml_fast(data: bytes, url: str) -> ParsedFeed:
    """Parse well-formed RSS/RDF/Atom with lxml (much faster than feedparser)."""
    import lxml.etree as ET

    parser = ET.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = ET.fromstring(data, parser)
    except ET.XMLSyntaxError as exc:
        raise _NotSimple from exc
    kind = _local(root.tag)
    if kind == "rss":
        channel = _child(root, "channel")
        if channel is None:
            raise _NotSimple
        return ParsedFeed(
            _text(_child(channel, "title")),
            [_rss_entry(el, url) for el in _children(channel, "item")],
        )
    if kind == "RDF":
        channel = _child(root, "channel")
        return ParsedFeed(
            _text(_child(channel, "title")) if channel is not None else "",
            [_rss_entry(el, url) for el in _children(root, "item")],
        )
    if kind == "feed":
        return ParsedFeed(
            _text(_child(root, "title")), [_atom_entry(el, url) for el in _children(root, "entry")]
        )
    raise _NotSimple


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(el, name: str, ns: str | None = None):
    for child in el:
        if _local(child.tag) == name and (ns is None or child.tag == f"{{{ns}}}{name}"):
            return child
    return None


def _children(el, name: str) -> list:
    return [child for child in el if _local(child.tag) == name]


def _text(el) -> str:
    """Return an element's content; child elements (unescaped HTML) are kept as markup."""
    if el is None:
        return ""
    if len(el) == 0:
        return (el.text or "").strip()
    import lxml.etree as ET

    inner = (el.text or "") + "".join(ET.tostring(c, encoding=str) for c in el)
    return inner.strip()


def _fields(el) -> dict[str, Any]:
    """Map an element's children by tag (the first of each wins), in one pass."""
    fields: dict[str, Any] = {}
    for child in el:
        tag = child.tag
        if isinstance(tag, str) and tag.startswith(_RSS1_PREFIX):
            tag = tag[len(_RSS1_PREFIX) :]  # RSS 1.0 puts its elements in a namespace
        if isinstance(tag, str) and tag not in fields:
            fields[tag] = child
    return fields


def _rss_entry(el, base: str) -> dict[str, Any]:
    f = _fields(el)
    link = _text(f.get("link"))
    guid = f.get("guid")
    if not link and guid is not None and guid.get("isPermaLink", "true") != "false":
        link = _text(guid)
    date = _text(f.get("pubDate")) or _text(f.get(f"{{{_DC_NS}}}date"))
    return {
        "title": _text(f.get("title")),
        "link": _absolute(link, base),
        "summary": _text(f.get("description")),
        "content": _text(f.get(f"{{{_CONTENT_NS}}}encoded")),
        "published": parse_date(date),
    }


def _atom_entry(el, base: str) -> dict[str, Any]:
    link = ""
    for candidate in _children(el, "link"):
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            link = candidate.get("href")
            break
    date = _text(_child(el, "published")) or _text(_child(el, "updated"))
    return {
        "title": _atom_text(_child(el, "title")),
        "link": _absolute(link, base),
        "summary": _atom_text(_child(el, "summary")),
        "content": _atom_text(_child(el, "content")),
        "published": parse_date(date),
    }


def _atom_text(el) -> str:
    """Return Atom text constructs as markup for html_to_text (xhtml is serialised)."""
    if el is None:
        return ""
    if el.get("type") == "xhtml":
        from .safety import element_text

        return tidy(element_text(el)).replace("&", "&amp;").replace("<", "&lt;")
    return _text(el)


def _absolute(link: str, base: str) -> str:
    link = link.strip()
    if not link:
        return ""
    if link.startswith(("https://", "http://")):
        return link
    absolute = urljoin(base, link) if not base.startswith("file:") else link
    return absolute if absolute.split(":", 1)[0].lower() in ("http", "https") else ""


def parse_date(value: str | None) -> datetime | None:
    """Parse an RFC 822 or ISO 8601 date into an aware UTC datetime (None if unreadable)."""
    if not value:
        return None
    value = value.strip()
    try:
        dt = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _parse_with_feedparser(data: bytes, url: str, wellformed: bool):
    """Let feedparser's lenient parser keep what it can of an irregular document."""
    import calendar

    import feedparser

    # Bytes in a BytesIO: feedparser never fetches or opens anything itself.
    headers = {
        "content-location": url if url.startswith("http") else "",
        "content-type": "application/xml; charset=utf-8",  # to_utf8 made it so
    }
    result = feedparser.parse(
        io.BytesIO(data), response_headers=headers, resolve_relative_uris=False
    )
    warnings = []
    if result.get("bozo") and not wellformed:
        exc = result.get("bozo_exception")
        warnings.append(
            f"parsed with errors ({str(exc)[:120] or 'malformed XML'}); kept "
            f"{len(result.entries)} entries"
        )
    if not result.entries and not result.feed.get("title"):
        raise SourceError("not a feed: nothing could be parsed")
    entries = []
    for e in result.entries:
        stamp = e.get("published_parsed") or e.get("updated_parsed")
        content = e.get("content") or []
        entries.append(
            {
                "title": e.get("title", ""),
                "link": _absolute(e.get("link", ""), url),
                "summary": e.get("summary", ""),
                "content": content[0].get("value", "") if content else "",
                "published": (
                    datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None
                ),
            }
        )
    return ParsedFeed(result.feed.get("title", ""), entries, warnings)


def _parse_json_feed(data: bytes, url: str) -> ParsedFeed:
    """Parse JSON Feed 1.0/1.1."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:  # RecursionError: a nesting bomb
        raise SourceError(f"invalid JSON feed: {str(exc)[:120]}") from exc
    if not isinstance(doc, dict) or "jsonfeed.org" not in str(doc.get("version", "")):
        raise SourceError("JSON without a jsonfeed.org version: not a JSON Feed")
    entries = []
    for raw in doc.get("items") or []:
        if not isinstance(raw, dict):
            continue
        link = str(raw.get("url") or raw.get("external_url") or "")
        entries.append(
            {
                "title": str(raw.get("title") or ""),
                "link": _absolute(link, url),
                "summary": str(raw.get("summary") or ""),
                "content": str(raw.get("content_html") or raw.get("content_text") or ""),
                "published": parse_date(
                    str(raw.get("date_published") or raw.get("date_modified") or "")
                ),
            }
        )
    return ParsedFeed(str(doc.get("title") or ""), entries)
