"""`scoutcrew mcp` when things go wrong, through the MCP SDK's own stdio client.

Every refusal and failure is a tool error (`isError: true`) in words a client can pass on, with
no path of this machine; and a run the server started stops when the server is killed or its
client hangs up.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import stdio_client
from servekit import Site, fake_ollama, mcp_params

from scoutcrew.store.db import Store
from scoutcrew.store.runs import list_runs
from scoutcrew.testing.fake_ollama import FakeOllama


def _text(call: Any) -> str:
    return "\n".join(c.text for c in call.content)


def test_refusals_and_failures_are_tool_errors_without_local_paths(
    project_dir: Path, data_home: Path
) -> None:
    site = Site(project_dir, data_home)

    async def scenario(ollama_url: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        # OLLAMA_HOST points at the fake only for the brace run; the failed run goes nowhere.
        async with stdio_client(mcp_params(site, OLLAMA_HOST=ollama_url)) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                out["tools"] = (await session.list_tools()).tools
                calls = {
                    "traversal": ("run_crew", {"crew": "../../etc/passwd"}),
                    "unknown": ("run_crew", {"crew": "nope"}),
                    "needs": ("run_crew", {"crew": "topic-brief"}),
                    "blank": ("run_crew", {"crew": "topic-brief", "inputs": {"topic": "  "}}),
                    "nul": ("run_crew", {"crew": "demo", "inputs": {"topic": "a\x00b"}}),
                    "huge": ("run_crew", {"crew": "demo", "inputs": {"topic": "x" * 200_000}}),
                    "search_unknown": ("search_reports", {"query": "x", "crew": "nope"}),
                    "limit_negative": ("search_reports", {"query": "x", "limit": -1}),
                    "limit_text": ("search_reports", {"query": "x", "limit": "abc"}),
                    "latest_unknown": ("latest_report", {"crew": "nope"}),
                    "latest_none": ("latest_report", {"crew": "demo"}),
                    "braces": ("run_crew", {"crew": "demo", "inputs": {"topic": "C++ {tpl} }"}}),
                    "search_ok": ("search_reports", {"query": "digest", "crew": "demo"}),
                }
                for key, (tool, args) in calls.items():
                    out[key] = await session.call_tool(tool, args)
        return out

    with fake_ollama() as ollama:
        out = anyio.run(scenario, ollama.url)

    for tool in out["tools"]:
        assert "\n    " not in (tool.description or ""), tool.description
    limit = next(t for t in out["tools"] if t.name == "search_reports").inputSchema
    assert limit["properties"]["limit"]["minimum"] == 1

    errors = {k: v for k, v in out.items() if k not in {"tools", "braces", "search_ok"}}
    for key, call in errors.items():
        text = _text(call)
        assert call.isError, (key, text)
        assert str(project_dir) not in text and str(data_home) not in text, (key, text)
        assert "Traceback" not in text and "pydantic.dev" not in text, (key, text)
        assert "\n" not in text.strip(), (key, text)  # one line a client can show
    assert "no crew '../../etc/passwd'" in _text(out["traversal"])
    assert "the crews are ai-news, demo, topic-brief, weekly-report" in _text(out["unknown"])
    assert "needs the input 'topic'" in _text(out["needs"])
    assert "needs the input 'topic'" in _text(out["blank"])
    assert "NUL" in _text(out["nul"]) and "at most 4,000" in _text(out["huge"])
    assert "no crew 'nope'" in _text(out["search_unknown"])
    assert "limit" in _text(out["limit_negative"]) and "-1" in _text(out["limit_negative"])
    assert "limit" in _text(out["limit_text"]) and "abc" in _text(out["limit_text"])
    assert "has no report yet" in _text(out["latest_none"])

    braces = out["braces"]
    assert not braces.isError, _text(braces)
    assert braces.structuredContent["status"] == "ok"
    report = Path(braces.structuredContent["report_path"])
    assert (
        json.loads(report.with_suffix(".json").read_text())["title"] == "Demo digest: C++ {tpl} }"
    )
    assert not out["search_ok"].isError
    # No run record for a refused start: the only run is the one that ran.
    with Store.open(data_home / "scoutcrew.sqlite") as store:
        assert [r.status for r in list_runs(store)] == ["ok"]


def test_a_failed_run_is_a_tool_error_with_its_run(project_dir: Path, data_home: Path) -> None:
    site = Site(project_dir, data_home)

    async def scenario() -> Any:
        async with stdio_client(mcp_params(site)) as (read, write):  # nothing listens for Ollama
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await session.call_tool("run_crew", {"crew": "demo"})

    call = anyio.run(scenario)
    assert call.isError
    assert call.structuredContent["status"] == "failed" and call.structuredContent["run_id"]
    assert "Ollama is not reachable" in _text(call)
    assert f"run {call.structuredContent['run_id']}" in _text(call)


def _child_of_lock(home: Path, crew: str, deadline: float) -> int:
    owner = home / "locks" / f"{crew}.owner"
    while time.monotonic() < deadline:
        try:
            return int(json.loads(owner.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            time.sleep(0.1)
    raise AssertionError("the run never took its crew's lock")


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _gone(pid: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


def _run_until(site: Site, ollama: FakeOllama, stop: str) -> tuple[int, float]:
    """Start run_crew demo on a wedged model, then kill -9 the server or hang up."""
    found: dict[str, Any] = {}

    async def scenario() -> None:
        with anyio.fail_after(120):
            await session_until(stop)
        found.setdefault("at", time.monotonic())  # hung up: the client closed the pipes

    async def session_until(stop: str) -> None:
        async with stdio_client(mcp_params(site, OLLAMA_HOST=ollama.url)) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                async with anyio.create_task_group() as group:

                    async def call() -> None:
                        try:
                            await session.call_tool("run_crew", {"crew": "demo"})
                        except Exception as exc:  # the server is gone: the call cannot end well
                            found["call_error"] = exc

                    group.start_soon(call)
                    deadline = time.monotonic() + 60
                    child = await anyio.to_thread.run_sync(
                        _child_of_lock, site.home, "demo", deadline
                    )
                    found["child"] = child
                    while not ollama.chat_requests:  # the run is inside a model call
                        await anyio.sleep(0.1)
                    if stop == "kill":
                        os.kill(_parent(child), signal.SIGKILL)
                        found["at"] = time.monotonic()
                        await anyio.sleep(1)
                    group.cancel_scope.cancel()

    anyio.run(scenario)
    return found["child"], found["at"]


def _wedged_ollama() -> FakeOllama:
    ollama = fake_ollama()
    ollama.wedge("/api/chat")
    return ollama


@pytest.mark.parametrize("stop", ["kill", "hang up"])
def test_a_run_stops_when_its_mcp_server_is_killed_or_its_client_hangs_up(
    project_dir: Path, data_home: Path, stop: str
) -> None:
    site = Site(project_dir, data_home)
    with _wedged_ollama() as ollama:
        child, stopped_at = _run_until(site, ollama, stop)
        assert _gone(child, stopped_at + 30), f"the run went on after: {stop}"
    with Store.open(data_home / "scoutcrew.sqlite") as store:
        assert [r.status for r in list_runs(store)] == ["interrupted"]
