"""The reader's preferences in real runs: a crew over four outlets' feeds of ECB+ news (HTTP on
127.0.0.1), the fake Ollama with the scripted note taker, real crewai Crews and a real store.
Rated with the real CLI, the next run ranks the reader's kind of story first and says why, moves
what they skip to "Also in the news" with its rule, and with `skip_below` reads less; with no
rating a run is exactly the run it was before preferences existed."""

# ruff: noqa: F811  (the fixtures "ollama" and "feeds" come from test_stories)
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from feedserver import FeedServer
from test_stories import feeds, kind, ollama, write_crew  # noqa: F401  (fixtures)
from test_story_demo import articles, serve_outlets

from scoutcrew.cli import main
from scoutcrew.config.project import find_project
from scoutcrew.prefs.features import LEAD_CHARS, phrase_key
from scoutcrew.run.execute import run_crew
from scoutcrew.run.options import RunOptions
from scoutcrew.store.db import Store
from scoutcrew.testing.fake_ollama import FakeOllama
from scoutcrew.testing.scripts import copy_project, sources_in_prompt

ROOT = Path(__file__).resolve().parents[1]


def halves() -> tuple[list[dict], list[dict]]:
    """Each event's first articles for day one, the rest for day two."""
    rows = articles()
    first, second = [], []
    seen: dict[str, int] = {}
    for row in rows:
        seen[row["cluster"]] = seen.get(row["cluster"], 0) + 1
        (first if seen[row["cluster"]] <= 4 else second).append(row)
    return first, second


# A word only one event of the demo data uses: Athens riots, Brooklyn riots, two murders.
PLACES = {"19ecb": "Athens", "19ecbplus": "Brooklyn", "32ecb": "Bedford", "32ecbplus": "Millom"}


def event_of(story: dict, data: dict) -> str:
    """The ECB+ event most of a story's sources belong to."""
    clusters = {row["doc"]: row["cluster"] for row in articles()}
    urls = {s["id"]: s["url"] for s in data["sources"]}
    found = [clusters[urls[sid].rsplit("/", 1)[1]] for sid in story["sources"]]
    return max(set(found), key=found.count)


def run(project: Path, **options: object):
    result = run_crew(find_project(project), "news", RunOptions(backend="ollama", **options))
    assert result.status == "ok", result.message
    return result


