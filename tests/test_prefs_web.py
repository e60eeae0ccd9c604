"""Ratings in the web app and over MCP: `scoutcrew serve` in a child process over a project with
real reports of ECB+ news, spoken to over HTTP and by Debian's Chromium (Playwright), and
`scoutcrew mcp` by the MCP SDK's stdio client. Every rating is a POST with the CSRF token under
the app's token and origin rules; a bad one is refused with what is there, and writes nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from feedserver import FeedServer
from servekit import Server, Site, csrf_token, mcp_params
from test_browser import ARGS, CHROMIUM
from test_prefs_run import halves, run
from test_stories import crew_answer, write_crew
from test_story_demo import serve_outlets

from scoutcrew.config.project import find_project
from scoutcrew.store.db import Store
from scoutcrew.testing.fake_ollama import FakeOllama
from scoutcrew.testing.scripts import scripted_reader


@pytest.fixture
def news(project_dir: Path, data_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A project whose crew `news` wrote one report of four stories; feeds and Ollama live on,
    so a test can run day two."""
    first, second = halves()
    with FakeOllama(default_reply=scripted_reader(crew_answer)) as ollama, FeedServer() as feeds:
        monkeypatch.setenv("OLLAMA_HOST", ollama.url)
        write_crew(project_dir, "news", serve_outlets(feeds, first, "day"))
        result = run(project_dir)

        def day_two() -> Any:
            serve_outlets(feeds, second, "day")
            return run(project_dir)

        yield Site(project_dir, data_home), result, day_two


def rows(site: Site) -> list[tuple]:
    with Store.open(find_project(site.root).data_dir / "scoutcrew.sqlite") as store:
        return [
            tuple(r)
            for r in store.execute(
                "SELECT target, value, vote, origin FROM preferences ORDER BY id"
            )
        ]


def test_rate_from_the_report_page_and_manage_the_preferences_page(news: Any) -> None:
    site, result, _day_two = news
    data = json.loads(result.paths.json.read_text())
    stories = data["stories"]
    server = Server(site)
    try:
        base = f"{server.url}/reports/news/{result.paths.md.stem}"
        page = httpx.get(base).text
        token = csrf_token(page)
        forms = re.findall(r'<li id="rate-(st-[0-9a-f]+)"', page)
        assert forms == [s["id"] for s in stories]
        rate = base + "/rate"
        story = stories[1]["id"]
        # Refused, and nothing written: no CSRF token, a GET, another origin, no such story,
        # no such vote, no such report.
        assert httpx.post(rate, data={"story": story, "vote": "up"}).status_code == 403
        assert httpx.get(rate).status_code == 405
        foreign = {"Origin": "http://evil.example"}
        form = {"csrf": token, "story": story, "vote": "up"}
        assert httpx.post(rate, data=form, headers=foreign).status_code == 403
        missing = httpx.post(rate, data={**form, "story": "st-000000000000"})
        assert missing.status_code == 404
        assert "has no story &#39;st-000000000000&#39; (its stories: 1 to 4)" in missing.text
        assert httpx.post(rate, data={**form, "vote": "sideways"}).status_code == 400
        nowhere = f"{server.url}/reports/news/2020-01-01T00-00-00Z/rate"
        assert httpx.post(nowhere, data=form).status_code == 404
        assert rows(site) == []

        answer = httpx.post(rate, data=form)
        assert answer.status_code == 303
        assert answer.headers["location"].endswith(f"?rated={story}#rate-{story}")
        assert rows(site) == [("story", story, 1, "web")]
        again = httpx.get(base + f"?rated={story}").text
        assert re.search(rf'id="rate-{story}" class="just-rated"', again)
        assert 'class="vote-up chosen" aria-pressed="true"' in again

        # The preferences page: the rule in plain words with the rating behind it.
        prefs = f"{server.url}/crews/news/preferences"
        text = httpx.get(prefs).text
        assert "up: the story &#34;" in text and f'data-rule="story:{story}"' in text
        assert "you rated it up" in text and 'id="rating-1"' in text
        added = httpx.post(
            prefs + "/rule", data={"csrf": token, "kind": "term", "value": "riot", "vote": "down"}
        )
        assert added.status_code == 303 and "done=" in added.headers["location"]
        assert rows(site)[-1] == ("term", "phrase:riot", -1, "web")
        text = httpx.get(prefs).text
        assert 'data-rule="phrase:riot"' in text and "down: riot" in text
        assert httpx.post(prefs + "/remove", data={"rule": "phrase:riot"}).status_code == 403
        removed = httpx.post(prefs + "/remove", data={"csrf": token, "rule": "phrase:riot"})
        assert removed.status_code == 303
        assert [r[0] for r in rows(site)] == ["story"]
        gone = httpx.post(prefs + "/remove-rating", data={"csrf": token, "rating": "99"})
        assert gone.status_code == 404 and "news has no rating #99" in gone.text
        assert httpx.post(prefs + "/reset", data={"csrf": token}).status_code == 303
        assert rows(site) == []
        assert httpx.get(f"{server.url}/crews/nosuch/preferences").status_code == 404
    finally:
        server.stop()


