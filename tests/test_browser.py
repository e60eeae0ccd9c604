"""The web app in a real browser: Debian's headless Chromium driven by Playwright.

No browser is downloaded: Playwright drives /usr/bin/chromium (the README's test command and
.ci/run install it with apt when it is missing).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from servekit import Server, Site, fake_ollama

from scoutcrew.testing.scripts import free_text_tasks

CHROMIUM = os.environ.get("SCOUTCREW_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def test_run_a_crew_from_the_page_watch_it_finish_and_read_its_flags(
    browser: object, project_dir: Path, data_home: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    free_text_tasks(project_dir)  # the writer's hostile text reaches the report
    site = Site(project_dir, data_home)
    with fake_ollama() as ollama:
        server = Server(site, "--backend", "ollama", env=site.env(OLLAMA_HOST=ollama.url))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

            page.goto(server.url + "/")
            expect(page.locator("h1")).to_have_text("Crews")
            row = page.locator("#crew-demo")
            expect(row).to_contain_text("Demo digest of bundled sample AI feeds")
            expect(row).to_contain_text("never run")
            row.locator("button", has_text="Run now").click()

            # The live page streams the run's progress while it runs.
            expect(page).to_have_url(re.compile(re.escape(server.url) + r"/live/[0-9a-f]{16}$"))
            expect(page.locator("#run-log")).to_contain_text(
                "task write_digest done", timeout=120_000
            )
            expect(page.locator("#run-state")).to_have_text("ok", timeout=60_000)
            expect(page.locator("#run-log")).to_contain_text("evidence: 27 new sources")
            page.locator("#report-link").click()

            # The report: trust line on top, flags marked at their sentences, sources beside.
            expect(page.locator("#trust-line")).to_contain_text("Trust:")
            # The three verdicts apart, under the trust line.
            expect(page.locator("#verdicts")).to_contain_text("supported")
            expect(page.locator("#verdicts")).to_contain_text("not confirmed")
            marks = page.locator("#report-body mark.flagged")
            expect(marks.first).to_be_visible()
            markers = page.locator("#report-body a.flag-marker")
            flags = page.locator("#side-panel #flags li")
            expect(flags.first).to_be_visible()
            assert (
                flags.count() >= 3
            )  # the injected link, the moon and the claims it could not confirm
            expect(markers).to_have_count(flags.count())
            expect(markers.first).to_be_visible()
            moon = page.locator("#report-body mark.flagged", has_text="green cheese")
            expect(moon).to_be_visible()
            expect(page.locator("#side-panel #flags li")).to_have_count(markers.count())
            expect(page.locator("#side-panel #sources #src-S1")).to_be_visible()
            expect(page.locator("#side-panel #sources #src-S1")).to_contain_text(
                "https://labnotes.example/2026/11/prompt-caching-prefixes"
            )
            side = page.locator("#side-panel").bounding_box()
            body = page.locator("#report-body").bounding_box()
            assert side and body and side["x"] > body["x"] + body["width"] - 1  # beside it
            trust = page.locator("#trust-line").bounding_box()
            assert trust and trust["y"] < body["y"]  # on top
            # Model text that looks like markup is shown, not run.
            expect(page.locator("#report-body")).to_contain_text("<script>alert('pwned')</script>")
            assert (
                page.evaluate("document.querySelectorAll('#report-body script, img').length") == 0
            )

            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
            keep = os.environ.get("SCOUTCREW_SCREENSHOT")
            if keep:
                page.screenshot(path=keep, full_page=True)

            # A citation jumps to its source in the side panel; a marker to its flag.
            page.locator("#report-body .cite a", has_text="S2").first.click()
            expect(page).to_have_url(page.url.split("#")[0] + "#src-S2")
            markers.first.click()
            assert page.url.split("#")[-1].startswith("flag-")

            page.goto(server.url + "/runs")
            expect(page.locator("table.runs tbody tr")).to_have_count(1)
            expect(page.locator("table.runs .status")).to_have_text("ok")
            page.locator("table.runs tbody a").first.click()
            # the notes, the three tasks and the claim check's one repair of the scripted digest
            expect(page.locator("table.calls tbody tr")).to_have_count(5)
            assert errors == [], errors
            page.close()
        finally:
            server.stop()
