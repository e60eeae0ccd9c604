"""Where a crew's ratings are kept: the store's `preferences` table, one row per rated story,
outlet or term (the latest vote counts) and per learned rule the reader removed, each with when
and from where (cli, web, mcp). Nothing else about the reader is kept.

A story is rated in the report of a run: by its number in that report (its Stories, then its
"Also in the news") or by its id. What it was about is read from the run's record (the sources
it was given) and kept with the rating, so the model never needs the report again.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadRating, ScoutcrewError, UnknownStory
from ..store.db import utcnow
from .features import Features, Part, phrase_key, story_features
from .model import Preferences, Rating, learn

if TYPE_CHECKING:
    from ..store.db import Store

ORIGINS = ("cli", "web", "mcp")
VOTES = {"up": 1, "down": -1}
MAX_VALUE_CHARS = 200
REPORTED = ("ok", "partial")


@dataclass
class Rated:
    """A rating as it was kept, for the front end to confirm."""

    crew: str
    what: str  # 'the story "..."', 'the term "crypto"', 'the outlet lab-notes.example'
    vote: int
    rating_id: int
    run_id: str | None = None
    story_id: str | None = None

    def __str__(self) -> str:
        return f"{self.crew}: {self.what} rated {'up' if self.vote > 0 else 'down'}"


def parse_vote(vote: str) -> int:
    value = VOTES.get(str(vote).strip().lower())
    if value is None:
        raise BadRating(f"the vote is 'up' or 'down', not {ascii(str(vote)[:20])}")
    return value


def _origin(origin: str) -> str:
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {ORIGINS}")
    return origin


# -- the runs and reports ratings refer to -------------------------------------------------


def reported_run(store: Store, run: str) -> dict[str, Any]:
    """The run a rating names (an id or a unique prefix), which must have written a report."""
    from ..store.runs import get_run

    if not re.fullmatch(r"[0-9a-f-]{1,40}", run.strip()):
        raise UnknownStory(f"no run {ascii(run[:40])}: a run id looks like 20261123-070012-1a2b3c")
    found = get_run(store, run.strip())
    if found["status"] not in REPORTED or not found.get("report"):
        raise UnknownStory(
            f"run {found['id']} wrote no report ({found['status']}), so it has no story to "
            f"rate: `scoutcrew runs {found['crew']}` lists the runs with a report"
        )
    return found


def latest_reported_run(store: Store, crew: str) -> str:
    """The id of the crew's latest run that wrote a report."""
    rows = store.execute(
        "SELECT id FROM runs WHERE crew = ? AND status IN ('ok', 'partial') AND report IS NOT NULL"
        " ORDER BY started_at DESC, rowid DESC LIMIT 1",
        [crew],
    )
    if not rows:
        raise UnknownStory(f"crew {crew} has no report yet: `scoutcrew run {crew}` writes one")
    return str(rows[0]["id"])


