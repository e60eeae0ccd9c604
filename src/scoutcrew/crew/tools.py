"""The tools an agent may name in agents.yaml: web_search and read_page.

Gathering does not need them: feeds, searches and pages are fetched in code before the crew
starts. They exist for the follow-up search that really needs a model's judgement, and they
answer compactly (a few hundred tokens), under the same limits and address rules as gathering.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..text.untrusted import strip_controls

if TYPE_CHECKING:
    from ..gather.search import Searcher, SearchFn

SEARCH_RESULTS = 5
SNIPPET_CHARS = 240
PAGE_CHARS = 2_500


def search_text(
    query: str, searcher: Searcher | SearchFn | None = None, backend: str = "auto"
) -> str:
    """Search the web and answer with numbered title/URL/snippet lines."""
    from ..errors import SourceError
    from ..gather.search import as_searcher

    try:
        _, results = as_searcher(searcher).run(query, backend, SEARCH_RESULTS)
    except SourceError as exc:
        return f"Search failed ({exc}); do not treat this as 'nothing found'."
    if not results:
        return f"The search backend answered with no results for {query!r}."
    lines = []
    for index, result in enumerate(results, start=1):
        snippet = " ".join(result["body"].split())[:SNIPPET_CHARS]
        lines.append(f"{index}. {result['title']} <{result['href']}>\n   {snippet}")
    return strip_controls("\n".join(lines))


def page_text(url: str, project_root: Path) -> str:
    """Fetch one page under the gathering limits and answer with the start of its main text."""
    from ..errors import SourceError
    from ..gather.fetch import Fetcher, FetchLimits
    from ..gather.pages import extract_main_text
    from ..gather.safety import AddressPolicy

    if not url.strip().lower().startswith(("http://", "https://")):
        # Gathering may read the project's own files; a model asking for one may not.
        return f"Could not read {url[:200]}: read_page takes http(s) URLs only."

    async def fetch() -> str:
        async with Fetcher(FetchLimits(), AddressPolicy.from_settings(), project_root) as fetcher:
            fetched = await fetcher.get(url)
        return extract_main_text(fetched.body, fetched.url)

    try:
        text = asyncio.run(fetch())
    except SourceError as exc:
        return f"Could not read {url}: {exc}"
    if not text:
        return f"{url} has no readable main text."
    return text[:PAGE_CHARS] + (" [...]" if len(text) > PAGE_CHARS else "")


def make_tools(names: list[str], project_root: Path) -> list[Any]:
    """Build the crewai tools named in agents.yaml."""
    from crewai.tools import BaseTool
    from pydantic import BaseModel, Field

    class SearchArgs(BaseModel):
        query: str = Field(description="what to search the web for")

    class PageArgs(BaseModel):
        url: str = Field(description="the http(s) URL of the page")

    class WebSearch(BaseTool):
        name: str = "web_search"
        description: str = "Search the web; returns titles, URLs and short snippets."
        args_schema: type[BaseModel] = SearchArgs

        def _run(self, query: str) -> str:
            return search_text(query)

    class ReadPage(BaseTool):
        name: str = "read_page"
        description: str = "Read the main text of a web page (first ~600 words)."
        args_schema: type[BaseModel] = PageArgs

        def _run(self, url: str) -> str:
            return page_text(url, project_root)

    available = {"web_search": WebSearch, "read_page": ReadPage}
    return [available[name]() for name in names]
