"""What the web app and the MCP server read: crews, their report folders and their reports.

Every path a request names is checked here: a crew must be one of the project's crews and a
report a report base name of that crew, so `../`, absolute paths and unknown names find
nothing (and the caller answers 404) without touching the file system outside the report
folders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config.project import Project
from ..report.index import CREW_NAME, ReportEntry, ReportReader, crew_reports, find_report


@dataclass
class CrewInfo:
    """One crew as the Crews page shows it."""

    name: str
    description: str
    folder: Path
    schedule: str | None = None
    timezone: str | None = None
    next_run: datetime | None = None
    last_status: str | None = None
    last_started: str | None = None
    last_run_id: str | None = None
    needs: tuple[str, ...] = ()
    inputs: dict[str, str] | None = None
    valid: bool = True


class Library:
    """The project's crews and reports, read fresh on every call (YAML edits show at once)."""

    def __init__(self, project: Project):
        self.project = project
        self.reader = ReportReader()
        self._folders: dict[str, tuple[tuple[int, int], Path]] = {}

    # -- crews ---------------------------------------------------------------------------

    def crew_names(self) -> list[str]:
        return [n for n in self.project.crew_names() if CREW_NAME.fullmatch(n)]

    def is_crew(self, name: str) -> bool:
        return bool(CREW_NAME.fullmatch(name)) and name in self.crew_names()

    def crews(self, now: datetime | None = None) -> list[CrewInfo]:
        """Every crew: description, schedule and next fire time, last run and its status."""
        from ..config.schema import load_config
        from ..schedule.daemon import entries_for, load_schedules

        config = load_config(self.project)
        loaded = load_schedules(self.project)
        entries = {e.crew: e for e in entries_for(self.project, loaded.schedules, now)}
        last = self._last_runs()
        out = []
        for name in self.crew_names():
            crew = config.crews.get(name)
            info = CrewInfo(
                name=name,
                description=crew.description if crew else "(invalid: run `scoutcrew validate`)",
                folder=self.folder(name),
                valid=crew is not None,
            )
            if crew is not None:
                info.needs = tuple(config.required_inputs(name))
                info.inputs = {k: str(v) for k, v in (crew.inputs or {}).items()}
            entry = entries.get(name)
            if entry is not None:
                info.schedule, info.timezone, info.next_run = (
                    entry.cron,
                    entry.timezone,
                    entry.next_run,
                )
            row = last.get(name)
            if row is not None:
                info.last_status, info.last_started, info.last_run_id = (
                    row.status,
                    row.started_at,
                    row.id,
                )
            out.append(info)
        return out

    def folder(self, crew: str) -> Path:
        """The folder the crew's reports are written to (its `output.dir`, else reports/)."""
        try:
            st = self.project.crew_file(crew).stat()
            key = (st.st_mtime_ns, st.st_size)
        except OSError:
            key = (0, 0)
        cached = self._folders.get(crew)
        if cached is not None and cached[0] == key:
            return cached[1]
        configured = None
        try:
            from ..config.schema import load_config

            crew_config = load_config(self.project, only_crew=crew).crews.get(crew)
            configured = crew_config.output.dir if crew_config else None
        except Exception:  # an invalid project still lists the default folder's reports
            configured = None
        root = self.project.root
        base = (root / configured).resolve() if configured else self.project.reports_dir
        self._folders[crew] = (key, base / crew)
        return base / crew

    # -- reports -------------------------------------------------------------------------

    def reports(self, crew: str | None = None, limit: int | None = None) -> list[ReportEntry]:
        """Reports of one crew (or all crews), newest first; at most `limit` of them."""
        names = [crew] if crew else self.crew_names()
        out: list[ReportEntry] = []
        for name in names:
            if self.is_crew(name):
                out += crew_reports(self.folder(name), name, limit=limit, reader=self.reader)
        out.sort(key=lambda e: (e.generated_at, e.base), reverse=True)
        return out[:limit] if limit is not None else out

    def by_crew(self, limit: int | None = None) -> dict[str, list[ReportEntry]]:
        return {
            name: crew_reports(self.folder(name), name, limit=limit, reader=self.reader)
            for name in self.crew_names()
        }

    def report(self, crew: str, base: str) -> ReportEntry | None:
        if not self.is_crew(crew):
            return None
        return find_report(self.folder(crew), crew, base, self.reader)

    def latest(self, crew: str) -> ReportEntry | None:
        found = self.reports(crew, limit=1)
        return found[0] if found else None

    def report_for_path(self, path: str | None) -> ReportEntry | None:
        """The report whose Markdown file a run record names, if it is one of ours."""
        if not path:
            return None
        md = Path(path)
        crew = md.parent.name
        if not self.is_crew(crew) or md.parent.resolve() != self.folder(crew).resolve():
            return None
        return find_report(self.folder(crew), crew, md.stem, self.reader)

    def search(self, query: str, crew: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        """Reports whose title, findings or source titles contain every word of `query`."""
        words = [w.lower() for w in re.findall(r"\w+", query)]
        hits: list[dict[str, Any]] = []
        for entry in self.reports(crew):
            haystack = " ".join(
                [entry.title]
                + [str(f.get("markdown") or "") for f in entry.data.get("findings") or []]
                + [str(s.get("title") or "") for s in entry.sources]
            ).lower()
            if words and all(w in haystack for w in words):
                hits.append(
                    {
                        "crew": entry.crew,
                        "report": entry.base,
                        "title": entry.title,
                        "generated_at": entry.generated_at.isoformat(),
                        "report_path": str(entry.md_path),
                        "summary": entry.summary,
                        "trust": entry.trust_line,
                    }
                )
            if len(hits) >= limit:
                break
        return hits

    # -- runs ----------------------------------------------------------------------------

    def _last_runs(self) -> dict[str, Any]:
        store_path = self.project.data_dir / "scoutcrew.sqlite"
        if not store_path.is_file():
            return {}
        from ..store.db import Store
        from ..store.runs import last_run, mark_dead_runs

        with Store.open(store_path) as store:
            mark_dead_runs(store, self.project)  # a killed run is not shown as running
            rows = {name: last_run(store, name) for name in self.crew_names()}
        return {k: v for k, v in rows.items() if v is not None}

    def runs(self, crew: str | None = None, limit: int = 50) -> list[Any]:
        store_path = self.project.data_dir / "scoutcrew.sqlite"
        if not store_path.is_file():
            return []
        from ..store.db import Store
        from ..store.runs import list_runs, mark_dead_runs

        with Store.open(store_path) as store:
            mark_dead_runs(store, self.project)
            return list_runs(store, crew, limit)

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run with its tasks and calls; None for an unknown or ambiguous id."""
        if not re.fullmatch(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}", run_id):
            return None
        store_path = self.project.data_dir / "scoutcrew.sqlite"
        if not store_path.is_file():
            return None
        from ..store.db import Store
        from ..store.runs import RunNotFound, get_run, mark_dead_runs

        with Store.open(store_path) as store:
            mark_dead_runs(store, self.project)
            try:
                return get_run(store, run_id)
            except RunNotFound:
                return None


def now() -> datetime:
    return datetime.now(UTC)
