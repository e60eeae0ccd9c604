"""`scoutcrew rate` and `scoutcrew prefs`: the reader's ratings and what they taught a crew."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..config.project import Project, find_project
from ..errors import BadRating, UnknownCrew
from ..text.untrusted import strip_controls

if TYPE_CHECKING:
    from ..prefs.model import Rating
    from ..prefs.ratings import Overview
    from ..store.db import Store


def add_prefs_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `rate` and `prefs` to the CLI's subcommands."""
    p = subparsers.add_parser(
        "rate",
        help="rate a story of a report up or down (or an outlet, or a term)",
        description="Rate a story of a run's report: `scoutcrew rate RUN` lists its stories "
        "with their numbers; `scoutcrew rate RUN 3 up` rates the third. RUN is a run id (a "
        "unique prefix is enough) or a crew's name for its latest report. The next runs of "
        "the crew rank their stories by what the ratings teach (`scoutcrew prefs CREW`).",
    )
    p.add_argument("run", metavar="RUN", help="run id, or a crew's name for its latest report")
    p.add_argument("args", nargs="*", metavar="STORY up|down", help="story number or id, vote")
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--outlet", nargs=2, metavar=("HOST", "up|down"), help="rate an outlet (its host) instead"
    )
    what.add_argument(
        "--term", nargs=2, metavar=("WORDS", "up|down"), help="rate a word or phrase instead"
    )
    p.set_defaults(func=cmd_rate)

    p = subparsers.add_parser(
        "prefs",
        help="what a crew learned from your ratings, with the ratings behind each rule",
    )
    p.add_argument("crew")
    p.add_argument(
        "--remove", action="append", default=[], metavar="RULE", help="forget a rule; repeatable"
    )
    p.add_argument(
        "--remove-rating",
        action="append",
        default=[],
        type=int,
        metavar="ID",
        help="remove one rating (its #id); repeatable",
    )
    p.add_argument("--reset", action="store_true", help="forget every rating of the crew")
    p.set_defaults(func=cmd_prefs)


def _store(project: Project) -> Store:
    from ..store.db import Store

    return Store.open(project.data_dir / "scoutcrew.sqlite")


def _crew(project: Project, crew: str) -> str:
    if crew not in project.crew_names():
        names = ", ".join(project.crew_names()) or "none"
        raise UnknownCrew(f"no crew {ascii(crew[:60])} in {project.root} (the crews: {names})")
    return crew


def cmd_rate(args: argparse.Namespace) -> int:
    from ..prefs.ratings import latest_reported_run, rate_rule, rate_story, reported_run

    project = find_project(args.project)
    is_crew = args.run in project.crew_names()
    with _store(project) as store:
        if args.outlet is not None or args.term is not None:
            if args.args:
                raise BadRating("rate a story, or an outlet or a term, not both at once")
            crew = args.run if is_crew else reported_run(store, args.run)["crew"]
            kind, (value, vote) = ("outlet", args.outlet) if args.outlet else ("term", args.term)
            rated = rate_rule(store, crew, kind, value, vote, origin="cli")
            print(strip_controls(f"{rated}; `scoutcrew prefs {crew}` shows what it taught"))
            return 0
        run = latest_reported_run(store, args.run) if is_crew else args.run
        if not args.args:
            print(strip_controls(list_stories(store, run)))
            return 0
        if len(args.args) != 2:
            raise BadRating("rate one story: `scoutcrew rate RUN STORY up` (or down)")
        rated = rate_story(store, run, args.args[0], args.args[1], origin="cli")
    print(strip_controls(f"{rated}; `scoutcrew prefs {rated.crew}` shows what it taught"))
    return 0


def list_stories(store: Store, run: str) -> str:
    """The stories of a run's report, numbered, with the reader's rating of each."""
    from ..prefs.ratings import load_ratings, report_stories, reported_run

    found = reported_run(store, run)
    stories = report_stories(found)
    ratings, _bad = load_ratings(store, found["crew"])
    votes = {r.value: r.vote for r in ratings if r.target == "story"}
    lines = [f"run {found['id']} of {found['crew']}: {len(stories)} stories"]
    for n, story in enumerate(stories, 1):
        vote = {1: " [rated up]", -1: " [rated down]"}.get(votes.get(story["id"], 0), "")
        aside = " (also in the news)" if story.get("aside") else ""
        lines.append(f"{n:>3}. {_clip(str(story.get('title') or ''))}{aside}{vote}  {story['id']}")
    lines.append(f"rate one: scoutcrew rate {found['id']} NUMBER up (or down)")
    return "\n".join(lines)


def cmd_prefs(args: argparse.Namespace) -> int:
    from ..prefs.ratings import forget_rule, overview, remove_rating, reset

    project = find_project(args.project)
    crew = _crew(project, args.crew)
    with _store(project) as store:
        if args.reset:
            print(f"{crew}: {reset(store, crew)} ratings and removed rules forgotten")
            return 0
        for rule in args.remove:
            print(strip_controls(f"{crew}: removed {forget_rule(store, crew, rule, origin='cli')}"))
        for rating_id in args.remove_rating:
            remove_rating(store, crew, rating_id)
            print(f"{crew}: rating #{rating_id} removed")
        if args.remove or args.remove_rating:
            return 0
        print(strip_controls(format_overview(overview(store, crew))))
    return 0


def format_overview(view: Overview) -> str:
    """What a crew learned, in plain words, then each rule with the ratings behind it."""
    prefs, crew = view.prefs, view.crew
    stories = [r for r in view.ratings.values() if r.target == "story"]
    up = sum(1 for r in stories if r.vote > 0)
    lines = [f"{crew}: {len(stories)} stories rated ({up} up, {len(stories) - up} down)"]
    if view.problem:
        lines.append(f"warning: {view.problem}")
    lines += [prefs.summary(), ""]
    for name, rules in (("up", prefs.up()), ("down", prefs.down())):
        if not rules:
            continue
        lines.append(f"{name}:")
        for rule in rules:
            behind = ", ".join(f"#{r.id}" for r in view.behind(rule.ratings))
            lines.append(
                f"  {_clip(rule.words(), 40):<40} {rule.weight:+.1f}  {rule.because()}"
                f"  (ratings {behind})"
            )
    if view.ratings:
        lines += ["", "ratings:"]
        for r in view.ratings.values():
            lines.append(f"  #{r.id:<4} {r.rated_at[:16]} {r.origin:<4} {_rating_words(r)}")
    lines += [
        "",
        f'remove a rule: scoutcrew prefs {crew} --remove "RULE"; a rating: --remove-rating ID; '
        f"everything: scoutcrew prefs {crew} --reset",
    ]
    return "\n".join(lines)


def _rating_words(r: Rating) -> str:
    vote = {1: "up  ", -1: "down", 0: "removed"}.get(r.vote, str(r.vote))
    if r.target == "story":
        run = f" (run {r.run_id})" if r.run_id else ""
        return f'{vote} the story "{_clip(r.title)}"{run}'
    if r.target == "forget":
        return f'removed the rule "{r.title or r.value}"'
    return f"{vote} the {r.target} {r.title or r.value}"


def _clip(text: str, limit: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
