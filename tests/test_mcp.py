"""`scoutcrew mcp` driven by the MCP SDK's own stdio client, as a chat UI would drive it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession
from mcp.client.stdio import stdio_client
from servekit import Site, fake_ollama, mcp_params

from scoutcrew.testing.scripts import crew_requests, free_text_tasks


def _result(call: Any) -> Any:
    assert not call.isError, call.content
    if call.structuredContent is not None:
        content = call.structuredContent
        return content.get("result", content) if set(content) == {"result"} else content
    return json.loads(call.content[0].text)


def test_mcp_lists_crews_runs_the_demo_reads_and_searches_reports(
    project_dir: Path, data_home: Path
) -> None:
    free_text_tasks(project_dir)  # the writer's hostile text reaches the report
    site = Site(project_dir, data_home)

    async def scenario(ollama_url: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with stdio_client(mcp_params(site, OLLAMA_HOST=ollama_url)) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = await session.list_tools()
                out["tools"] = sorted(t.name for t in tools.tools)
                out["schema"] = {t.name: t.inputSchema for t in tools.tools}
                out["crews"] = _result(await session.call_tool("list_crews", {}))
                out["empty"] = await session.call_tool("latest_report", {"crew": "demo"})
                out["run"] = _result(
                    await session.call_tool(
                        "run_crew", {"crew": "demo", "inputs": {"topic": "tiny models"}}
                    )
                )
                out["latest"] = _result(await session.call_tool("latest_report", {"crew": "demo"}))
                out["search"] = _result(
                    await session.call_tool("search_reports", {"query": "green cheese"})
                )
                out["miss"] = _result(
                    await session.call_tool("search_reports", {"query": "zeppelin"})
                )
                out["unknown"] = await session.call_tool("run_crew", {"crew": "../demo"})
        return out

    with fake_ollama() as ollama:
        out = anyio.run(scenario, ollama.url)
        assert len(crew_requests(ollama.chat_requests)) == 3  # one per task

    assert out["tools"] == [
        "latest_report",
        "list_crews",
        "rate_story",
        "run_crew",
        "search_reports",
    ]
    assert "inputs" in out["schema"]["run_crew"]["properties"]
    crews = {c["name"]: c for c in out["crews"]}
    assert set(crews) == {"ai-news", "demo", "topic-brief", "weekly-report"}
    assert crews["ai-news"]["schedule"] == "0 7 * * *" and crews["ai-news"]["next_run"]
    assert crews["topic-brief"]["needs_inputs"] == ["topic"]
    assert out["empty"].isError and "no report yet" in out["empty"].content[0].text

    run = out["run"]
    assert run["status"] == "ok", run
    report = Path(run["report_path"])
    assert report.is_file() and report.parent == project_dir / "reports" / "demo"
    data = json.loads(report.with_suffix(".json").read_text())
    assert run["trust"] == data["trust"]["line"] and run["trust"].startswith("Trust:")
    assert run["summary"].startswith("Local inference got faster this month [S1].")
    assert {f["kind"] for f in run["flags"]} >= {"not-confirmed", "unknown-citation"}

    latest = out["latest"]
    assert latest["report_path"] == run["report_path"]
    assert latest["title"] == "Demo digest: tiny models"
    assert latest["markdown"] == report.read_text()
    assert [s["id"] for s in latest["sources"]] == ["S1", "S2"]

    assert [hit["report_path"] for hit in out["search"]] == [run["report_path"]]
    assert out["search"][0]["trust"] == run["trust"]
    assert out["miss"] == []
    assert out["unknown"].isError and "no crew '../demo'" in out["unknown"].content[0].text
