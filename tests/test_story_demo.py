"""Stories on real news, end to end: a crew over four outlets' feeds built from ECB+ articles
(tests/data/ecbplus-demo.jsonl: two riots, two double murders), run by run_crew against the fake
Ollama with the scripted note taker. Each event is one story with its outlets; two events of
one kind are two stories; where outlets disagree, the writer's evidence, the report (Markdown,
HTML, JSON, the web app's page) and the Atom entry say so. Across two runs, an article of an
event reported in the first joins its story, and a different event of the same kind is new."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from feedserver import FeedServer, rss
from test_stories import ollama, write_crew  # noqa: F401  (the fake Ollama fixture)

from scoutcrew.config.project import find_project
from scoutcrew.report.atom import render_feed
from scoutcrew.report.index import crew_reports
from scoutcrew.run.execute import run_crew
from scoutcrew.run.options import RunOptions
from scoutcrew.serve.reportview import build_view
from scoutcrew.testing.fake_ollama import FakeOllama

DATA = Path(__file__).parent / "data" / "ecbplus-demo.jsonl"
OUTLETS = 4


def articles() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]


def serve_outlets(server: FeedServer, rows: list[dict], name: str) -> list[str]:
    """Spread the articles over OUTLETS feeds, each outlet at its own host."""
    by_outlet: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for n, row in enumerate(rows):
        k = n % OUTLETS
        link = f"https://outlet{k}.example/{row['doc']}"
        by_outlet[k].append((row["title"], link, f"<p>{row['text']}</p>"))
    urls = []
    for k, entries in by_outlet.items():
        path = f"/{name}-{k}.xml"
        server.extra[path] = (
            200,
            {"Content-Type": "application/rss+xml"},
            rss(f"Outlet {k}", entries),
        )
        urls.append(f"{server.url}{path}")
    return urls


def events_of(story: dict, report: dict, docs: dict[str, str]) -> set[str]:
    """The ECB+ events of a story's sources (and of the copies merged into them)."""
    links = {s["id"]: [s["url"], *s["links"]] for s in report["sources"]}
    return {docs[link.rsplit("/", 1)[1]] for sid in story["sources"] for link in links[sid]}


def test_each_event_is_one_story_with_its_outlets_and_disagreements_are_said(
    project_dir: Path,
    ollama: FakeOllama,  # noqa: F811
) -> None:
    rows = articles()
    docs = {row["doc"]: row["cluster"] for row in rows}
    with FeedServer() as feeds:
        write_crew(project_dir, "news", serve_outlets(feeds, rows, "all"))
        result = run_crew(find_project(project_dir), "news", RunOptions(backend="ollama"))
    assert result.status == "ok"
    report = json.loads(result.paths.json.read_text())
    stories = report["stories"]
    # Every event once; two riots (Athens, Brooklyn) and two double murders stay apart.
    told = [events_of(story, report, docs) for story in stories]
    assert all(len(events) == 1 for events in told), told
    assert sorted(e for events in told for e in events) == sorted(set(docs.values()))
    for story in stories:
        assert story["also_reported"] == OUTLETS - 1
        assert sorted(story["outlets"]) == [f"Outlet {k}" for k in range(OUTLETS)]
        assert 1 <= len(story["best"]) <= 3 and set(story["best"]) <= set(story["sources"])
    # Ranked by outlets, then by the topic: the most relevant first source leads.
    assert [s["also_reported"] for s in stories] == sorted(
        (s["also_reported"] for s in stories), reverse=True
    )
    # The New Bedford story: one outlet gives Gary Gomes's age as 35, another as 36.
    lines = [d["line"] for s in stories for d in s["disagreements"]]
    age = [line for line in lines if " says 35" in line and " says 36" in line]
    assert age, lines
    [bedford] = [s for s in stories if any(" says 36" in d["line"] for d in s["disagreements"])]
    assert events_of(bedford, report, docs) == {"32ecb"}

    # The writer's evidence carries the line, and the writer is asked to say so.
    crew_prompts = [
        json.dumps(r["json"]["messages"])
        for r in ollama.chat_requests
        if "You take notes" not in json.dumps(r["json"]["messages"][0])
    ]
    assert any("Sources disagree: [S" in p and "says 36" in p for p in crew_prompts)
    assert any("Where sources disagree, say so" in p for p in crew_prompts)

    markdown = result.report.read_text()
    assert "## Stories" in markdown and f"also reported by {OUTLETS - 1}: Outlet" in markdown
    assert age[0].split(" (about")[0] in markdown
    page = result.paths.html.read_text()
    assert "<h2>Stories</h2>" in page and "says 36" in page
    view = build_view(page, report["flags"])
    assert "says 36" in view.body and f"also reported by {OUTLETS - 1}" in view.body
    [entry] = crew_reports(result.report.parent, "news")
    feed = render_feed([entry], crew="news", link_for=lambda e: "http://x/r", self_url="http://x/f")
    assert "sources disagree" in feed and "says 36" in feed


def test_a_second_run_joins_known_events_and_starts_new_ones(
    project_dir: Path,
    ollama: FakeOllama,  # noqa: F811
) -> None:
    rows = articles()
    first_half = [r for r in rows if r["cluster"] == "19ecbplus"][:6]
    later = [r for r in rows if r["cluster"] == "19ecbplus"][6:]
    other = [r for r in rows if r["cluster"] == "19ecb"]  # riots too, in another country
    with FeedServer() as feeds:
        urls = serve_outlets(feeds, first_half, "day")
        write_crew(project_dir, "news", urls)
        project = find_project(project_dir)
        first = run_crew(project, "news", RunOptions(backend="ollama"))
        [story] = json.loads(first.paths.json.read_text())["stories"]
        assert story["status"] == "new"
        serve_outlets(feeds, first_half + later + other, "day")
        second = run_crew(project, "news", RunOptions(backend="ollama"))
    stories = json.loads(second.paths.json.read_text())["stories"]
    updated = [s for s in stories if s["status"] == "updated"]
    new = [s for s in stories if s["status"] == "new"]
    assert [s["id"] for s in updated] == [story["id"]] and updated[0]["changed"]
    assert len(new) == 1 and len(new[0]["sources"]) == len(other)
    assert "**updated** since" in second.report.read_text()
