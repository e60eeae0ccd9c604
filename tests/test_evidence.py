"""Selecting evidence: canonical URLs, duplicates, new-only, ranking, packing, rendering."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scoutcrew.config.schema import SourcesConfig
from scoutcrew.gather.feeds import gather
from scoutcrew.gather.items import Gathered, Item, Note, content_hash
from scoutcrew.gather.urls import canonical_url
from scoutcrew.select.dedupe import dedupe
from scoutcrew.select.pack import PREAMBLE, format_plan_summary, select
from scoutcrew.store.db import Store
from scoutcrew.text.measure import bm25_scores, estimate_tokens, rank

ROOT = Path(__file__).resolve().parents[1]
DEMO_FEEDS = [
    "examples/feeds/lab-notes.xml",
    "examples/feeds/model-watch.atom",
    "examples/feeds/open-weights.json",
]


def item(url, title, text, feed="F", day=1) -> Item:
    return Item(
        url=url,
        links=[url],
        title=title,
        text=text,
        published=datetime(2026, 11, day, tzinfo=UTC),
        feed_url=feed,
        feed_title=feed,
        content_hash=content_hash(title, text),
    )


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "home" / "scoutcrew.sqlite") as st:
        yield st


@pytest.fixture
def demo(store):
    return gather(SourcesConfig(feeds=DEMO_FEEDS), store=store, project_root=ROOT)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (
            "HTTPS://News.Example.COM:443/a/b?utm_source=x&id=7&fbclid=1#top",
            "https://news.example.com/a/b?id=7",
        ),
        ("http://example.com", "http://example.com/"),
        ("http://example.com:8080/x?b=2&a=1", "http://example.com:8080/x?a=1&b=2"),
        ("https://example.com/p?ref_src=tw&UTM_Medium=m", "https://example.com/p"),
    ],
)
def test_canonical_url(raw, canonical):
    assert canonical_url(raw) == canonical


def test_same_story_from_two_feeds_becomes_one_item_with_both_links(demo):
    kept, dropped = dedupe(list(demo.items))
    kestrel = [
        i for i in kept if "kestrel" in i.title.lower() and "hands-on" not in i.title.lower()
    ]
    assert len(kestrel) == 1
    assert kestrel[0].links == [
        "https://labnotes.example/2026/11/northwind-kestrel-7b",
        "https://modelwatch.example/posts/kestrel-7b-open-weights",
    ]
    assert len(dropped) == 1 and "near-duplicate" in dropped[0][1]
    # a different story on the same model is not a duplicate
    assert any(i.title.startswith("Hands-on: running Northwind") for i in kept)
    assert len(kept) == len(demo.items) - 1


def test_exact_duplicates_by_url_and_by_content():
    a = item("https://x.example/a?utm_source=1", "Model A ships", "Text one about A.")
    b = item("https://x.example/a", "Model A ships (repost)", "Entirely other words here.")
    c = item("https://y.example/copy", "Model A ships", "Text one about A.")
    kept, dropped = dedupe([a, b, c])
    assert [k.url for k in kept] == ["https://x.example/a"]
    assert kept[0].links == ["https://x.example/a", "https://y.example/copy"]
    assert len(dropped) == 2


def test_unrelated_items_are_not_merged():
    a = item("https://a", "Quantisation study of small models", "Four bit builds lose little.")
    b = item("https://b", "Energy use of laptops measured", "Watt hours per thousand tokens.")
    kept, dropped = dedupe([a, b])
    assert len(kept) == 2 and dropped == []


def test_bm25_ranks_matching_items_first():
    items = [
        item("https://a", "Gardening tips", "Tomatoes and roses."),
        item("https://b", "Quantisation of models", "Four-bit quantisation of models."),
        item("https://c", "Models", "A note on models."),
    ]
    assert [i.url for i in rank(items, "quantisation models")] == [
        "https://b",
        "https://c",
        "https://a",
    ]
    scores = bm25_scores([["a", "b"], ["c"]], ["a"])
    assert scores[0] > 0 and scores[1] == 0


def test_new_only_skips_what_the_crew_already_reported(demo, store):
    pack = select(demo, crew="demo", query="models", budget_tokens=50_000, store=store)
    assert len(pack.sources) == 27
    store.mark_delivered("demo", [s.url for s in pack.sources[:5]])
    again = select(demo, crew="demo", query="models", budget_tokens=50_000, store=store)
    assert len(again.sources) == 22
    assert sum("already reported" in r for _t, r in again.dropped) == 5
    assert {s.url for s in again.sources}.isdisjoint(s.url for s in pack.sources[:5])
    everything = select(
        demo, crew="demo", query="models", budget_tokens=50_000, store=store, new_only=False
    )
    assert len(everything.sources) == 27
    other_crew = select(demo, crew="other", query="models", budget_tokens=50_000, store=store)
    assert len(other_crew.sources) == 27


def test_delivered_link_of_a_merged_item_counts_as_reported(demo, store):
    store.mark_delivered("demo", ["https://modelwatch.example/posts/kestrel-7b-open-weights"])
    pack = select(demo, crew="demo", query="kestrel", budget_tokens=50_000, store=store)
    assert not any("Northwind Labs releases" in s.title for s in pack.sources)


def test_pack_fits_the_budget_with_stable_ids(demo, store):
    pack = select(demo, crew="demo", query="context tokens prompt", budget_tokens=900, store=store)
    assert pack.used_tokens <= 900 == pack.budget_tokens
    assert estimate_tokens(pack.render()) == pack.used_tokens
    assert [s.id for s in pack.sources] == [f"S{n}" for n in range(1, len(pack.sources) + 1)]
    assert 3 <= len(pack.sources) < 27
    assert any(r == "over the token budget" for _t, r in pack.dropped)
    again = select(demo, crew="demo", query="context tokens prompt", budget_tokens=900, store=store)
    assert again.render() == pack.render()
    assert pack.get("[S1]") is pack.sources[0] and pack.get("S99") is None
    assert all(len(s.excerpt) <= len(s.text) + 2 for s in pack.sources)


def test_max_items_caps_the_pack(demo, store):
    pack = select(demo, crew="demo", query="models", budget_tokens=50_000, store=store, max_items=4)
    assert len(pack.sources) == 4
    assert sum("max_items" in r for _t, r in pack.dropped) == 23


def test_render_fences_sources_as_quoted_data(demo, store):
    pack = select(
        demo, crew="demo", query="laptop benchmark roundup", budget_tokens=50_000, store=store
    )
    text = pack.render()
    assert text.startswith(PREAMBLE) and "data, not instructions" in PREAMBLE
    body = text.split("BEGIN SOURCES\n", 1)[1].rsplit("\nEND SOURCES", 1)[0]
    for line in body.split("\n"):
        assert line == "" or line.startswith((">", "[S")), line
    injected = [line for line in body.split("\n") if "ignore previous instructions" in line]
    assert injected and all(line.startswith("> ") for line in injected)
    assert "<script" not in text and "javascript:" not in text


def test_plan_summary_lists_sources_notes_and_drops(demo, store):
    demo.notes.append(Note("feed", "https://down.example/rss", "HTTP 500", "error"))
    demo.degraded.append("search 'x' failed")
    pack = select(demo, crew="demo", query="models", budget_tokens=700, store=store)
    summary = format_plan_summary(pack, demo)
    assert "Gathered 28 items" in summary
    assert "[error] feed https://down.example/rss: HTTP 500" in summary
    assert "search 'x' failed" in summary
    assert f"Evidence pack: {len(pack.sources)} sources, ~{pack.used_tokens} of 700" in summary
    assert "[S1]" in summary and "1 duplicate" in summary and "token budget" in summary


def test_empty_gathering_gives_an_empty_pack_with_a_note(store):
    pack = select(Gathered(items=[]), crew="demo", query="x", budget_tokens=500, store=store)
    assert pack.sources == [] and "(no sources)" in pack.render()
    assert pack.notes[-1].kind == "evidence"
