"""Ratings as the web app and the MCP server take them: the project's store opened for each
change, and every rating marked with where it came from ("web", "mcp")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from ..config.project import Project
from ..prefs import ratings as kept
from ..prefs.ratings import Overview, Rated

if TYPE_CHECKING:
    from ..store.db import Store

T = TypeVar("T")
STORE_FILE = "scoutcrew.sqlite"


class Ratings:
    """A project's ratings, from one front end (`origin`)."""

    def __init__(self, project: Project, origin: str):
        self.project = project
        self.origin = origin

    @contextmanager
    def _store(self) -> Iterator[Store]:
        from ..store.db import Store

        with Store.open(self.project.data_dir / STORE_FILE) as store:
            yield store

    def _read(self, action: Callable[[Store], T], empty: T) -> T:
        """Read without creating a store where no run ever wrote one."""
        if not (self.project.data_dir / STORE_FILE).is_file():
            return empty
        with self._store() as store:
            return action(store)

    def story_votes(self, crew: str) -> dict[str, int]:
        """The reader's vote on each story of the crew they rated."""

        def votes(store: Store) -> dict[str, int]:
            ratings, _bad = kept.load_ratings(store, crew)
            return {r.value: r.vote for r in ratings if r.target == "story"}

        return self._read(votes, {})

    def rate_story(self, run: str, story: str, vote: str) -> Rated:
        with self._store() as store:
            return kept.rate_story(store, run, story, vote, origin=self.origin)

    def crew_of(self, run: str) -> str:
        """The crew of a run that wrote a report."""
        with self._store() as store:
            return str(kept.reported_run(store, run)["crew"])

    def latest_run(self, crew: str) -> str:
        with self._store() as store:
            return kept.latest_reported_run(store, crew)

    def rate_rule(self, crew: str, kind: str, value: str, vote: str) -> Rated:
        with self._store() as store:
            return kept.rate_rule(store, crew, kind, value, vote, origin=self.origin)

    def overview(self, crew: str) -> Overview:
        from ..prefs.model import Preferences

        return self._read(
            lambda store: kept.overview(store, crew), Overview(crew, Preferences(crew), {})
        )

    def forget_rule(self, crew: str, rule: str) -> str:
        with self._store() as store:
            return kept.forget_rule(store, crew, rule, origin=self.origin)

    def remove_rating(self, crew: str, rating_id: int) -> None:
        with self._store() as store:
            kept.remove_rating(store, crew, rating_id)

    def reset(self, crew: str) -> int:
        with self._store() as store:
            return kept.reset(store, crew)