def test_with_a_token_a_rating_needs_it_too(news: Any) -> None:
    site, result, _day_two = news
    token = "Tk-" + "abcdefgh12345678"
    server = Server(site, "--token", token)
    try:
        base = f"{server.url}/reports/news/{result.paths.md.stem}"
        headers = {"Authorization": f"Bearer {token}"}
        csrf = csrf_token(httpx.get(base, headers=headers).text)
        form = {"csrf": csrf, "story": "1", "vote": "down"}
        assert httpx.post(base + "/rate", data=form).status_code == 401
        assert rows(site) == []
        assert httpx.post(base + "/rate", data=form, headers=headers).status_code == 303
        assert [r[2] for r in rows(site)] == [-1]
    finally:
        server.stop()


def test_in_a_browser_a_click_rates_and_a_click_opens_a_story_moved_aside(news: Any) -> None:
    from playwright.sync_api import expect, sync_playwright

    site, result, day_two = news
    data = json.loads(result.paths.json.read_text())
    first = data["stories"][0]
    server = Server(site)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{server.url}/reports/news/{result.paths.md.stem}")
            item = page.locator(f"#rate-{first['id']}")
            item.locator("button", has_text="down").click()
            expect(page.locator(f"#rate-{first['id']} .rated-note")).to_have_text("rated down")
            assert rows(site) == [("story", first["id"], -1, "web")]

            # The next run moves the story aside, with its rule. (Playwright's event loop runs
            # in this thread, and crewai will not run a crew synchronously inside one.)
            with ThreadPoolExecutor(1) as pool:
                later = pool.submit(day_two).result()
            page.goto(f"{server.url}/reports/news/{later.paths.md.stem}")
            aside = page.locator(f"#aside-{first['id']}")
            expect(aside).to_contain_text("moved here by down: the story")
            facts = aside.locator("ul.facts")
            expect(facts).to_be_hidden()
            aside.locator("summary").click()
            expect(facts).to_be_visible()
            # It can be rated again from the same page, as a story "also in the news".
            expect(page.locator(f"#rate-{first['id']}")).to_contain_text("(also in the news)")

            page.goto(f"{server.url}/crews/news/preferences")
            expect(page.locator("#summary")).to_contain_text("down: the story")
            page.locator(f'tr[data-rule="story:{first["id"]}"] button', has_text="Remove").click()
            expect(page.locator("#done")).to_contain_text("removed: the story")
            assert errors == [], errors
            browser.close()
    finally:
        server.stop()


def test_rate_story_over_mcp(news: Any) -> None:
    site, result, _day_two = news
    data = json.loads(result.paths.json.read_text())

    async def scenario() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with stdio_client_for(site) as session:
            latest = await session.call_tool("latest_report", {"crew": "news"})
            out["latest"] = json.loads(latest.content[0].text)
            out["up"] = await session.call_tool(
                "rate_story", {"run": out["latest"]["run_id"], "story": 2, "vote": "up"}
            )
            out["term"] = await session.call_tool(
                "rate_story", {"run": "news", "term": "Brooklyn", "vote": "up"}
            )
            out["unknown"] = await session.call_tool(
                "rate_story", {"run": "news", "story": "st-000000000000", "vote": "up"}
            )
            out["norun"] = await session.call_tool(
                "rate_story", {"run": "20991231-000000-abcdef", "story": "1", "vote": "up"}
            )
            out["vote"] = await session.call_tool(
                "rate_story", {"run": "news", "story": "1", "vote": "meh"}
            )
            out["both"] = await session.call_tool(
                "rate_story", {"run": "news", "story": "1", "term": "x", "vote": "up"}
            )
        return out

    out = anyio.run(scenario)
    latest = out["latest"]
    assert latest["run_id"] == data["meta"]["run_id"]
    assert [s["id"] for s in latest["stories"]] == [s["id"] for s in data["stories"]]
    assert latest["stories"][1]["number"] == 2
    assert not out["up"].isError
    up = json.loads(out["up"].content[0].text)
    assert up["story_id"] == data["stories"][1]["id"] and up["learned"].startswith("up: the story")
    assert not out["term"].isError
    for name, words in (
        ("unknown", "has no story 'st-000000000000'"),
        ("norun", "no run '20991231-000000-abcdef'"),
        ("vote", "vote"),
        ("both", "exactly one of story, outlet or term"),
    ):
        assert out[name].isError and words in out[name].content[0].text, name
    assert rows(site) == [
        ("story", data["stories"][1]["id"], 1, "mcp"),
        ("term", "phrase:brooklyn", 1, "mcp"),
    ]


def stdio_client_for(site: Site) -> Any:
    from contextlib import asynccontextmanager

    from mcp import ClientSession
    from mcp.client.stdio import stdio_client

    @asynccontextmanager
    async def session() -> Any:
        async with stdio_client(mcp_params(site)) as (read, write):
            async with ClientSession(read, write) as opened:
                await opened.initialize()
                yield opened

    return session()
