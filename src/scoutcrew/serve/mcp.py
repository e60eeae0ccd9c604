"""`scoutcrew mcp`: an MCP server over stdio (the official `mcp` SDK's FastMCP).

Tools: list_crews, run_crew, latest_report, search_reports. A run is started in its own
process with the crew's lock, exactly as the web app and the scheduler start one; its output
goes to a log file, never to stdout (which carries the protocol).

Anything a tool cannot do (an unknown crew, a refused or failed run, an argument out of range)
is a tool error (`isError: true`) whose text says what happened and what to do, in the
client's terms: no traceback, no path of this machine.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field, ValidationError

from ..config.project import Project
from ..errors import BadInput, InputsNeeded, RunLocked, ScoutcrewError, UnknownCrew
from .library import Library
from .runner import RunManager, run_outcome

MAX_RESULTS = 50
WAIT_POLL = 0.25  # seconds between looks at a running child (the wait stays cancellable)


class ToolRefused(Exception):
    """A tool call that cannot be done; its message is what the client reads."""

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.details = details


def build_server(project: Project, manager: RunManager) -> Any:
    """The FastMCP server for one project; `manager` starts the runs."""
    from mcp.server.fastmcp import FastMCP
    from mcp.server.fastmcp.exceptions import ToolError
    from mcp.types import CallToolResult, TextContent

    library = Library(project)

    class Server(FastMCP):
        async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
            try:
                return await super().call_tool(name, arguments)
            except ToolError as exc:
                cause = exc.__cause__
                if isinstance(cause, ValidationError):
                    message = _argument_problems(name, cause)
                elif isinstance(cause, ToolRefused | ScoutcrewError):
                    message = str(cause)
                else:
                    raise
                details = getattr(cause, "details", None)
                text = message + (f"\n{json.dumps(details)}" if details else "")
                return CallToolResult(
                    content=[TextContent(type="text", text=text)],
                    structuredContent=details,
                    isError=True,
                )

    server = Server(
        "scoutcrew",
        instructions=(
            "scoutcrew runs local research crews and writes cited reports. List the crews, "
            "run one (it can take minutes on local models), read the latest report of a crew, "
            "or search past reports. Every report carries a trust line and its flags: pass "
            "them on to the user."
        ),
    )

    def tool(fn: Callable[..., Any]) -> Callable[..., Any]:
        server.add_tool(fn, description=_description(fn))
        return fn

    def known_crew(crew: str) -> str:
        if not library.is_crew(crew):
            names = ", ".join(library.crew_names()) or "none"
            raise ToolRefused(f"no crew {ascii(crew[:60])}: the crews are {names}")
        return crew

    @tool
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

    @tool
    async def run_crew(crew: str, inputs: dict[str, str] | None = None) -> dict[str, Any]:
        """Run a crew now (in its own process, with the crew's lock) and wait for it.

        Returns the status (ok, partial or nothing-new), the report's path, its summary and
        its trust line (and flags). A refused or failed run is an error that says why.
        """
        known_crew(crew)
        try:
            started = await asyncio.to_thread(manager.start, crew, dict(inputs or {}))
        except InputsNeeded as exc:
            needs = ", ".join(f"'{n}'" for n in exc.names)
            raise ToolRefused(
                f"crew '{crew}' needs the input {needs}: call run_crew again with inputs, "
                f'e.g. {{"{exc.names[0]}": "..."}}'
            ) from exc
        except (RunLocked, UnknownCrew, BadInput) as exc:
            raise ToolRefused(f"refused: {exc}") from exc
        # Polled rather than awaited in a thread, so a client that hangs up cancels the wait
        # and the server's shutdown stops the run.
        while started.alive:
            await asyncio.sleep(WAIT_POLL)
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
        if outcome["status"] not in {"ok", "partial", "nothing-new"}:
            run = f" (run {result['run_id']})" if result["run_id"] else ""
            why = result.get("error") or f"exit status {outcome.get('exit_code')}"
            raise ToolRefused(f"crew '{crew}' {outcome['status']}{run}: {why}", result)
        return result

    @tool
    def latest_report(crew: str) -> dict[str, Any]:
        """The latest report of a crew: path, title, date, summary, trust line, flags, the
        cited sources and the full Markdown."""
        entry = library.latest(known_crew(crew))
        if entry is None:
            raise ToolRefused(f"crew '{crew}' has no report yet: run_crew writes one")
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

    @tool
    def search_reports(
        query: str,
        crew: str | None = None,
        limit: Annotated[int, Field(ge=1, le=MAX_RESULTS)] = 10,
    ) -> list[dict[str, Any]]:
        """Past reports (of one crew, or all) whose title, findings or source titles contain
        every word of the query, newest first; at most `limit` (1 to 50) of them."""
        return library.search(query, known_crew(crew) if crew is not None else None, limit)

    return server


def _description(fn: Callable[..., Any]) -> str:
    """A tool's docstring as clients show it: no source indentation, paragraphs on one line."""
    text = inspect.cleandoc(fn.__doc__ or "")
    return "\n\n".join(" ".join(part.split()) for part in text.split("\n\n"))


def _argument_problems(tool: str, exc: ValidationError) -> str:
    """One line per bad argument, in the words of the tool's schema."""
    problems = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) or "arguments"
        given = err.get("input")
        shown = f" (got {json.dumps(given)[:60]})" if err["type"] != "missing" else ""
        problems.append(f"{name}: {err['msg']}{shown}")
    return f"{tool}: invalid arguments: " + "; ".join(problems)


def _flags(flags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"kind": f.get("kind"), "detail": f.get("detail"), "sentence": f.get("sentence")}
        for f in flags
    ]


def serve_stdio(project: Project, *, backend: str | None = None) -> None:
    """Serve MCP on stdin/stdout until the client closes it; stop any run still going.

    A client that hangs up will not read a run's result: its runs are interrupted at once
    (recorded as interrupted, so `scoutcrew resume RUN` continues them).
    """
    manager = RunManager(project, backend=backend)
    try:
        build_server(project, manager).run("stdio")
    finally:
        manager.shutdown(finish_timeout=0)
