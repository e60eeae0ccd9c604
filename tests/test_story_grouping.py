"""Story grouping, dedup and "sources disagree" in code, on real ECB+ text (no model, no crew)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scoutcrew.gather.items import Item, content_hash
from scoutcrew.notes.take import SourceNote
from scoutcrew.select.dedupe import dedupe
from scoutcrew.select.pack import Source, full_text, item_excerpt
from scoutcrew.stories import similar
from scoutcrew.stories.group import group_stories
from scoutcrew.testing.scripts import first_sentence
from scoutcrew.verify.disagree import pair_disagreements

DATA = Path(__file__).parent / "data" / "ecbplus-demo.jsonl"


def notes_and_sources() -> tuple[list[SourceNote], dict[str, Source], dict[str, str]]:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    notes, sources, events = [], {}, {}
    for n, row in enumerate(rows, 1):
        sid, url = f"S{n}", f"https://outlet{n % 4}.example/{row['doc']}"
        fact = first_sentence(row["text"])
        notes.append(SourceNote(sid, url, row["title"], [fact], f"h{n}", "m"))
        sources[sid] = Source(
            sid, url, [url], row["title"], f"Outlet {n % 4}", None, "", row["text"]
        )
        events[sid] = row["cluster"]
    return notes, sources, events


@pytest.mark.parametrize("frequencies", [True, False], ids=["wordfreq", "batch weights"])
def test_each_event_is_one_story_with_or_without_word_frequencies(frequencies: bool) -> None:
    similar.use_word_frequencies(frequencies)
    try:
        notes, sources, events = notes_and_sources()
        stories = group_stories(notes, sources)
    finally:
        similar.use_word_frequencies(True)
    told = [{events[sid] for sid in story.source_ids} for story in stories]
    assert all(len(t) == 1 for t in told)  # no story mixes two events
    if frequencies:
        assert len(stories) == len(set(events.values())) == 4
        assert all(len(story.outlets) == 4 for story in stories)
    else:  # weighed by 42 items alone, some articles stay apart, but most are together
        for event in set(events.values()):
            sizes = [len(s.notes) for s, t in zip(stories, told, strict=True) if event in t]
            assert max(sizes) * 2 >= sum(sizes)


def item(url: str, title: str, text: str) -> Item:
    return Item(url, [url], title, text, None, "f", "feed", content_hash(title, text))


BODY = (
    "The project {verb} its CPU backend in version 5.1, the maintainers said on Monday. "
    "{who} wrote the change, which touches {n} files. Builds for ARM boards follow next week."
)


def test_headline_twins_with_different_bodies_are_two_items() -> None:
    adds = item(
        "https://a/1", "Phi-5 adds a CPU backend", BODY.format(verb="adds", who="Ana", n=40)
    )
    drops = item(
        "https://b/2",
        "Phi-5 deprecates a CPU backend",
        BODY.format(verb="deprecates", who="Ben", n=12),
    )
    kept, dropped = dedupe([adds, drops])
    assert len(kept) == 2 and dropped == []


def test_a_copy_with_another_figure_is_not_merged_and_a_true_copy_keeps_its_extra_text() -> None:
    text = BODY.format(verb="adds", who="Ana", n=40)
    first = item("https://a/1", "Phi-5 adds a CPU backend", text)
    other_figure = item("https://b/2", "Phi-5 adds a CPU backend", text.replace("40", "44"))
    copy = item("https://c/3", "Phi-5 adds a CPU backend", text + " Reviewers approved it fast.")
    kept, dropped = dedupe([first, other_figure, copy])
    assert [k.url for k in kept] == ["https://a/1", "https://b/2"]
    assert kept[0].links == ["https://a/1", "https://c/3"] and len(dropped) == 1
    # Nothing the copy said is lost: the notes step reads its extra sentence too.
    assert kept[0].also == ["Reviewers approved it fast."]
    assert "Reviewers approved it fast." in item_excerpt(kept[0], 40)
    assert full_text(kept[0]).endswith("Reviewers approved it fast.")


def test_pair_disagreements_figures_and_polarity_but_not_different_quantities() -> None:
    [figure] = pair_disagreements(
        "The quake killed 10 people on Qeshm island.", "An earthquake on Qeshm killed 12 people."
    )
    assert (figure.kind, figure.first, figure.second) == ("figure", "10 people", "12 people")
    [polarity] = pair_disagreements(
        "Orozco, 29, was found guilty of murder by the jury.",
        "Orozco, 29, was not found guilty of murder by the jury.",
    )
    assert polarity.kind == "polarity"
    assert not pair_disagreements(
        "The attack killed 3 people and injured 12.", "Three people died and 12 were injured."
    )
    assert not pair_disagreements(
        "More than 50 firefighters tackled the blaze.", "Ten fire engines tackled the blaze."
    )
