"""A run as a user makes it: the real CLI, the fake Ollama server on 127.0.0.1, and a writer that
puts a faithful paraphrase, a rounded figure, a wrong figure and a wrong name in its digest.
The claim check calls them supported, supported, contradicted, contradicted; the Markdown, the
JSON and the web app's report page show the three verdicts apart.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
from servekit import LAB_NOTES_CREW, Server, Site, make_project

from scoutcrew.report.atom import render_feed
from scoutcrew.report.index import crew_reports
from scoutcrew.testing.fake_ollama import FakeOllama

CREW = LAB_NOTES_CREW + "verify: {repair: 0}\n"


class Writer:
    """Answer each task like a small model would, citing the ids the prompt gave each item."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def sid(self, words: str) -> str:
        return next(i for i, title in self.ids.items() if words in title)

    def __call__(self, request: dict) -> str:
        text = "\n".join(str(m.get("content") or "") for m in request["messages"])
        if "Write the digest" in text:
            k, a, p = (self.sid(w) for w in ("Kestrel", "agent failures", "Prompt caching"))
            return (
                "Final Answer: "
                # faithful paraphrase
                f"Kestrel-7B from Northwind Labs handles up to 128k tokens of context and comes "
                f"in 4-bit and 8-bit builds for laptops with 16 GB of memory [{k}]. "
                # rounded figure: the source says 61 percent
                f"About 60 percent of the failed agent runs began with a malformed tool call "
                f"[{a}]. "
                # wrong figure: the source says 40 to 70 percent
                f"Putting fixed instructions first cut prompt processing time by 40 to 90 "
                f"percent [{p}]. "
                # wrong name: the source says the Halden Institute
                f"Researchers at Stanford traced 2,400 failed runs of tool-using agents [{a}]."
            )
        if "name the 2 to 4 themes" in text:
            return "Final Answer: Theme: local inference gets cheaper [S1]."
        given = re.findall(r"^\[(S\d+)\] [^\n]*\n> ([^\n]*)", text, re.M)
        self.ids.update(given)
        # A note: one fact per source the prompt gave, cited to it.
        facts = [f"- {title} [{sid}]" for sid, title in given] or ["- Kestrel-7B reads 128k [S1]"]
        return "Final Answer: " + "\n".join(facts)


def test_a_run_shows_supported_and_contradicted_sentences_in_every_view(tmp_path: Path) -> None:
    site = Site(make_project(tmp_path / "project"), tmp_path / "home")
    (site.root / "crews" / "checked.yaml").write_text(CREW)
    with FakeOllama(default_reply=Writer()) as ollama:
        result = subprocess.run(
            [sys.executable, "-m", "scoutcrew.cli", "--project", str(site.root), "run", "checked"],
            env=site.env(OLLAMA_HOST=ollama.url, SCOUTCREW_BACKEND="ollama"),
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert result.returncode == 0, result.stderr
    report = sorted((site.reports / "checked").glob("*.json"))[-1]
    data = json.loads(report.read_text())
    md = report.with_suffix(".md").read_text()

    verdicts = [(c["verdict"], c["kind"]) for c in data["citations"]]
    assert verdicts == [
        ("supported", None),
        ("supported", None),
        ("contradicted", "figure"),
        ("contradicted", "entity"),
    ], [c["reason"] for c in data["citations"]]
    assert data["trust"]["contradicted"] == {"figure": 1, "entity": 1}
    line = "Trust: 2 of 4 factual sentences supported; 2 contradicted (1 figure, 1 entity)"
    assert data["trust"]["line"] == line and md.rstrip().endswith(line)
    # Inline markers after the two contradicted sentences, with their reasons as footnotes.
    assert re.search(r"40 to 90 percent \[S\d+\]\.\[\^c1\]", md)
    assert re.search(r"^\[\^c1\]: contradicted \(figure\): .*gives 70", md, re.M)
    assert re.search(r"^\[\^c2\]: contradicted \(entity\): .*Halden Institute", md, re.M)
    assert "About 60 percent of the failed agent runs" in md and "[^c3]" not in md

    # The Atom entry's summary ends with the same trust line.
    entry = crew_reports(site.reports / "checked", "checked")[0]
    feed = render_feed(
        [entry], crew="checked", link_for=lambda e: "http://x/r", self_url="http://x/f"
    )
    summary = ET.fromstring(feed).find(".//{http://www.w3.org/2005/Atom}summary")
    assert summary is not None and (summary.text or "").endswith(line)

    server = Server(site)
    try:
        page = httpx.get(f"{server.url}/reports/checked/{report.stem}").text
    finally:
        server.stop()
    top = page[page.index('id="trust-line"') : page.index('id="report-body"')]
    assert line in top
    assert re.search(
        r"2 supported</span> · <span[^>]*>2 contradicted</span> · <span[^>]*>0 not", top
    )
    body = page[page.index('id="report-body"') : page.index('id="side-panel"')]
    markers = re.findall(r'<a class="flag-marker flag-([\w-]+)"[^>]*>\u2691\d+ ([^<]+)</a>', body)
    assert markers == [
        ("contradicted", "contradicted (figure)"),
        ("contradicted", "contradicted (entity)"),
    ]
    marked = " ".join(re.findall(r'<mark class="flagged">([^<]*)</mark>', body))
    assert "40 to 90 percent" in marked and "Researchers at Stanford" in marked
    assert "Kestrel-7B from Northwind" not in marked and "About 60 percent" not in marked
