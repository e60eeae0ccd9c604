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


# Sentences below are from ECB+ articles (CC BY 3.0, see benchmarks/data/stories/README.md),
# some with one figure or one statement changed.


def test_an_age_is_compared_with_the_age_of_the_same_person_only() -> None:
    [age] = pair_disagreements(
        "Police officers fatally shot 16 - year - old Kimani Gray after he allegedly pointed a"
        " revolver at them on Saturday night in Brooklyn.",
        "Two plainclothes police officers shot and killed a 17 - year - old Brooklyn resident"
        " after police say he pointed a gun at them on Saturday.",
    )
    assert (age.first, age.second) == ("16", "17")
    # Two people of one story, each with an age: no disagreement.
    assert not pair_disagreements(
        "A 35 - year - old sheriff's deputy was killed Friday when he knocked on the door of a"
        " home and someone shot him in the head.",
        "A 27 - year - old parolee is found near the house where the deputy had been shot in"
        " the head.",
    )
    assert not pair_disagreements(
        "A 32 - year - old British climber dies after falling from a mountain in New Zealand.",
        "A 36 - year - old Australian climber is dead after falling at Aoraki Mount Cook.",
    )


def test_a_bound_that_holds_is_no_disagreement_and_one_that_breaks_is() -> None:
    assert not pair_disagreements(
        "The earthquake flattened seven villages, killing 10 people, officials said.",
        "The earthquake destroyed several villages, killing at least three people.",
    )
    [turnout] = pair_disagreements(
        "Authorities said turnout reached 93.87 percent in the election.",
        "The Central Election Commission said that turnout in the election was almost 90 %.",
    )
    assert (turnout.first, turnout.second) == ("93.87 percent", "90 %")
    # Two bounds of one side that differ still disagree.
    assert pair_disagreements(
        "More than 50 firefighters tackled the blaze at the store.",
        "More than 70 firefighters tackled the blaze at the store.",
    )


def test_times_of_day_and_weekdays_of_one_event() -> None:
    [time] = pair_disagreements(
        "Owen said a call came in from the Valley Hotel at 3 : 33 a. m. about the fire.",
        "Owen said a call came in from the Valley Hotel at 4 : 15 a. m. about the fire.",
    )
    assert time.about == "time"
    assert not pair_disagreements(  # "shortly after 3:30" is about 3:33
        "Owen said a call came in from the Valley Hotel at 3 : 33 a. m. about the fire.",
        "Owen says dispatchers got a call shortly after 3 : 30 a. m. about the fire.",
    )
    [day] = pair_disagreements(
        "The fire service was called at 06 : 00 BST to the Waitrose store in High Street,"
        " Wellington, on Sunday.",
        "Half of the roof of the store in the High Street collapsed during the blaze, shortly"
        " after 06 : 00 BST on Saturday.",
    )
    assert (day.first, day.second) == ("Sunday", "Saturday")
    # The day a source spoke, and the day of another thing, are not the event's day.
    assert not pair_disagreements(
        "A convicted cop killer laughed Tuesday after hearing a jury's ruling that he be put"
        " to death.",
        "A judge on Thursday upheld a jury's recommendation that the convicted cop killer die.",
    )


def test_opposite_statements_but_not_denials_of_something_else() -> None:
    [denied] = pair_disagreements(
        "The actress checked into rehab on Thursday, her lawyer says.",
        "The actress did not check into rehab on Thursday, her lawyer says.",
    )
    assert denied.kind == "polarity"
    [antonym] = pair_disagreements(
        "Hiller denied the charges of murder at the Kraft Foods plant, prosecutors said.",
        "Hiller admitted the charges of murder at the Kraft Foods plant, prosecutors said.",
    )
    assert antonym.kind == "polarity"
    assert not pair_disagreements(  # a negated verb of saying says nothing of the event
        "A publicist says Tara Reid has checked herself into rehab at the Promises center.",
        "He did not say what Reid was being treated for at the Promises center.",
    )
    assert not pair_disagreements(  # two people: one landed punches, the other did not
        "Klitschko landed 178 of 369 punches thrown while Rahman connected on just 30.",
        "In the sixth round Rahman did n't land a clean punch at all against Klitschko.",
    )
    assert not pair_disagreements(  # "not officially sanctioned": the verb is denied
        "The actress checked into rehab, but the facility has not been officially sanctioned"
        " by the court.",
        "The actress checked into a rehab facility that a state official said is unlicensed.",
    )
