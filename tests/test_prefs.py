"""The preference model on real parts: ratings kept in a real SQLite store, rules learned from
them with the ratings behind each, and their careful use on stories and sources made from ECB+
news (tests/data/ecbplus-demo.jsonl: riots in Athens and Brooklyn, two double murders)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scoutcrew.notes.take import SourceNote
from scoutcrew.prefs.apply import Applied, arrange_stories, prepare_sources, rating_features
from scoutcrew.prefs.features import Part, story_features
from scoutcrew.prefs.model import learn
from scoutcrew.prefs.ratings import (
    entry_features,
    forget_rule,
    keep_rating,
    load_preferences,
    load_ratings,
    overview,
    rate_rule,
    reset,
)
from scoutcrew.select.pack import EvidencePack, Source, left_out_counts
from scoutcrew.store.db import Store
from scoutcrew.stories.group import Story, host, story_id

DATA = Path(__file__).parent / "data" / "ecbplus-demo.jsonl"


def rows() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]


def source(n: int, row: dict) -> Source:
    url = f"https://outlet{n % 4}.example/{row['doc']}"
    return Source(
        f"S{n}", url, [url], row["title"], f"Outlet {n % 4}", None, row["text"][:600], row["text"]
    )


def story_of(sources: list[Source], status: str = "new") -> Story:
    notes = [SourceNote(s.id, s.url, s.title, [s.text.split(". ")[0]], s.id, "m") for s in sources]
    story = Story(id=story_id(sources[0].url), title=sources[0].title, notes=notes, status=status)
    for s in sources:
        story.links.append(s.url)
        story.outlets[host(s.url)] = s.feed_title
    return story


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "store.sqlite") as opened:
        yield opened


def events() -> dict[str, list[Source]]:
    """Each ECB+ event of the demo file as its sources, numbered in file order."""
    out: dict[str, list[Source]] = {}
    for n, row in enumerate(rows(), 1):
        out.setdefault(row["cluster"], []).append(source(n, row))
    return out


def rate(store: Store, story: Story, sources: dict[str, Source], vote: int) -> int:
    features = rating_features(story, sources).keys
    return keep_rating(
        store,
        "news",
        target="story",
        value=story.id,
        vote=vote,
        origin="cli",
        title=story.title,
        features=features,
        run_id="r1",
    )


def rate_down(store: Store, stories: int, features: dict[str, str]) -> None:
    """`stories` stories rated down, each with the same features."""
    for n in range(stories):
        keep_rating(
            store,
            "news",
            target="story",
            value=f"st-{n}",
            vote=-1,
            origin="cli",
            title=f"s{n}",
            features=dict(features),
        )


def test_rules_are_learned_with_the_ratings_behind_them(store: Store) -> None:
    ev = events()
    by_id = {s.id: s for group in ev.values() for s in group}
    # Two stories of the Greek riots and one of the Brooklyn riots up; two murders down.
    greek = [story_of(ev["19ecb"][:5]), story_of(ev["19ecb"][5:10])]
    liked = [*greek, story_of(ev["19ecbplus"][:5])]
    disliked = [story_of(ev[e][:4]) for e in ("32ecb", "32ecbplus")]
    ups = [rate(store, s, by_id, +1) for s in liked]
    downs = [rate(store, s, by_id, -1) for s in disliked]
    prefs, problem = load_preferences(store, "news")
    assert prefs is not None and problem == ""
    assert prefs.rated == 5
    rules = {r.label: r for r in prefs.rules.values()}
    # A word of both riot stories is an up rule, behind it exactly the ratings that had it.
    assert rules["Greece"].weight > 0 and rules["Greece"].up >= 2 and rules["Greece"].down == 0
    assert set(rules["Greece"].ratings) <= set(ups)
    murder = next(r for r in prefs.rules.values() if r.label in {"murder", "murders", "charged"})
    assert murder.weight < 0 and set(murder.ratings) <= set(downs)
    assert murder.because() == f"in {murder.down} rated down"
    # Each rated story is a rule of its own; every learned rule has two ratings on its side.
    assert {k for k in prefs.rules if k.startswith("story:")} == {
        f"story:{s.id}" for s in [*liked, *disliked]
    }
    for rule in prefs.rules.values():
        if rule.kind in {"term", "name"}:
            assert (rule.up if rule.weight > 0 else rule.down) >= 2, rule
    summary = prefs.summary()
    assert summary.startswith("up: ") and "; down: " in summary and "Greece" in summary


def test_a_word_rated_as_often_up_as_down_teaches_nothing(store: Store) -> None:
    features = {"term:polic": "police", "name:athens": "Athens"}
    for n, vote in enumerate([1, -1, 1, -1]):
        keep_rating(
            store,
            "news",
            target="story",
            value=f"st-{n}",
            vote=vote,
            origin="web",
            title=f"story {n}",
            features=dict(features),
        )
    prefs, _ = load_preferences(store, "news")
    assert prefs is not None
    assert not [r for r in prefs.rules.values() if r.kind in {"term", "name"}]


def test_outlets_and_kinds_need_more_ratings_and_never_move_a_story_alone(store: Store) -> None:
    ev = events()
    by_id = {s.id: s for group in ev.values() for s in group}
    rate_down(store, 3, {"outlet:outlet1.example": "outlet1.example"})
    prefs, _ = load_preferences(store, "news")
    assert prefs is not None
    rule = prefs.rules["outlet:outlet1.example"]
    assert -0.7 <= rule.weight < 0 and not rule.about_content
    story = story_of(ev["19ecbplus"][:1])
    stories, applied = arrange_stories([story], by_id, Applied(prefs), keep_all=False)
    assert not applied.moved and stories == [story]


def test_a_term_or_outlet_the_reader_rates_is_a_strong_rule_on_any_story_that_has_it(
    store: Store,
) -> None:
    ev = events()
    by_id = {s.id: s for group in ev.values() for s in group}
    rated = rate_rule(store, "news", "term", "New Bedford", "down", origin="cli")
    assert str(rated) == 'news: the term "New Bedford" rated down'
    rate_rule(store, "news", "outlet", "https://outlet3.example/x", "up", origin="web")
    prefs, _ = load_preferences(store, "news")
    assert prefs is not None
    assert prefs.summary() == "up: outlet outlet3.example; down: New Bedford"
    bedford = story_of([s for s in ev["32ecb"] if "outlet3." not in s.url][:3])
    brooklyn = story_of(ev["19ecbplus"][:4])
    judged = prefs.judge(rating_features(bedford, by_id))
    assert judged.p < 0.2 and judged.reason(-1) == "down: New Bedford (1 rating)"
    assert prefs.judge(rating_features(brooklyn, by_id)).score > 0  # outlet3 is among its links


def test_stories_are_ranked_by_preference_then_as_before_and_skips_go_aside_with_their_rule(
    store: Store,
) -> None:
    ev = events()
    by_id = {s.id: s for group in ev.values() for s in group}
    before = [story_of(ev[e][:4]) for e in ("32ecb", "19ecb", "32ecbplus", "19ecbplus")]
    rate(store, before[3], by_id, +1)  # the Brooklyn riot
    rate(store, before[0], by_id, -1)  # the New Bedford murders
    prefs, _ = load_preferences(store, "news")
    ranked, applied = arrange_stories(before, by_id, Applied(prefs), keep_all=False)
    told = [s for s in ranked if s.id not in applied.moved_ids]
    assert told[0].id == before[3].id  # up from last place
    assert applied.raised == {before[3].id: f'up: the story "{before[3].title}" (1 rating)'}
    [moved] = applied.moved
    assert moved.id == before[0].id and moved.read and moved.rule.startswith("down: the story")
    assert moved.facts and all(f.endswith(("]",)) for f in moved.facts)
    assert [s.id for s in told[1:]] == [before[1].id, before[2].id]  # the rest as before
    # --all-items keeps every story in place; all skips at once move none, and say so.
    _, kept = arrange_stories(before, by_id, Applied(prefs), keep_all=True)
    assert not kept.moved
    _, none = arrange_stories(before[:1], by_id, Applied(prefs), keep_all=False)
    assert not none.moved and none.kept == [
        "every one of the 1 stories was a predicted skip, so none was moved"
    ]
    # No ratings: nothing changes.
    same, nothing = arrange_stories(before, by_id, Applied(), keep_all=False)
    assert same == before and not nothing.raised and not nothing.moved


def test_skip_below_leaves_predicted_skips_out_of_the_notes_and_reads_the_preferred_first(
    store: Store,
) -> None:
    ev = events()
    rate_rule(store, "news", "term", "New Bedford", "down", origin="cli")
    rate_rule(store, "news", "term", "Brooklyn", "up", origin="cli")
    prefs, _ = load_preferences(store, "news")
    sources = [*ev["32ecb"][:3], *ev["19ecb"][:2], *ev["19ecbplus"][:2]]
    pack = EvidencePack(sources=sources)
    backlog = {ev["19ecb"][1].url}
    out, applied = prepare_sources(
        pack, Applied(prefs), skip_below=0.2, keep_all=False, backlog=backlog
    )
    assert [s.id for s in out.sources] == [f"S{n}" for n in range(1, len(out.sources) + 1)]
    urls = [s.url for s in out.sources]
    assert urls[0] == ev["19ecb"][1].url  # the backlog first
    assert urls[1:3] == [s.url for s in ev["19ecbplus"][:2]]  # then the preferred
    bedford = {s.url for s in ev["32ecb"][:3] if "bedford" in (s.title + s.text).lower()}
    assert bedford and not bedford & set(urls)
    assert {a.url for a in applied.skipped} == bedford
    assert all(not a.read and a.rule == "down: New Bedford (1 rating)" for a in applied.skipped)
    assert left_out_counts(out.dropped) == {"predicted skip": len(bedford)}
    # Without skip_below every source is read; with --all-items too.
    assert (
        len(prepare_sources(pack, Applied(prefs), skip_below=None, keep_all=False)[0].sources) == 7
    )
    assert len(prepare_sources(pack, Applied(prefs), skip_below=0.2, keep_all=True)[0].sources) == 7


def test_a_removed_rule_is_not_learned_again_until_a_reset(store: Store) -> None:
    rate_down(store, 2, {"term:crypto": "crypto", "term:fund": "funding"})
    assert forget_rule(store, "news", "crypto", origin="web") == "crypto"
    prefs, _ = load_preferences(store, "news")
    assert prefs is not None and "term:crypto" not in prefs.rules and "term:fund" in prefs.rules
    view = overview(store, "news")
    assert [r.title for r in view.removed] == ["crypto"]
    assert view.behind(prefs.rules["term:fund"].ratings)[0].title in {"s0", "s1"}
    assert reset(store, "news") == 3
    assert load_preferences(store, "news") == (None, "")


def test_a_damaged_preferences_table_never_stops_a_run_and_says_so(store: Store) -> None:
    keep_rating(
        store,
        "news",
        target="story",
        value="st-1",
        vote=1,
        origin="cli",
        title="a",
        features={"term:a": "a"},
    )
    store.execute("UPDATE preferences SET features = 'not json'")
    prefs, problem = load_preferences(store, "news")
    assert prefs is None and problem.startswith("1 of the preferences of news could not be read")
    store.execute("DROP TABLE preferences")
    prefs, problem = load_preferences(store, "news")
    assert prefs is None
    assert "could not be read" in problem and "ranks as with no ratings" in problem
    assert "scoutcrew prefs news --reset" in problem
    assert reset(store, "news") == 0  # the table is made anew
    assert load_ratings(store, "news") == ([], 0)


def test_a_story_rated_from_its_report_is_about_what_the_run_read(store: Store) -> None:
    ev = events()
    group = ev["19ecbplus"][:3]
    by_id = {s.id: s for s in group}
    story = story_of(group, status="updated")
    run = {
        "id": "r",
        "evidence": {
            "sources": [
                {"id": s.id, "title": s.title, "text": s.text, "url": s.url, "links": s.links}
                for s in group
            ]
        },
    }
    entry = story.to_dict()
    assert entry_features(store, run, entry).keys == rating_features(story, by_id).keys
    # A source left out of the notes: what the store holds of it.
    lone = ev["32ecb"][0]
    store.save_feed_items(
        "f",
        [
            {
                "url": lone.url,
                "links": [lone.url],
                "title": lone.title,
                "text": lone.text,
                "published": None,
                "content_hash": "h",
            }
        ],
    )
    aside = {"id": story_id(lone.url), "title": lone.title, "url": lone.url, "read": False}
    expected = story_features(aside["id"], [Part(lone.title, lone.text, [lone.url])])
    assert entry_features(store, run, aside).keys == expected.keys


def test_learn_ignores_nothing_it_is_given_and_counts_only_stories() -> None:
    from scoutcrew.prefs.model import Rating

    prefs = learn("news", [Rating(1, "term", "phrase:crypto", -1, "crypto")])
    assert prefs.rated == 0 and prefs.down()[0].words() == "crypto"
    assert prefs.down()[0].because() == "you rated it down"