def cli(project: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["--project", str(project), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def report(result) -> dict:
    return json.loads(result.paths.json.read_text())


def normalised(result) -> dict[str, str]:
    """The report's files without what differs between any two runs: times, ids, timings."""
    data = report(result)
    run_id = data["meta"]["run_id"]
    text = {
        "md": result.paths.md.read_text(),
        "html": result.paths.html.read_text(),
        "json": json.dumps(data, sort_keys=True),
    }
    stamp = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|Z| UTC)?")
    timing = re.compile(r'"(\w+_ms)": [0-9.e+-]+')
    return {
        k: timing.sub(r'"\1": 0', stamp.sub("TIME", v.replace(run_id, "RUN")))
        for k, v in text.items()
    }


def crew_prompts(ollama: FakeOllama, since: int) -> str:
    return "\n".join(
        json.dumps(r["json"]["messages"]) for r in ollama.chat_requests[since:] if kind(r) == "crew"
    )


def test_with_no_rating_the_report_is_the_report_without_preferences(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ollama: FakeOllama, feeds: FeedServer
) -> None:
    first, _second = halves()
    urls = serve_outlets(feeds, first, "day")
    results = {}
    for name, options in (("none", {}), ("off", {"preferences": False})):
        project = copy_project(ROOT, tmp_path / name)
        monkeypatch.setenv("SCOUTCREW_HOME", str(tmp_path / f"home-{name}"))
        write_crew(project, "news", urls, "preferences:\n  skip_below: 0.5\n")
        since = len(ollama.chat_requests)
        results[name] = (run(project, **options), ollama.chat_requests[since:])
    (none, none_calls), (off, off_calls) = results["none"], results["off"]
    assert normalised(none) == normalised(off)
    assert [r["json"]["messages"] for r in none_calls] == [r["json"]["messages"] for r in off_calls]
    assert "preferences" not in report(none)
    assert "Also in the news" not in none.paths.md.read_text()


def test_ratings_put_the_readers_stories_first_and_move_what_they_skip_aside(
    project_dir: Path, ollama: FakeOllama, feeds: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = halves()
    urls = serve_outlets(feeds, first, "day")
    write_crew(project_dir, "news", urls)
    day1 = report(run(project_dir))
    stories = day1["stories"]
    assert len(stories) == 4
    liked, skipped = stories[-1], stories[0]
    code, out, _ = cli(project_dir, "rate", "news", capsys=capsys)
    assert code == 0 and "  4. " in out and liked["id"] in out
    code, out, _ = cli(project_dir, "rate", "news", "4", "up", capsys=capsys)
    assert code == 0 and "rated up" in out
    run_id = day1["meta"]["run_id"]
    code, out, _ = cli(project_dir, "rate", run_id[:15], skipped["id"], "down", capsys=capsys)
    assert code == 0 and "rated down" in out
    # And a word of the liked story's event (a place each event of the data names alone).
    place = PLACES[event_of(liked, day1)]
    code, out, _ = cli(project_dir, "rate", "news", "--term", place, "up", capsys=capsys)
    assert code == 0 and f'the term "{place}" rated up' in out
    with Store.open(find_project(project_dir).data_dir / "scoutcrew.sqlite") as store:
        rows = store.execute("SELECT value, vote, origin, run_id FROM preferences ORDER BY id")
    assert [tuple(r) for r in rows] == [
        (liked["id"], 1, "cli", run_id),
        (skipped["id"], -1, "cli", run_id),
        (phrase_key("term", place), 1, "cli", None),
    ]

    serve_outlets(feeds, second, "day")  # day two: more articles of the same four events
    since = len(ollama.chat_requests)
    result = run(project_dir)
    day2 = report(result)
    # Preferred sources are read first (what a budget would leave unread comes last).
    docs = {r["doc"]: r for r in second}
    text = {s["id"]: docs[s["url"].rsplit("/", 1)[1]] for s in day2["sources"]}
    lead = {i: f"{r['title']} {r['text'][:LEAD_CHARS]}".lower() for i, r in text.items()}
    named = [int(i[1:]) for i, words in lead.items() if place.lower() in words]
    assert named and sorted(named) == list(range(1, len(named) + 1))
    told = [s["id"] for s in day2["stories"]]
    assert told[0] == liked["id"] and skipped["id"] not in told
    assert day2["stories"][0]["why"].startswith('up: the story "')
    [aside] = day2["preferences"]["also_in_news"]
    assert aside["id"] == skipped["id"] and aside["read"] is True
    assert aside["rule"].startswith('down: the story "') and aside["facts"]
    markdown = result.paths.md.read_text()
    stories_md = markdown.split("## Stories", 1)[1].split("\n## ", 1)[0]
    assert stories_md.index(liked["title"][:30]) < min(
        stories_md.index(s["title"][:30]) for s in day2["stories"][1:]
    )
    assert "moved up by your ratings: the story" in stories_md
    also = markdown.split("## Also in the news", 1)[1].split("\n## ", 1)[0]
    assert skipped["title"][:30] in also and "moved here by down: the story" in also
    assert "--all-items tells them in full" in also
    assert "ranked with what 1 rated stories taught" not in markdown
    assert "ranked with what 2 rated stories taught" in markdown
    page = result.paths.html.read_text()
    details = page.split("<h2>Also in the news</h2>", 1)[1].split("</ul>", 1)[0]
    assert "<details><summary>" in details and aside["facts"][0][:40] in page
    # The crew was not asked to write about the story moved aside.
    prompts = crew_prompts(ollama, since)
    assert liked["title"][:30] in prompts and skipped["title"][:30] not in prompts

    # --all-items tells every story in full, the skipped one among them.
    again = report(run(project_dir, all_items=True))
    assert skipped["id"] in [s["id"] for s in again["stories"]]
    assert not again["preferences"]["also_in_news"]

    # What was learned, in plain words, with the ratings behind each rule; each removable.
    code, out, _ = cli(project_dir, "prefs", "news", capsys=capsys)
    assert code == 0 and "2 stories rated (1 up, 1 down)" in out
    assert f"  {place} " in out and "you rated it up" in out
    assert re.search(r"\n  the story .+ \+3\.0  you rated it up  \(ratings #1\)", out), out
    code, out, _ = cli(project_dir, "prefs", "news", "--remove-rating", "2", capsys=capsys)
    assert code == 0 and "rating #2 removed" in out
    code, out, _ = cli(project_dir, "prefs", "news", "--reset", capsys=capsys)
    assert code == 0 and "2 ratings and removed rules forgotten" in out


def test_skip_below_leaves_predicted_skips_out_of_the_notes_counted_and_listed(
    project_dir: Path, ollama: FakeOllama, feeds: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = halves()
    write_crew(
        project_dir, "news", serve_outlets(feeds, first, "day"), "preferences:\n  skip_below: 0.3\n"
    )
    run(project_dir)
    code, out, err = cli(
        project_dir, "rate", "news", "--term", "New Bedford", "down", capsys=capsys
    )
    assert code == 0 and 'the term "New Bedford" rated down' in out, err
    serve_outlets(feeds, second, "day")
    since = len(ollama.chat_requests)
    result = run(project_dir)
    data = report(result)
    bedford = [r for r in second if "bedford" in (r["title"] + r["text"]).lower()]
    assert bedford
    read = [
        title
        for r in ollama.chat_requests[since:]
        if kind(r) == "notes"
        for _sid, title, _text in sources_in_prompt(r["json"]["messages"][-1]["content"])
    ]
    assert read and not {r["title"] for r in bedford} & set(read)
    assert set(read) <= {r["title"] for r in second}
    assert data["left_out"]["predicted skip"] == len(bedford)
    aside = data["preferences"]["also_in_news"]
    assert {a["url"].rsplit("/", 1)[1] for a in aside} == {r["doc"] for r in bedford}
    assert all(a["read"] is False and a["rule"] == "down: New Bedford (1 rating)" for a in aside)
    markdown = result.paths.md.read_text()
    assert "predicted skip" in markdown and "not read: left out by down: New Bedford" in markdown
    # Listed once, they are not listed again: the next run has nothing new.
    again = run_crew(find_project(project_dir), "news", RunOptions(backend="ollama"))
    assert again.status == "nothing-new"


def test_a_damaged_preferences_table_never_stops_a_run(
    project_dir: Path, ollama: FakeOllama, feeds: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = halves()
    write_crew(project_dir, "news", serve_outlets(feeds, first, "day"))
    run(project_dir)
    cli(project_dir, "rate", "news", "1", "down", capsys=capsys)
    with Store.open(find_project(project_dir).data_dir / "scoutcrew.sqlite") as store:
        store.execute("DROP TABLE preferences")
        store.execute("CREATE TABLE preferences (junk TEXT)")
    serve_outlets(feeds, second, "day")
    result = run(project_dir)
    data = report(result)
    assert "preferences" not in data and len(data["stories"]) == 4
    assert "ranks as with no ratings" in result.paths.md.read_text()
    code, out, _ = cli(project_dir, "prefs", "news", "--reset", capsys=capsys)
    assert code == 0
    code, out, _ = cli(project_dir, "rate", "news", "1", "up", capsys=capsys)
    assert code == 0 and "rated up" in out


def test_a_rating_of_an_unknown_run_or_story_is_a_clear_error(
    project_dir: Path, ollama: FakeOllama, feeds: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    write_crew(project_dir, "news", serve_outlets(feeds, halves()[0], "day"))
    code, _out, err = cli(project_dir, "rate", "news", "1", "up", capsys=capsys)
    assert code == 1 and "news has no report yet: `scoutcrew run news` writes one" in err
    run(project_dir)
    code, _out, err = cli(project_dir, "rate", "20991231-000000-abcdef", "1", "up", capsys=capsys)
    assert code == 1 and "no run '20991231-000000-abcdef'" in err
    code, _out, err = cli(project_dir, "rate", "news", "9", "up", capsys=capsys)
    assert code == 1 and "has no story '9' (its stories: 1 to 4)" in err
    code, _out, err = cli(project_dir, "rate", "news", "1", "sideways", capsys=capsys)
    assert code == 1 and "the vote is 'up' or 'down'" in err
    code, _out, err = cli(project_dir, "rate", "../x%", "1", "up", capsys=capsys)
    assert code == 1 and "a run id looks like" in err
    code, _out, err = cli(project_dir, "prefs", "nosuch", capsys=capsys)
    assert code == 1 and "no crew 'nosuch'" in err
    code, _out, err = cli(project_dir, "prefs", "news", "--remove", "crypto", capsys=capsys)
    assert code == 1 and "news has no rule 'crypto'" in err
    with Store.open(find_project(project_dir).data_dir / "scoutcrew.sqlite") as store:
        assert store.execute("SELECT COUNT(*) FROM preferences")[0][0] == 0
