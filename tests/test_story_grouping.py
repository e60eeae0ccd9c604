"""Story grouping, dedup and "sources disagree" in code, on real ECB+ text (no model, no crew)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

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


# Sentences below are from ECB+ articles (CC BY 3.0, see benchmarks/data/stories/README.md),
# some with one figure or one statement changed. Each case: what two sources say, and what
# "sources disagree" must find: nothing, a kind, or a kind and the two values.
DISAGREEMENTS = {
    "an age without a name is the age of the one named": (
        "Police officers fatally shot 16 - year - old Kimani Gray after he allegedly pointed a"
        " revolver at them on Saturday night in Brooklyn.",
        "Two plainclothes police officers shot and killed a 17 - year - old Brooklyn resident"
        " after police say he pointed a gun at them on Saturday.",
        ("figure", "16", "17"),
    ),
    "two people of one story, each with an age": (
        "A 35 - year - old sheriff's deputy was killed Friday when he knocked on the door of a"
        " home and someone shot him in the head.",
        "A 27 - year - old parolee is found near the house where the deputy had been shot.",
        None,
    ),
    "two people described two ways": (
        "A 32 - year - old British climber dies after falling from a mountain in New Zealand.",
        "A 36 - year - old Australian climber is dead after falling at Aoraki Mount Cook.",
        None,
    ),
    "a bound the other value keeps": (
        "The earthquake flattened seven villages, killing 10 people, officials said.",
        "The earthquake destroyed several villages, killing at least three people.",
        None,
    ),
    "a bound the other value breaks": (
        "Authorities said turnout reached 93.87 percent in the election.",
        "The Central Election Commission said that turnout in the election was almost 90 %.",
        ("figure", "93.87 percent", "90 %"),
    ),
    "two bounds of one side": (
        "More than 50 firefighters tackled the blaze at the store.",
        "More than 70 firefighters tackled the blaze at the store.",
        ("figure", "50 firefighters", "70 firefighters"),
    ),
    "two times of one call": (
        "Owen said a call came in from the Valley Hotel at 3 : 33 a. m. about the fire.",
        "Owen said a call came in from the Valley Hotel at 4 : 15 a. m. about the fire.",
        ("figure", "3 : 33 a. m.", "4 : 15 a. m."),
    ),
    "shortly after 3:30 is about 3:33": (
        "Owen said a call came in from the Valley Hotel at 3 : 33 a. m. about the fire.",
        "Owen says dispatchers got a call shortly after 3 : 30 a. m. about the fire.",
        None,
    ),
    "two weekdays at one time": (
        "The fire service was called at 06 : 00 BST to the Waitrose store in High Street,"
        " Wellington, on Sunday.",
        "Half of the roof of the store in the High Street collapsed during the blaze, shortly"
        " after 06 : 00 BST on Saturday.",
        ("figure", "Sunday", "Saturday"),
    ),
    "the days of two things": (
        "A convicted cop killer laughed Tuesday after hearing a jury's ruling that he be put"
        " to death.",
        "A judge on Thursday upheld a jury's recommendation that the convicted cop killer die.",
        None,
    ),
    "a statement and its denial": (
        "The actress checked into rehab on Thursday, her lawyer says.",
        "The actress did not check into rehab on Thursday, her lawyer says.",
        ("polarity",),
    ),
    "two sides of one opposition": (
        "Hiller denied the charges of murder at the Kraft Foods plant, prosecutors said.",
        "Hiller admitted the charges of murder at the Kraft Foods plant, prosecutors said.",
        ("polarity",),
    ),
    "a negated verb of saying": (
        "A publicist says Tara Reid has checked herself into rehab at the Promises center.",
        "He did not say what Reid was being treated for at the Promises center.",
        None,
    ),
    "two actors": (
        "Klitschko landed 178 of 369 punches thrown while Rahman connected on just 30.",
        "In the sixth round Rahman did n't land a clean punch at all against Klitschko.",
        None,
    ),
    "a negated adverb": (
        "The actress checked into rehab, but the facility has not been officially sanctioned"
        " by the court.",
        "The actress checked into a rehab facility that a state official said is unlicensed.",
        None,
    ),
    "a game's score": (
        "Peyton Manning led the Colts to a 31-24 victory over the Jaguars on Thursday night.",
        "The Colts clinched a playoff spot with a 37-24 victory over the Jaguars on Thursday.",
        ("figure", "31-24", "37-24"),
    ),
}


@pytest.mark.parametrize("case", list(DISAGREEMENTS))
def test_sources_disagree_on_one_quantity_or_one_statement(case: str) -> None:
    a, b, expected = DISAGREEMENTS[case]
    found = pair_disagreements(a, b)
    if expected is None:
        assert not found
        return
    assert found and found[0].kind == expected[0]
    if len(expected) == 3:
        assert (found[0].first, found[0].second) == expected[1:]


def _rows() -> list[similar.Row]:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    return [(r["title"], r["text"], [first_sentence(r["text"])]) for r in rows]


@pytest.mark.skipif(sys.platform != "linux", reason="the second process is forked on Linux")
def test_a_large_batch_is_read_by_two_processes_with_the_same_profiles(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rows = _rows()
    serial = [similar.item_profile(*row) for row in rows]
    read = similar.item_profile

    def profile(*row: Any) -> similar.Profile:
        with (tmp_path / f"pid-{os.getpid()}").open("a") as log:
            log.write("1")
        return read(*row)

    monkeypatch.setattr(similar, "item_profile", profile)
    monkeypatch.setattr(similar, "PARALLEL_FROM", 10)
    assert similar.item_profiles(rows) == serial
    # Another process, the worker, read the second part of the batch.
    counts = {p.name: len(p.read_text()) for p in tmp_path.iterdir()}
    assert counts.pop(f"pid-{os.getpid()}") == len(rows) * similar.WORKER_SHARE // 100
    assert list(counts.values()) == [len(rows) - len(rows) * similar.WORKER_SHARE // 100]


@pytest.mark.skipif(sys.platform != "linux", reason="the second process is forked on Linux")
def test_a_worker_that_dies_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _rows()
    serial = [similar.item_profile(*row) for row in rows]
    parent, read = os.getpid(), similar.item_profile

    def profile(*row: Any) -> similar.Profile:
        if os.getpid() != parent:
            os._exit(9)  # killed, say by the out-of-memory killer
        return read(*row)

    monkeypatch.setattr(similar, "item_profile", profile)
    monkeypatch.setattr(similar, "PARALLEL_FROM", 10)
    assert similar.item_profiles(rows) == serial