def report_stories(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The stories of a run's report, numbered as `scoutcrew rate RUN` lists them: its Stories,
    then what it put in "Also in the news"."""
    path = Path(str(run["report"])).with_suffix(".json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UnknownStory(
            f"the report of run {run['id']} ({path.name}) cannot be read, so its stories "
            f"cannot be rated: rate a story of a later run of {run['crew']}"
        ) from exc
    stories = [dict(s, aside=False) for s in data.get("stories") or [] if isinstance(s, dict)]
    aside = (data.get("preferences") or {}).get("also_in_news") or []
    stories += [dict(s, aside=True) for s in aside if isinstance(s, dict)]
    return [s for s in stories if isinstance(s.get("id"), str) and s["id"]]


def find_story(run: dict[str, Any], story: str) -> dict[str, Any]:
    """A story of the run's report by its number (1, 2, ...) or its id (or a unique prefix)."""
    stories = report_stories(run)
    wanted = str(story).strip()
    if wanted.isdigit() and 1 <= int(wanted) <= len(stories):
        return stories[int(wanted) - 1]
    found = [s for s in stories if s["id"] == wanted] or [
        s for s in stories if len(wanted) >= 4 and s["id"].startswith(wanted)
    ]
    if len(found) == 1:
        return found[0]
    told = f"1 to {len(stories)}" if stories else "none"
    raise UnknownStory(
        f"the report of run {run['id']} has no story {ascii(wanted[:40])} (its stories: {told}); "
        f"`scoutcrew rate {run['id']}` lists them with their numbers and ids"
    )


def entry_features(store: Store, run: dict[str, Any], entry: dict[str, Any]) -> Features:
    """What a story of a report was about, read from the sources the run was given."""
    given = {
        str(s.get("id")): s
        for s in ((run.get("evidence") or {}).get("sources") or [])
        if isinstance(s, dict)
    }
    parts = []
    for sid in entry.get("sources") or []:
        source = given.get(str(sid))
        if source is not None:
            links = [str(source.get("url") or ""), *(source.get("links") or [])]
            parts.append(Part(str(source.get("title") or ""), str(source.get("text") or ""), links))
    if not parts:  # an item left out of the notes: its text is in the store
        url = str(entry.get("url") or "")
        rows = store.execute("SELECT text FROM items WHERE url = ?", [url]) if url else []
        text = str(rows[0]["text"]) if rows else ""
        parts.append(Part(str(entry.get("title") or ""), text, [url] if url else []))
    return story_features(
        entry["id"],
        parts,
        status=str(entry.get("status") or "new"),
        disagree=bool(entry.get("disagreements") or entry.get("disagree")),
    )


# -- keeping ratings -------------------------------------------------------------------------


def keep_rating(
    store: Store,
    crew: str,
    *,
    target: str,
    value: str,
    vote: int,
    origin: str,
    title: str = "",
    features: dict[str, str] | None = None,
    run_id: str | None = None,
) -> int:
    """Keep one rating (the latest of a target counts); return its id."""
    with store.transaction() as conn:
        if target == "story":  # the story rated again (an update of it): what it is about grows
            row = conn.execute(
                "SELECT features FROM preferences WHERE crew = ? AND target = ? AND value = ?",
                (crew, target, value),
            ).fetchone()
            try:
                before = json.loads(row[0]) if row else {}
            except ValueError:
                before = {}
            if isinstance(before, dict):
                features = {**before, **(features or {})}
        if target in {"outlet", "term"}:  # rating a rule again brings it back if removed
            conn.execute(
                "DELETE FROM preferences WHERE crew = ? AND target = 'forget' AND value = ?",
                (crew, value),
            )
        conn.execute(
            "INSERT INTO preferences (crew, target, value, vote, title, features, run_id,"
            " rated_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(crew, target, value) DO UPDATE SET vote = excluded.vote,"
            " title = excluded.title, features = excluded.features, run_id = excluded.run_id,"
            " rated_at = excluded.rated_at, origin = excluded.origin",
            (
                crew,
                target,
                value,
                vote,
                title[:MAX_VALUE_CHARS],
                json.dumps(features or {}),
                run_id,
                utcnow(),
                _origin(origin),
            ),
        )
        row = conn.execute(
            "SELECT id FROM preferences WHERE crew = ? AND target = ? AND value = ?",
            (crew, target, value),
        ).fetchone()
    return int(row[0])


def rate_story(store: Store, run: str, story: str, vote: str | int, *, origin: str) -> Rated:
    """Keep the reader's up or down on one story of a run's report."""
    value = vote if isinstance(vote, int) and vote in (1, -1) else parse_vote(str(vote))
    found = reported_run(store, run)
    entry = find_story(found, story)
    features = entry_features(store, found, entry)
    title = str(entry.get("title") or entry["id"])
    rating_id = keep_rating(
        store,
        found["crew"],
        target="story",
        value=entry["id"],
        vote=value,
        origin=origin,
        title=title,
        features=features.keys,
        run_id=found["id"],
    )
    short = title if len(title) <= 80 else title[:77] + "..."
    return Rated(found["crew"], f'the story "{short}"', value, rating_id, found["id"], entry["id"])


def rate_rule(
    store: Store, crew: str, kind: str, value: str, vote: str | int, *, origin: str
) -> Rated:
    """Keep the reader's up or down on an outlet (its host) or a term (a word or a phrase)."""
    number = vote if isinstance(vote, int) and vote in (1, -1) else parse_vote(str(vote))
    text = " ".join(str(value).split())
    if kind not in {"outlet", "term"}:
        raise BadRating(f"a rule is on an outlet or a term, not {ascii(kind[:20])}")
    key = phrase_key(kind, text)
    if not text or len(text) > MAX_VALUE_CHARS or key.endswith(":"):
        raise BadRating(
            f"give the {kind} in words"
            + (" (a stopword alone matches nothing)" if text and kind == "term" else "")
            + f": at most {MAX_VALUE_CHARS} characters"
        )
    label = key.split(":", 1)[1] if kind == "outlet" else text
    rating_id = keep_rating(
        store, crew, target=kind, value=key, vote=number, origin=origin, title=label
    )
    what = f"the outlet {label}" if kind == "outlet" else f'the term "{label}"'
    return Rated(crew, what, number, rating_id)


# -- reading and forgetting -------------------------------------------------------------------


def load_ratings(store: Store, crew: str) -> tuple[list[Rating], int]:
    """The crew's ratings, and how many rows could not be read (left out)."""
    rows = store.execute(
        "SELECT id, target, value, vote, title, features, rated_at, origin, run_id"
        " FROM preferences WHERE crew = ? ORDER BY id",
        [crew],
    )
    out, bad = [], 0
    for row in rows:
        try:
            features = json.loads(row["features"] or "{}")
            if not isinstance(features, dict) or row["target"] not in {
                "story",
                "outlet",
                "term",
                "forget",
            }:
                raise ValueError("not a rating")
            out.append(
                Rating(
                    id=int(row["id"]),
                    target=str(row["target"]),
                    value=str(row["value"]),
                    vote=int(row["vote"]),
                    title=str(row["title"] or ""),
                    features={str(k): str(v) for k, v in features.items()},
                    rated_at=str(row["rated_at"] or ""),
                    origin=str(row["origin"] or ""),
                    run_id=row["run_id"],
                )
            )
        except (TypeError, ValueError):
            bad += 1
    return out, bad


def load_preferences(store: Store, crew: str) -> tuple[Preferences | None, str]:
    """The crew's preference model, or None; and what went wrong reading it, in words.

    A table that cannot be read never stops a run: the run ranks as with no ratings, and the
    message says so and how to start again."""
    try:
        ratings, bad = load_ratings(store, crew)
    except (sqlite3.Error, ScoutcrewError) as exc:
        return None, (
            f"the preferences of {crew} could not be read ({type(exc).__name__}: "
            f"{str(exc)[:160]}), so this run ranks as with no ratings; "
            f"`scoutcrew prefs {crew} --reset` starts them again"
        )
    problem = ""
    if bad:
        problem = (
            f"{bad} of the preferences of {crew} could not be read and were left out; "
            f"`scoutcrew prefs {crew}` lists the rest"
        )
    prefs = learn(crew, ratings)
    return (prefs if prefs else None), problem


def forget_rule(store: Store, crew: str, rule: str, *, origin: str) -> str:
    """Remove one learned rule (by its words or key): it is not learned again until a reset.
    A rule the reader set (an outlet or a term) is removed with its rating."""
    prefs, _problem = load_preferences(store, crew)
    wanted = " ".join(rule.split()).lower()
    rules = list(prefs.rules.values()) if prefs else []
    match = [
        r
        for r in rules
        if wanted in {r.key.lower(), r.label.lower(), r.words().lower()}
        or (r.kind == "outlet" and wanted == f"outlet:{r.label.lower()}")
    ]
    if not match:
        shown = "; ".join(r.words() for r in rules[:12]) or "none"
        raise UnknownStory(
            f"{crew} has no rule {ascii(rule[:60])} (its rules: {shown}); "
            f"`scoutcrew prefs {crew}` lists them"
        )
    for found in match:
        if found.set_by_reader:
            store.execute(
                "DELETE FROM preferences WHERE crew = ? AND target IN ('outlet', 'term')"
                " AND value = ?",
                [crew, found.key],
            )
        elif found.kind == "story":
            store.execute(
                "DELETE FROM preferences WHERE crew = ? AND target = 'story' AND value = ?",
                [crew, found.key.split(":", 1)[1]],
            )
        else:
            keep_rating(
                store,
                crew,
                target="forget",
                value=found.key,
                vote=0,
                origin=origin,
                title=found.label,
            )
    return ", ".join(r.words() for r in match)


def remove_rating(store: Store, crew: str, rating_id: int) -> None:
    """Remove one rating of the crew."""
    rows = store.execute(
        "SELECT id FROM preferences WHERE crew = ? AND id = ?", [crew, int(rating_id)]
    )
    if not rows:
        raise UnknownStory(
            f"{crew} has no rating #{rating_id}: `scoutcrew prefs {crew}` lists its ratings"
        )
    store.execute("DELETE FROM preferences WHERE crew = ? AND id = ?", [crew, int(rating_id)])


def reset(store: Store, crew: str) -> int:
    """Forget every rating and removed rule of the crew; a damaged table is made anew."""
    try:
        rows = store.execute("SELECT COUNT(*) AS n FROM preferences WHERE crew = ?", [crew])
        store.execute("DELETE FROM preferences WHERE crew = ?", [crew])
        return int(rows[0]["n"])
    except ScoutcrewError:
        raise
    except sqlite3.Error:
        from ..store.db import migrations

        script = next(m for m in migrations if "CREATE TABLE preferences" in m)
        with store.transaction() as conn:
            conn.execute("DROP TABLE IF EXISTS preferences")
            conn.execute(script.strip().rstrip(";"))
        return 0


@dataclass
class Overview:
    """What a crew's reader taught it: the rules, each with the ratings behind it."""

    crew: str
    prefs: Preferences
    ratings: dict[int, Rating]
    problem: str = ""

    def behind(self, rule_ratings: list[int]) -> list[Rating]:
        return [self.ratings[i] for i in rule_ratings if i in self.ratings]

    @property
    def removed(self) -> list[Rating]:
        return [r for r in self.ratings.values() if r.target == "forget"]


def overview(store: Store, crew: str) -> Overview:
    """The crew's rules and ratings, for `scoutcrew prefs` and the web app's page."""
    try:
        ratings, bad = load_ratings(store, crew)
    except (sqlite3.Error, ScoutcrewError) as exc:
        problem = f"the preferences could not be read ({type(exc).__name__}: {str(exc)[:160]})"
        return Overview(crew, Preferences(crew), {}, problem)
    problem = f"{bad} rows could not be read and are left out" if bad else ""
    return Overview(crew, learn(crew, ratings), {r.id: r for r in ratings}, problem)
