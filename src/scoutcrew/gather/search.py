"""Web search through ddgs or a SearXNG instance, cached per query, backend and day.

ddgs backs off on rate limits, then tries another of its backends. SearXNG (`search_backend:
searxng`, or `auto` when an instance is named) is asked through its JSON API at the crew's
`searxng_url` or $SEARXNG_URL, with no fallback: a user who runs their own search engine does
not want the queries sent elsewhere.

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
from typing import TYPE_CHECKING, Any

from ..errors import SearchFailed, SourceError
from ..text.untrusted import strip_controls

if TYPE_CHECKING:
    from ..config.models import SourcesConfig

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


SEARXNG_ENV = "SEARXNG_URL"
SEARXNG_MAX_BYTES = 2_000_000


def searxng_url(sources: SourcesConfig) -> str | None:
    """The SearXNG instance a crew searches: its `searxng_url`, else $SEARXNG_URL."""
    import os

    url = getattr(sources, "searxng_url", None) or os.environ.get(SEARXNG_ENV) or ""
    return url.rstrip("/") or None


def searxng_search(base_url: str, *, timeout: float = 15.0) -> SearchFn:
    """A search function on a SearXNG instance's JSON API (GET /search?q=...&format=json)."""
    import httpx

    endpoint = base_url.rstrip("/") + "/search"

    def search(query: str, backend: str, max_results: int) -> list[dict[str, Any]]:
        import json

        params = {"q": query, "format": "json"}
        try:
            with httpx.stream(
                "GET", endpoint, params=params, timeout=timeout, follow_redirects=False
            ) as response:
                if response.status_code == 403:
                    raise SourceError(
                        f"SearXNG at {base_url} refused format=json: add json under "
                        "search.formats in its settings.yml"
                    )
                if response.status_code >= 400:
                    raise SourceError(f"SearXNG at {base_url} answered {response.status_code}")
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > SEARXNG_MAX_BYTES:
                        raise SourceError(f"SearXNG answer over {SEARXNG_MAX_BYTES} bytes")
        except httpx.HTTPError as exc:
            raise SourceError(
                f"SearXNG is not reachable at {base_url} ({type(exc).__name__}): start it or "
                f"fix searxng_url / ${SEARXNG_ENV}"
            ) from exc
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise SourceError(f"SearXNG at {base_url} did not answer JSON") from exc
        results = data.get("results") if isinstance(data, dict) else None
        return [
            {
                "title": r.get("title") or "",
                "href": r.get("url") or "",
                "body": r.get("content") or "",
            }
            for r in (results or [])
            if isinstance(r, dict)
        ][:max_results]

    return search


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


def as_searcher(backend: Searcher | SearchFn | None) -> Searcher:
    """Accept a Searcher, a plain search callable, or None (ddgs)."""
    if backend is None:
        return Searcher()
    if isinstance(backend, Searcher):
        return backend
    return Searcher(search=backend)


async def run_searches(queries, sources, store, search_backend, notes, degraded):
    """Run every query (cached per query, backend and day) and turn results into items."""
    from .items import Note, entry_row, item_from_row

    backend = str(getattr(sources, "search_backend", "auto") or "auto")
    if backend == "auto" and search_backend is None and searxng_url(sources):
        backend = "searxng"  # a SearXNG instance the user named wins over the public engines
    if backend == "searxng" and search_backend is None:
        url = searxng_url(sources)
        if url is None:
            message = (
                f"search_backend is searxng but no instance is set: add searxng_url to the "
                f"crew's sources or set ${SEARXNG_ENV}"
            )
            notes.append(Note("search", ", ".join(queries), message, "error"))
            degraded.append(f"search failed, the report lacks its results ({message})")
            return [], {"searches": len(queries), "searches_failed": len(queries)}
        search_backend = Searcher(search=searxng_search(url), fallbacks=(), retries=1)
    searcher = as_searcher(search_backend)
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
                    notes.append(Note("search", query, strip_controls(problem), "error"))
                degraded.append(
                    strip_controls(
                        f"search {query!r} failed on every backend, so the report lacks its results"
                    )
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
