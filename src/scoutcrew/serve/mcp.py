"""`scoutcrew mcp`: an MCP server over stdio (the official `mcp` SDK's FastMCP).

Tools: list_crews, run_crew, latest_report, search_reports. A run is started in its own
process with the crew's lock, exactly as the web app and the scheduler start one; its output
goes to a log file, never to stdout (which carries the protocol).
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..config.project import Project
from ..errors import RunLocked, UnknownCrew
from .library import Library
from .runner import RunManager, run_outcome


def build_server(project: Project, manager: RunManager) -> Any:
    """The FastMCP server for one project; `manager` starts the runs."""
    from mcp.server.fastmcp import FastMCP

    library = Library(project)
    server = FastMCP(
        "scoutcrew",
        instructions=(
            "scoutcrew runs local research crews and writes cited reports. List the crews, "
            "run one (it can take minutes on local models), read the latest report of a crew, "
            "or search past reports. Every report carries a trust line and its flags: pass "
            "them on to the user."
        ),
    )

    @server.tool()
    def list_crews() -> list[dict[str, Any]]:
        """List the project's crews: description, schedule, next run, last run and its status,
        and the inputs a run needs."""
        return [
            {
                "name": c.name,
                "description": c.description,
                "schedule": c.schedule,
                "next_run": c.next_run.isoformat() if c.next_run else None,
                "last_status": c.last_status,
                "last_started": c.last_started,
                "needs_inputs": list(c.needs),
                "default_inputs": c.inputs or {},
            }
            for c in library.crews()
        ]

    @server.tool()
    async def run_crew(crew: str, inputs: dict[str, str] | None = None) -> dict[str, Any]:
        """Run a crew now (in its own process, with the crew's lock) and wait for it.

        Returns the status, the report's path, its summary and its trust line (and flags).
        """
        try:
            started = await asyncio.to_thread(manager.start, crew, dict(inputs or {}))
        except (RunLocked, UnknownCrew) as exc:
            return {"crew": crew, "status": "refused", "error": str(exc)}
        await asyncio.to_thread(started.process.wait)
        outcome = await asyncio.to_thread(run_outcome, project, started)
        entry = library.report_for_path(outcome.get("report"))
        result: dict[str, Any] = {
            "crew": crew,
            "status": outcome["status"],
            "run_id": outcome.get("run_id"),
            "report_path": outcome.get("report"),
            "summary": entry.summary if entry else "",
            "trust": entry.trust_line if entry else "",
            "flags": _flags(entry.flags) if entry else [],
        }
        if outcome.get("error"):
            result["error"] = outcome["error"]
        if outcome["status"] == "nothing-new":
            result["message"] = "nothing new since the crew's last run; no report was written"
        return result

    @server.tool()
    def latest_report(crew: str) -> dict[str, Any]:
        """The latest report of a crew: path, title, date, summary, trust line, flags, the
        cited sources and the full Markdown."""
        if not library.is_crew(crew):
            return {"crew": crew, "error": f"no crew '{crew}'; list_crews names them"}
        entry = library.latest(crew)
        if entry is None:
            return {"crew": crew, "error": "this crew has no report yet; run_crew writes one"}
        try:
            markdown = entry.md_path.read_text(encoding="utf-8")
        except OSError:
            markdown = ""
        return {
            "crew": crew,
            "report_path": str(entry.md_path),
            "title": entry.title,
            "generated_at": entry.generated_at.isoformat(),
            "summary": entry.summary,
            "trust": entry.trust_line,
            "flags": _flags(entry.flags),
            "sources": [
                {"id": s.get("id"), "title": s.get("title"), "url": s.get("url")}
                for s in entry.sources
                if s.get("cited")
            ],
            "markdown": markdown,
        }

    @server.tool()
    def search_reports(
        query: str, crew: str | None = None, limit: int = 10
    ) -> list[dict[str, Any]]:
        """Past reports (of one crew, or all) whose title, findings or source titles contain
        every word of the query, newest first."""
        return library.search(query, crew, max(1, min(limit, 50)))

    return server


def _flags(flags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"kind": f.get("kind"), "detail": f.get("detail"), "sentence": f.get("sentence")}
        for f in flags
    ]


def serve_stdio(project: Project, *, backend: str | None = None) -> None:
    """Serve MCP on stdin/stdout until the client closes it; stop any run still going."""
    manager = RunManager(project, backend=backend)
    try:
        build_server(project, manager).run("stdio")
    finally:
        manager.shutdown()
