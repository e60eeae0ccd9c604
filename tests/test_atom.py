"""Atom feeds: served by the app and written by `scoutcrew publish --atom DIR`; valid Atom."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import httpx
from defusedxml import ElementTree as SafeET
from servekit import Server, Site, snapshot

from scoutcrew.cli import main
from scoutcrew.report.atom import ATOM_NS, entry_id, render_feed
from scoutcrew.report.index import ReportEntry

A = f"{{{ATOM_NS}}}"


def _strict(text: str) -> SafeET.Element:
    """A strict XML parse (no recovery, no entities), and the root must be an Atom feed."""
    root = SafeET.fromstring(text.encode())
    assert root.tag == f"{A}feed"
    return root


def _check_atom(root: SafeET.Element) -> None:
    """What RFC 4287 requires of a feed and of each entry."""
    for tag in ("id", "title", "updated"):
        assert root.find(f"{A}{tag}") is not None and root.find(f"{A}{tag}").text, tag
    assert root.find(f"{A}author/{A}name").text
    assert root.find(f"{A}link[@rel='self']") is not None
    for entry in root.findall(f"{A}entry"):
        for tag in ("id", "title", "updated", "summary"):
            assert entry.find(f"{A}{tag}") is not None and entry.find(f"{A}{tag}").text, tag
        assert entry.find(f"{A}id").text.startswith("urn:uuid:")
        datetime.strptime(entry.find(f"{A}updated").text, "%Y-%m-%dT%H:%M:%SZ")
        assert entry.find(f"{A}link[@rel='alternate']").get("href")


def _json(site: Site) -> dict:
    (path,) = sorted((site.reports / "demo").glob("*.json"))
    return json.loads(path.read_text())


def test_served_feeds_parse_and_carry_summary_link_and_trust_line(demo_site: Site) -> None:
    data = _json(demo_site)
    server = Server(demo_site)
    try:
        for name in ("demo", "all"):
            response = httpx.get(f"{server.url}/feeds/{name}.atom")
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("application/atom+xml")
            root = _strict(response.text)
            _check_atom(root)
            parsed = feedparser.parse(response.content)
            assert not parsed.bozo, parsed.get("bozo_exception")
            assert parsed.version == "atom10"
            assert len(parsed.entries) == 1
            entry = parsed.entries[0]
            assert data["trust"]["line"] in entry.summary
            assert entry.summary.startswith("Local inference got faster this month")
            assert "<script>" in entry.summary  # plain text: a reader shows it, never runs it
            assert "&lt;script&gt;" in response.text
            report = httpx.get(entry.link)
            assert report.status_code == 200 and data["title"] in report.text
            assert parsed.feed.links[0].href.endswith(f"/feeds/{name}.atom")
        assert httpx.get(f"{server.url}/feeds/weekly-report.atom").status_code == 200
    finally:
        server.stop()


def test_publish_writes_the_same_feeds_as_static_files(demo_site: Site, tmp_path: Path) -> None:
    before = snapshot(demo_site.reports)
    out = tmp_path / "feeds"
    code = main(
        [
            "--project",
            str(demo_site.root),
            "publish",
            "--atom",
            str(out),
            "--base-url",
            "https://example.org/reports",
        ]
    )
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "ai-news.atom",
        "all.atom",
        "demo.atom",
        "topic-brief.atom",
        "weekly-report.atom",
    ]
    demo = (out / "demo.atom").read_text()
    _check_atom(_strict(demo))
    parsed = feedparser.parse(demo)
    assert not parsed.bozo
    (entry,) = parsed.entries
    base = sorted((demo_site.reports / "demo").glob("*.json"))[0].stem
    assert entry.link == f"https://example.org/reports/demo/{base}.html"
    assert _json(demo_site)["trust"]["line"] in entry.summary
    empty = feedparser.parse((out / "ai-news.atom").read_text())
    assert not empty.bozo and empty.entries == []
    assert snapshot(demo_site.reports) == before  # publishing reads reports, never writes them

    # Without --base-url the links are file:// URLs to the HTML pages themselves.
    main(["--project", str(demo_site.root), "publish", "--atom", str(tmp_path / "local")])
    local = _strict((tmp_path / "local" / "all.atom").read_text())
    href = local.find(f"{A}entry/{A}link").get("href")
    assert href.startswith("file:///") and Path(href[len("file://") :]).is_file()


def test_feed_text_with_control_characters_and_markup_stays_valid(tmp_path: Path) -> None:
    data = {
        "title": "Evil \x1b[31mred\x1b[0m title <b>&amp;",
        "generated_at": "2026-11-30T07:00:00+00:00",
        "findings": [
            {"markdown": "A **bold** claim [S1] with \x07 a bell and a [link](http://x)."}
        ],
        "trust": {"line": "Trust: 1 sentences cited, 1 supported, 0 flagged"},
    }
    entry = ReportEntry("demo", "2026-11-30T07-00-00Z", tmp_path, data)
    older = ReportEntry("demo", "2026-11-29T07-00-00Z", tmp_path, {**data, "generated_at": None})
    text = render_feed(
        [older, entry],
        crew="demo",
        link_for=lambda e: f"http://127.0.0.1/reports/{e.crew}/{e.base}?a=1&b=2",
        self_url="http://127.0.0.1/feeds/demo.atom",
        now=datetime(2026, 12, 1, tzinfo=UTC),
    )
    root = _strict(text)
    _check_atom(root)
    entries = root.findall(f"{A}entry")
    assert [e.find(f"{A}updated").text for e in entries] == [
        "2026-11-30T07:00:00Z",
        "2026-11-29T07:00:00Z",
    ]
    assert entries[0].find(f"{A}title").text == "Evil [31mred[0m title <b>&amp;"
    summary = entries[0].find(f"{A}summary").text
    assert summary.startswith("A bold claim [S1] with  a bell and a link.")
    assert summary.endswith("Trust: 1 sentences cited, 1 supported, 0 flagged")
    assert entries[0].find(f"{A}link").get("href").endswith("?a=1&b=2")
    assert entries[0].find(f"{A}id").text == entry_id(entry) != entry_id(older)
    assert not feedparser.parse(text).bozo
