"""Classes of "sources disagree" (verify/disagree.py, counts.py, ages.py, opposite.py) on news
sentences written for these tests: each class a disagreement it must find, and a near case it
must leave alone."""

from __future__ import annotations

import pytest

from scoutcrew.verify.disagree import pair_disagreements

CASES = {
    # -- what a number counts: the noun its phrase ends on ---------------------------------
    "a described noun and a plain one": (
        "The navy said its sailors detained 23 Somalian pirates off the coast on Monday.",
        "The navy said its sailors detained 25 pirates off the coast of Somalia on Monday.",
        ("figure", "23 Somalian", "25 pirates"),
    ),
    "two words between the number and its noun": (
        "Two suspected gang members are in custody over the shooting of the deputy.",
        "Three local gang members were taken into custody over the shooting of the deputy.",
        ("figure",),
    ),
    "two nouns after one modifier are two things": (
        "Two gang members were arrested over the shooting of the deputy, police said.",
        "Three gang leaders were arrested over the shooting of the deputy, police said.",
        None,
    ),
    "a participle after the noun ends its phrase": (
        "A total of 310 candidates standing for 120 seats took part in the vote.",
        "A total of 290 candidates are standing for the 120 seats in the vote.",
        ("figure", "310 candidates", "290 candidates"),
    ),
    "a number written as a word and a duration written with a hyphen": (
        "The Mets have offered outfielder Juan Soto a ten-year contract, the club said.",
        "The Mets offered outfielder Juan Soto a 12-year contract on Sunday, the club said.",
        ("figure",),
    ),
    "a noun before the noun makes a kind of its own": (
        "Hansbrough now has 2,301 career points for the Tar Heels.",
        "Ford finished with 2,290 points for the Tar Heels.",
        None,
    ),
    "a part of a series is not the whole": (
        "Rivera will miss the final two games of the season with a sprained ankle.",
        "Rivera missed four games of the season with a sprained ankle in October.",
        None,
    ),
    "a headline in capitals counts its noun too": (
        "Three villages were damaged by the quake, officials said.",
        "Quake In Iran Kills 10 And 7 Villages Damaged.",
        ("figure", "Three villages", "7 Villages"),
    ),
    "two things of so many days": (
        "The singer began a 90-day stay at the Desert Springs Center on Monday.",
        "The singer left the Desert Springs Center after completing a 30-day program.",
        None,
    ),
    # -- who acts: not a name that a verb or a preposition takes ---------------------------
    "a place after a preposition does not act": (
        "Lena Cruz has checked into the Cedar Hills Clinic to begin a 30 - day stay.",
        "Lena Cruz checks into rehab to begin a 45 - day stay, her lawyer says.",
        ("figure",),
    ),
    "a nationality describes who acts": (
        "A Dutch hiker has fallen about 300 metres to his death in the Alps, police said.",
        "Police said a hiker fell 600 metres to his death in the Alps on Sunday.",
        ("figure",),
    ),
    "two players, each scoring": (
        "Okafor scored 21 points for the Hawks in the win.",
        "Brennan scored 14 points for the Hawks in the win.",
        None,
    ),
    "who acts, past a possessive": (
        "Nunez, the team's top scorer, finished his career with 1,950 points at the club.",
        "Ortega, the captain, now has 1,962 points at the club, a record.",
        None,
    ),
    # -- ages ----------------------------------------------------------------------------
    "at the age of": (
        "Ruth Hale, the novelist who wrote of the Welsh coast, died on Monday at the age of 88.",
        "Ruth Hale, the Welsh novelist, has died at age 91, her publisher said.",
        ("figure", "88", "91"),
    ),
    "a first name written short": (
        "Alex Moreno, 45, was charged with arson after the blaze at the warehouse.",
        "Alexander Moreno, 47, was charged with arson after the warehouse blaze on Friday.",
        ("figure", "45", "47"),
    ),
    "two people of one surname": (
        "Katie Walsh, 20, was charged with arson after the blaze at the warehouse.",
        "John Walsh, 23, was charged with arson after the blaze at the warehouse.",
        None,
    ),
    "a name given in apposition to a noun": (
        "The crash killed a 19-year-old student, Maria Lopez, on the highway near the town.",
        "Maria Lopez, 21, was killed on the highway near the town on Saturday.",
        ("figure", "19", "21"),
    ),
    # -- money, and units written onto the number -----------------------------------------
    "two amounts of money for one damage": (
        "The flood did damage in the vicinity of $ 3 million to the school.",
        "The flood did an estimated $ 5 million in damage to the school.",
        ("figure", "$ 3 million", "$ 5 million"),
    ),
    "money in millions is no length": (
        "The Yankees offered the pitcher a deal worth $160MM over eight years.",
        "The pitcher asked for $200MM over eight years.",
        None,
    ),
    "two amounts of money for two things": (
        "The judge set bail at $ 3 million for the driver.",
        "The family filed a $ 5 million lawsuit against the city.",
        None,
    ),
    "millions with a decimal are a count": (
        "About 2.5 million voters are registered for the election in the country.",
        "About 4 million voters are registered for the election, officials said.",
        ("figure",),
    ),
    "a unit written onto its number": (
        "The climber fell about 500ft from a ridge on the north face, police said.",
        "The climber fell around 900 feet from a ridge on the north face.",
        ("figure",),
    ),
    # -- opposite statements ---------------------------------------------------------------
    "failed to": (
        "The probe failed to reach orbit after the launch from the island base on Tuesday.",
        "The probe reached orbit after the launch from the island base on Tuesday.",
        ("polarity",),
    ),
    "what would not have happened": (
        "The team placed Rivera on injured reserve on Tuesday.",
        "The coach said the team would not have placed Rivera on injured reserve if it were"
        " still in the race.",
        None,
    ),
    "a loosely close sentence, the predicate in a clause of its own": (
        "After walking out of a clinic in Malibu and facing the prospect of arrest for a"
        " probation violation, Dana Reyes has checked into a treatment center in Palm Springs.",
        "The actress, who was seen at a Hollywood party last week, has since checked in to"
        " another clinic but will not face a probation violation for leaving the first one, a"
        " prosecutor told reporters on Friday.",
        None,
    ),
    "a failed thing denies nothing": (
        "The senator returned to the capital after her failed campaign for governor.",
        "The senator returned to the capital after a campaign for governor.",
        None,
    ),
    "the same subject, told at different length": (
        "Mark Dunn, 31, of Elm Street, Leeds was arrested on Sunday morning after police were"
        " called to reports of a fight outside a pub.",
        "Mark Dunn, 31, was not arrested near the pub where a man was hurt in a fight, his"
        " lawyer told the Evening Post.",
        ("polarity",),
    ),
    "the same subject, the verb in a clause of its own": (
        "Mark Dunn, 31, of Elm Street, Leeds, spoke to reporters on Sunday morning after"
        " officers arrested a driver in a field.",
        "Mark Dunn, 31, was not arrested, police said on Sunday.",
        None,
    ),
    "a denial in a longer sentence": (
        "According to a story in the Chronicle citing two people familiar with the talks in"
        " Las Vegas, the Giants have made a four-year offer to free agent pitcher Sam Ortiz.",
        "The Giants have not made an offer to pitcher Sam Ortiz, a deal that would be the"
        " richest the franchise has ever handed out, beating the sum the club paid its"
        " shortstop two winters ago in a trade with Boston.",
        ("polarity",),
    ),
    # -- counts of one thing told with other words ----------------------------------------
    "one value elsewhere counts another thing": (
        "Coast guards spotted a group of four armed boats approaching the tankers at dawn.",
        "The frigate was escorting four tankers when its crew spotted a group of seven boats"
        " approaching them at dawn.",
        ("figure",),
    ),
    "a bound elsewhere does not hide another exact value": (
        ["The storm flattened two towns, killing 10 people, officials said."],
        [
            "The storm flattened two towns and killed at least three people.",
            "The governor said two towns were destroyed and three people killed.",
        ],
        ("figure", "10 people", "three people"),
    ),
    "one person and two men are one count of people": (
        "A gunman opened fire at a shopping centre on Friday, killing one person.",
        "The gunman who opened fire at a shopping centre killing two men was charged on Saturday.",
        ("figure", "one person", "two men"),
    ),
    "a toll split into the dead and the others is the whole": (
        "A gunman shot dead one person and wounded two others at a depot on Monday.",
        "A gunman shot three people at a depot on Monday morning, police said.",
        None,
    ),
    "a date is no count": (
        "The vote, scheduled for March 12, will be held on a two-party basis.",
        "The vote will have two parties for the first time, the commission said.",
        None,
    ),
    "points during a run are a part of the game's": (
        "Ortiz scored 31 points as the Hawks beat the Lions 80 - 71 on Friday.",
        "Ortiz had six points during a decisive 12 - 0 run as the Hawks beat the Lions on Friday.",
        None,
    ),
    # -- one act named by two verbs, one of them denied ------------------------------------
    "captured and failed to arrest": (
        "Coast guards have captured 12 smugglers near the island.",
        "Coast guards on Sunday failed to arrest 12 smugglers near the island.",
        ("polarity",),
    ),
    "thwarted and fails to stop, in a headline": (
        "The frigate thwarted a hijacking in the strait and seized two skiffs of the gang.",
        "Frigate Fails To Stop Hijacking Gang In The Strait.",
        ("polarity",),
    ),
    "an act told twice is no disagreement": (
        "Coast guards have captured 12 smugglers near the island.",
        "Coast guards on Sunday arrested 12 smugglers near the island.",
        None,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_class_of_disagreement(case: str) -> None:
    a, b, expected = CASES[case]
    found = pair_disagreements(a, b)
    if expected is None:
        assert not found, found
        return
    assert found and found[0].kind == expected[0], found
    if len(expected) == 3:
        assert (found[0].first, found[0].second) == expected[1:]
