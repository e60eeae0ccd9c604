"""Pages: the main text of the top items' web pages, under the same limits as feeds."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..text.untrusted import strip_controls
from .fetch import Fetcher
from .safety import neutralize, tidy

if TYPE_CHECKING:
    from ..store.db import Store
    from .items import Item

MAX_PAGE_CHARS = 20_000


def extract_main_text(html: bytes, url: str) -> str:
    """Extract a page's main text with trafilatura (plain text, nothing active)."""
    import trafilatura

    text = trafilatura.extract(
        html.decode("utf-8", errors="replace"),
        url=url,
        output_format="txt",
        include_comments=False,
        include_links=False,
        include_images=False,
        favor_precision=True,
    )
    return neutralize(tidy(strip_controls(text or "")))[:MAX_PAGE_CHARS]


async def enrich_with_pages(
    items: list[Item], k: int, keywords: list[str], fetcher: Fetcher, store: Store, notes: list
) -> dict[str, int]:
    """Fetch the top `k` items' pages and use their main text when it says more."""
    from ..text.measure import rank
    from .items import Note, content_hash, describe_failure

    top = (
        rank(items, " ".join(keywords))[:k]
        if keywords
        else sorted(
            items, key=lambda it: it.published.timestamp() if it.published else 0, reverse=True
        )[:k]
    )
    stats = {"pages": 0, "pages_cached": 0, "pages_failed": 0}

    async def one(item: Item) -> None:
        try:
            await fetch_one(item)
        except Exception as exc:  # a page is a bonus: its failure never stops the run
            stats["pages_failed"] += 1
            notes.append(Note("page", item.url, describe_failure(exc), "warning"))

    async def fetch_one(item: Item) -> None:
        cached = await asyncio.to_thread(store.cached_page, item.url)
        fetched = await fetcher.get(
            item.url,
            etag=cached.etag if cached else None,
            last_modified=cached.last_modified if cached else None,
            accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
        )
        if fetched.not_modified and cached is not None:
            text = cached.text
            stats["pages_cached"] += 1
        else:
            text = await asyncio.to_thread(extract_main_text, fetched.body, fetched.url)
            await asyncio.to_thread(
                store.cache_page,
                item.url,
                text,
                fetched.headers.get("etag"),
                fetched.headers.get("last-modified"),
            )
            stats["pages"] += 1
        if len(text) > len(item.text):
            item.text = text
            item.content_hash = content_hash(item.title, text)
            await asyncio.to_thread(store.update_item_text, item.url, text, item.content_hash)

    await asyncio.gather(*(one(item) for item in top))
    return stats
