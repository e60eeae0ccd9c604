"""`scoutcrew mcp`: an MCP server over stdio (the official `mcp` SDK's FastMCP).

Tools: list_crews, run_crew, latest_report, search_reports, rate_story. A run is started in its own
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
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, ValidationError

from ..config.project import Project
from ..errors import BadInput, InputsNeeded, RunLocked, ScoutcrewError, UnknownCrew
from .library import Library
from .ratings import Ratings
from .runner import RunManager, run_outcome

if TYPE_CHECKING:
    from mcp.server.fastmcp import FastMCP
    from mcp.types import CallToolResult, ContentBlock

MAX_RESULTS = 50
WAIT_POLL = 0.25  # seconds between looks at a running child (the wait stays cancellable)


class ToolRefused(Exception):
    """A tool call that cannot be done; its message is what the client reads."""

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.details = details


def build_server(project: Project, manager: RunManager) -> FastMCP:
    """The FastMCP server for one project; `manager` starts the runs."""
    from mcp.server.fastmcp import FastMCP
    from mcp.server.fastmcp.exceptions import ToolError
    from mcp.types import CallToolResult, TextContent

    library = Library(project)
    ratings = Ratings(project, "mcp")

    class Server(FastMCP):
        # FastMCP declares content or a dict; its low-level server also passes a whole
        # CallToolResult on as it is, which is how a refused call says why.
        async def call_tool(  # type: ignore[override]
            self, name: str, arguments: dict[str, Any]
        ) -> Sequence[ContentBlock] | dict[str, Any] | CallToolResult:
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
            "run_id": (entry.data.get("meta") or {}).get("run_id"),
            "stories": _stories(entry.data),
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

    @tool
    def rate_story(
        run: str,
        vote: Literal["up", "down"],
        story: str | int | None = None,
        outlet: str | None = None,
        term: str | None = None,
    ) -> dict[str, Any]:
        """Rate a story of a report up or down, as its reader: the crew's next reports rank
        their stories by what its ratings teach. `run` is the run id of the report
        (latest_report gives it, with the stories' numbers and ids) or a crew's name for its
        latest report; `story` is a story's number in that report or its id. Instead of a
        story, give `outlet` (a host such as example.org) or `term` (a word or phrase) to rate
        that for the whole crew."""
        given = [x for x in (story, outlet, term) if x is not None]
        if len(given) != 1:
            raise ToolRefused("rate_story: give exactly one of story, outlet or term")
        if library.is_crew(run) and story is not None:
            run = ratings.latest_run(run)
        if story is not None:
            rated = ratings.rate_story(run, str(story), vote)
        else:
            crew = run if library.is_crew(run) else ratings.crew_of(run)
            kind, value = ("outlet", outlet) if outlet is not None else ("term", term or "")
            rated = ratings.rate_rule(crew, kind, value, vote)
        return {
            "crew": rated.crew,
            "rated": str(rated),
            "run_id": rated.run_id,
            "story_id": rated.story_id,
            "learned": ratings.overview(rated.crew).prefs.summary(),
        }

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


def _stories(data: dict[str, Any]) -> list[dict[str, Any]]:
    """A report's stories as rate_story numbers them: its Stories, then "Also in the news"."""
    told = [dict(s, aside=False) for s in data.get("stories") or [] if isinstance(s, dict)]
    aside = (data.get("preferences") or {}).get("also_in_news") or []
    told += [dict(s, aside=True) for s in aside if isinstance(s, dict)]
    return [
        {"number": n, "id": s.get("id"), "title": s.get("title"), "also_in_news": s["aside"]}
        for n, s in enumerate(told, 1)
    ]


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
