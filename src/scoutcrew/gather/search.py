"""Web search through ddgs: backoff on rate limits, then another backend, cached per day.

A search that still fails is reported as degraded; an empty list is only ever returned when a
backend really answered with nothing.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import SearchFailed, SourceError

SearchFn = Callable[[str, str, int], list[dict[str, Any]]]  # (query, backend, max_results)

# Tried after the configured backend, in this order, when it keeps failing.
FALLBACK_BACKENDS = ("duckduckgo", "brave", "mojeek")
_RATE_LIMIT_MARKERS = ("ratelimit", "rate limit", "too many requests", "429", "202 ")


def ddgs_search(query: str, backend: str, max_results: int) -> list[dict[str, Any]]:
    """Search with ddgs (raises its exceptions; 'No results found.' means an empty answer)."""
    from ddgs import DDGS
    from ddgs.exceptions import DDGSException

    try:
        return DDGS(timeout=10).text(query, backend=backend, max_results=max_results)
    except DDGSException as exc:
        if str(exc).strip() == "No results found.":
            return []
        raise


def is_rate_limited(exc: BaseException) -> bool:
    """Tell whether a search failure is a rate limit (worth waiting for)."""
    try:
        from ddgs.exceptions import RatelimitException

        if isinstance(exc, RatelimitException):
            return True
    except ImportError:  # pragma: no cover - ddgs is a dependency
        pass
    text = f"{type(exc).__name__} {exc}".lower()
    return any(marker in text for marker in _RATE_LIMIT_MARKERS)


@dataclass
class Searcher:
    """Run one query with retries and backend fallback; delays are injectable for tests."""

    search: SearchFn = ddgs_search
    retries: int = 3  # per backend, for rate limits only
    base_delay: float = 2.0
    max_delay: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    fallbacks: tuple[str, ...] = FALLBACK_BACKENDS
    attempts: list[tuple[str, str, str]] = field(default_factory=list)  # (query, backend, outcome)

    def chain(self, backend: str) -> list[str]:
        """Return the configured backend first, then up to two fallbacks."""
        order = [backend or "auto", *self.fallbacks]
        return list(dict.fromkeys(order))[:3]

    def run(self, query: str, backend: str, max_results: int) -> tuple[str, list[dict]]:
        """Return (backend that answered, results); raise SearchFailed when all failed."""
        # One line per engine: ddgs's "auto" picks an engine itself, so when a fallback then
        # fails at the same host, that is one engine and it is listed once, by its name.
        problems: dict[str, str] = {}
        for name in self.chain(backend):
            for attempt in range(self.retries + 1):
                try:
                    results = self.search(query, name, max_results)
                except Exception as exc:  # a search backend may raise anything
                    if is_rate_limited(exc) and attempt < self.retries:
                        self.attempts.append((query, name, "rate limited"))
                        delay = min(self.max_delay, self.base_delay * 2**attempt)
                        self.sleep(delay * (0.5 + random.random()))  # full jitter, halved
                        continue
                    outcome = "rate limited" if is_rate_limited(exc) else "failed"
                    self.attempts.append((query, name, outcome))
                    host, reason = describe_search_error(exc)
                    if name == "auto" and host:
                        problems[f"auto@{host}"] = f"{name}: {outcome} ({reason})"
                    else:
                        problems.pop(f"auto@{host}", None)  # the same engine, by its name
                        problems[name] = f"{name}: {outcome} ({reason})"
                    break
                self.attempts.append((query, name, "ok"))
                return name, [_clean(r) for r in results or [] if isinstance(r, dict)]
        raise SearchFailed(list(problems.values()) or ["no backend answered"])


_URL = re.compile(r"https?://([^/\s)'\"]+)[^\s)'\"]*")


def describe_search_error(exc: BaseException) -> tuple[str, str]:
    """Return (host, short reason) for a search failure: whole words, no URL cut in half."""
    text = f"{type(exc).__name__}: {exc}"
    match = _URL.search(text)
    host = match.group(1) if match else ""
    at = f" {host}" if host else ""
    lowered = text.lower()
    if is_rate_limited(exc):
        return host, f"by{at}" if host else "after retries"
    if "dns" in lowered or "resolv" in lowered or "name or service not known" in lowered:
        return host, f"cannot resolve{at or ' the host'}"
    if "timed out" in lowered or "timeout" in lowered:
        return host, "timed out" + (f" at{at}" if host else "")
    if "connect" in lowered:
        return host, f"cannot connect to{at or ' the engine'}"
    # Anything else: the first line of the message, URLs reduced to their host, cut at a word.
    lines = str(exc).strip().splitlines()
    first = _URL.sub(lambda m: m.group(1), lines[0]) if lines else ""
    reason = type(exc).__name__ + (f": {first}" if first else "")
    if len(reason) > 100:
        reason = reason[:100].rsplit(" ", 1)[0] + " ..."
    return host, reason


def _clean(result: dict[str, Any]) -> dict[str, str]:
    return {
        "title": str(result.get("title") or ""),
        "href": str(result.get("href") or result.get("url") or ""),
        "body": str(result.get("body") or result.get("snippet") or ""),
    }


def as_searcher(backend: Any) -> Searcher:
    """Accept a Searcher, a plain search callable, or None (ddgs)."""
    if backend is None:
        return Searcher()
    if isinstance(backend, Searcher):
        return backend
    return Searcher(search=backend)


async def run_searches(queries, sources, store, search_backend, notes, degraded):
    """Run every query (cached per query, backend and day) and turn results into items."""
    from .items import Note, entry_row, item_from_row

    searcher = as_searcher(search_backend)
    backend = str(getattr(sources, "search_backend", "auto") or "auto")
    max_results = int(getattr(sources, "search_results", 5) or 5)
    day = datetime.now(UTC).date().isoformat()
    stats = {
        "searches": len(queries),
        "searches_cached": 0,
        "searches_failed": 0,
        "search_items": 0,
    }
    items = []
    for query in queries:  # sequential on purpose: bursts are what trigger rate limits
        results = await asyncio.to_thread(store.cached_search, query, backend, day)
        if results is not None:
            stats["searches_cached"] += 1
        else:
            try:
                used, results = await asyncio.to_thread(searcher.run, query, backend, max_results)
            except SourceError as exc:
                stats["searches_failed"] += 1
                # The reasons once, one line per backend, in the notes; the consequence once.
                for problem in getattr(exc, "problems", None) or [str(exc)]:
                    notes.append(Note("search", query, problem, "error"))
                degraded.append(
                    f"search {query!r} failed on every backend, so the report lacks its results"
                )
                continue
            if used != backend:
                notes.append(Note("search", query, f"answered by fallback backend {used}", "info"))
            await asyncio.to_thread(store.cache_search, query, backend, day, results)
        if not results:
            notes.append(Note("search", query, "the search engine found nothing", "info"))
        entries = [
            {
                "title": r["title"],
                "link": r["href"],
                "summary": r["body"],
                "content": "",
                "published": None,
            }
            for r in results
        ]
        rows = [entry_row(e) for e in entries if e["link"].startswith(("http://", "https://"))]
        feed_url = f"search:{query}"
        await asyncio.to_thread(
            store.save_feed_items,
            feed_url,
            list({row["url"]: row for row in reversed(rows)}.values())[::-1],
        )
        saved = await asyncio.to_thread(store.feed_items, feed_url)
        items.extend(item_from_row(row, feed_url, f"search: {query}") for row in saved)
    stats["search_items"] = len(items)
    return items, stats
