"""`scoutcrew serve` over real HTTP: pages, flags inline, feeds, safety checks, run now, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from servekit import Server, Site, csrf_token, fake_ollama, snapshot

from scoutcrew.cli import main
from scoutcrew.testing.scripts import crew_requests


@pytest.fixture
def site_server(demo_site: Site) -> Iterator[Server]:
    server = Server(demo_site)
    try:
        yield server
    finally:
        server.stop()


def _report(site: Site) -> tuple[str, dict]:
    (path,) = sorted((site.reports / "demo").glob("*.json"))
    return path.stem, json.loads(path.read_text())


def test_crews_page_shows_description_schedule_next_run_and_last_run(
    demo_site: Site, site_server: Server
) -> None:
    page = httpx.get(site_server.url + "/crews")
    assert page.status_code == 200
    html = page.text
    demo = html[html.index('id="crew-demo"') :]
    demo = demo[: demo.index("</tr>")]
    assert "Demo digest of bundled sample AI feeds" in demo
    assert "status-ok" in demo and "/runs/" in demo  # its last run and its status
    news = html[html.index('id="crew-ai-news"') :]
    news = news[: news.index("</tr>")]
    assert "<code>0 7 * * *</code>" in news
    assert re.search(r"\d{4}-\d{2}-\d{2} 07:00 UTC|\d{4}-\d{2}-\d{2} \d{2}:00 UTC", news)
    assert "never run" in news
    # topic-brief needs an input: the form asks for it.
    brief = html[html.index('id="crew-topic-brief"') :]
    assert 'name="input.topic" required' in brief[: brief.index("</tr>")]


def test_report_page_trust_line_on_top_flags_inline_sources_in_side_panel(
    demo_site: Site, site_server: Server
) -> None:
    base, data = _report(demo_site)
    listing = httpx.get(site_server.url + "/reports").text
    assert f"/reports/demo/{base}" in listing and data["trust"]["line"] in listing

    page = httpx.get(f"{site_server.url}/reports/demo/{base}")
    assert page.status_code == 200
    html = page.text
    trust = html.index('id="trust-line"')
    assert trust < html.index('id="report-body"') < html.index('id="side-panel"')
    assert data["trust"]["line"] in html[trust : html.index('id="report-body"')]

    body = html[html.index('id="report-body"') : html.index('id="side-panel"')]
    flags = [f for f in data["flags"] if f["sentence"]]
    assert len(flags) >= 3
    # Each flag has a marker in the text, right after its sentence's highlighted words.
    assert body.count('class="flag-marker ') == len(flags)
    # Numbered 1, 2, ... in reading order; the side panel lists them under the same numbers.
    markers = re.findall(r'<a class="flag-marker flag-([\w-]+)"[^>]*>\u2691(\d+) ([^<]+)</a>', body)
    assert [int(n) for _, n, _ in markers] == list(range(1, len(flags) + 1))
    assert sorted(kind for kind, _, _ in markers) == sorted(f["kind"] for f in flags)
    # "Local inference got faster..." comes first: another source of the pack says it.
    assert markers[0] == ("contradicted", "1", "contradicted (wrong-source)")
    side_items = re.findall(
        r'<li id="flag-(\d+)" class="flag-([\w-]+)"><span class="flag-kind">([^<]+)</span>', html
    )
    assert [(n, kind) for n, kind, _ in side_items] == [(n, kind) for kind, n, _ in markers]
    moon = body.index("The moon is made of green cheese")
    assert body.rfind('<mark class="flagged">', 0, moon) > body.rfind("</mark>", 0, moon)
    assert re.match(
        r'[^<]*</mark>.*?<a class="flag-marker flag-not-confirmed"[^>]*>\u26912 not confirmed',
        body[moon:],
    )
    # The three verdicts apart, above the report.
    verdicts = html[html.index('id="verdicts"') : html.index('id="report-body"')]
    assert f"{data['trust']['supported']} supported" in verdicts
    assert "1 contradicted" in verdicts and "1 not confirmed" in verdicts

    side = html[html.index('id="side-panel"') :]
    assert side.count('<li id="flag-') == len(data["flags"])
    cited = [s for s in data["sources"] if s["cited"]]
    for source in cited:
        assert f'id="src-{source["id"]}"' in side and source["url"] in side
    assert 'id="src-' not in body  # the references moved, ids stay unique
    assert "Flags</h2>" not in body


def test_report_text_is_never_rendered_unescaped_and_csp_forbids_inline_script(
    demo_site: Site, site_server: Server
) -> None:
    base, _ = _report(demo_site)
    for path in (f"/reports/demo/{base}", "/reports", "/runs", "/crews"):
        response = httpx.get(site_server.url + path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        html = response.text
        assert "<script>alert" not in html and "onerror=" not in html.replace("onerror=alert", "")
        assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/app.js" defer>']
    report = httpx.get(f"{site_server.url}/reports/demo/{base}").text
    assert "&lt;script&gt;alert" in report  # shown as text
    assert "<img" not in report
    run_id = re.search(
        r"/runs/(\d{8}-\d{6}-[0-9a-f]{6})", httpx.get(site_server.url + "/runs").text
    )
    assert run_id
    run = httpx.get(f"{site_server.url}/runs/{run_id.group(1)}").text
    assert "&lt;script&gt;alert" in run and "<script>alert" not in run


def test_runs_page_and_run_detail_show_calls_tokens_models_timings(
    demo_site: Site, site_server: Server
) -> None:
    listing = httpx.get(site_server.url + "/runs").text
    run_id = re.search(r"/runs/(\d{8}-\d{6}-[0-9a-f]{6})", listing).group(1)  # type: ignore[union-attr]
    assert "status-ok" in listing
    detail = httpx.get(f"{site_server.url}/runs/{run_id}").text
    store = demo_site.home / "scoutcrew.sqlite"
    import sqlite3

    with sqlite3.connect(store) as conn:
        calls = conn.execute(
            "SELECT agent, task, spec, prompt_tokens, completion_tokens FROM llm_calls"
            " WHERE run_id = ? ORDER BY id",
            (run_id,),
        ).fetchall()
    # The notes, the three tasks, and the claim check's repair of the vague scripted digest.
    assert [c[1] for c in calls] == ["notes", "collect", "analyse", "write_digest", "repair"]
    rows = re.findall(r"<tr class=\"[^\"]*\"><td>\d+</td>(.*?)</tr>", detail, re.S)
    assert len(rows) == len(calls)
    for (agent, task, spec, prompt, completion), row in zip(calls, rows, strict=True):
        assert f"<td>{agent}</td><td>{task}</td><td><code>{spec}</code></td>" in row
        assert f'<td class="num">{prompt}</td><td class="num">{completion}</td>' in row
    total = sum(c[3] for c in calls)
    assert f'<td class="num">{total}</td>' in detail
    assert "Wall ms" in detail and "write_digest" in detail
    assert "Demo digest: local and open AI models" in detail  # the report it wrote


def test_bad_paths_get_404_and_touch_nothing(demo_site: Site, site_server: Server) -> None:
    before = snapshot(demo_site.root)
    base, _ = _report(demo_site)
    bad = [
        "/reports/nope/" + base,
        "/reports/demo/..%2F..%2Fpyproject.toml",
        "/reports/demo/%2Fetc%2Fpasswd",
        "/reports/..%2Freports/" + base,
        "/reports/demo/" + base + "x",
        "/reports/demo/latest",
        "/reports/demo/../../agents.yaml",
        "//etc/passwd",
        "/feeds/nope.atom",
        "/feeds/..%2Fdemo.atom",
        "/runs/../../etc/passwd",
        "/runs/20260101-000000-zzzzzz",
        "/live/0123456789abcdef",
        "/static/../app.py",
        "/reports?crew=..%2Fetc",
        "/runs?crew=%2Fetc",
    ]
    with httpx.Client(base_url=site_server.url) as client:
        for path in bad:
            response = client.get(path)
            assert response.status_code == 404, (path, response.status_code)
            assert "root:" not in response.text and "[tool.scoutcrew]" not in response.text
        # POSTing a run of an unknown crew starts nothing.
        token = csrf_token(client.get("/crews").text)
        assert client.post("/crews/nope/run", data={"csrf": token}).status_code == 404
        assert client.post("/crews/..%2Fdemo/run", data={"csrf": token}).status_code == 404
    assert snapshot(demo_site.root) == before
    assert not (demo_site.home / "logs" / "web").exists()


def test_state_changes_need_post_and_csrf_and_same_origin(
    demo_site: Site, site_server: Server
) -> None:
    before = snapshot(demo_site.root)
    with httpx.Client(base_url=site_server.url) as client:
        token = csrf_token(client.get("/crews").text)
        assert client.get("/crews/demo/run").status_code == 405
        assert client.post("/crews/demo/run").status_code == 403
        assert client.post("/crews/demo/run", data={"csrf": "wrong"}).status_code == 403
        evil = {"Origin": "http://evil.example"}
        assert client.post("/crews/demo/run", data={"csrf": token}, headers=evil).status_code == 403
        # DNS rebinding: a page on another name that resolves to 127.0.0.1.
        assert client.get("/crews", headers={"Host": "evil.example:8787"}).status_code == 421
    assert snapshot(demo_site.root) == before
    assert not (demo_site.home / "logs" / "web").exists()


def test_token_is_checked_on_every_request(demo_site: Site) -> None:
    server = Server(demo_site, "--token", "s3cret-token")
    try:
        with httpx.Client(base_url=server.url) as client:
            for path in ("/crews", "/reports", "/feeds/all.atom", "/static/app.js", "/runs"):
                assert client.get(path).status_code == 401, path
            assert client.get("/crews", headers={"Authorization": "Bearer nope"}).status_code == 401
            ok = client.get("/crews", headers={"Authorization": "Bearer s3cret-token"})
            assert ok.status_code == 200
            # ?token= once sets a cookie; later requests carry it.
            assert client.get("/feeds/demo.atom?token=s3cret-token").status_code == 200
            assert client.get("/reports").status_code == 200
    finally:
        server.stop()


def test_non_loopback_bind_needs_a_token(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--project", str(project_dir), "serve", "--host", "0.0.0.0", "--port", "9"])
    assert code != 0
    assert "--token" in capsys.readouterr().err


def _events(url: str, timeout: float = 120) -> list[tuple[str, dict]]:
    """Read a server-sent event stream until its `done` event."""
    events: list[tuple[str, dict]] = []
    with httpx.stream("GET", url, timeout=timeout) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event:
                events.append((event, json.loads(line[6:])))
                if event == "done":
                    break
    return events


def test_run_now_streams_progress_and_writes_a_report(project_dir: Path, data_home: Path) -> None:
    site = Site(project_dir, data_home)
    with fake_ollama() as ollama:
        env = site.env(OLLAMA_HOST=ollama.url)
        server = Server(site, "--backend", "ollama", env=env)
        try:
            with httpx.Client(base_url=server.url) as client:
                token = csrf_token(client.get("/crews").text)
                started = client.post(
                    "/crews/demo/run", data={"csrf": token, "input.topic": "tiny models"}
                )
                assert started.status_code == 303
                live = started.headers["location"]
                assert re.fullmatch(r"/live/[0-9a-f]{16}", live)
                # A second start while it runs is refused (the crew's lock).
                again = client.post("/crews/demo/run", data={"csrf": token})
                assert again.status_code == 409 and "already running" in again.text
                assert "data-events=" in client.get(live).text
                events = _events(server.url + live + "/events")
            lines = [data["text"] for kind, data in events if kind == "line"]
            assert any("task write_digest done" in line for line in lines), lines
            assert any(re.search(r"call \d+: writer/write_digest", line) for line in lines)
            kind, done = events[-1]
            assert kind == "done" and done["status"] == "ok", done
            assert done["report_url"].startswith("/reports/demo/")
            report = httpx.get(server.url + done["report_url"]).text
            assert "Demo digest: tiny models" in report and 'class="flag-marker ' in report
            assert "status-ok" in httpx.get(server.url + "/crews").text
            assert len(crew_requests(ollama.chat_requests)) == 3  # one per task
        finally:
            server.stop()


def test_ctrl_c_of_the_server_stops_its_run_and_records_it(
    project_dir: Path, data_home: Path
) -> None:
    held = threading.Event()
    release = threading.Event()

    def slow(request: dict) -> str:
        held.set()
        release.wait(60)
        return "Final Answer: Late [S1]."

    site = Site(project_dir, data_home)
    with fake_ollama(slow) as ollama:
        server = Server(site, "--backend", "ollama", env=site.env(OLLAMA_HOST=ollama.url))
        try:
            with httpx.Client(base_url=server.url) as client:
                token = csrf_token(client.get("/crews").text)
                live = client.post("/crews/demo/run", data={"csrf": token}).headers["location"]
            assert held.wait(90), server.output()
            child = _child_pid(server.process.pid, data_home)
            os.kill(server.process.pid, signal.SIGINT)  # what Ctrl-C in its terminal sends
            server.process.wait(60)
        finally:
            release.set()
            server.stop()
    assert not _alive(child), "the run outlived the server"
    import sqlite3

    with sqlite3.connect(data_home / "scoutcrew.sqlite") as conn:
        statuses = [r[0] for r in conn.execute("SELECT status FROM runs WHERE crew = 'demo'")]
    assert statuses == ["interrupted"], (statuses, server.output(), live)


def _child_pid(server_pid: int, home: Path) -> int:
    out = subprocess.run(
        ["ps", "-o", "pid=,args=", "--ppid", str(server_pid)], capture_output=True, text=True
    ).stdout
    pids = [int(line.split()[0]) for line in out.splitlines() if "scoutcrew.cli" in line]
    assert len(pids) == 1, out
    return pids[0]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too (reaped by init once its parent exited).
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_help_lists_the_new_commands_without_importing_the_web_stack() -> None:
    code = (
        "import sys; from scoutcrew.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = {'crewai', 'starlette', 'uvicorn', 'mcp', 'jinja2'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert "serve" in result.stdout and "publish" in result.stdout and "mcp" in result.stdout
    assert result.stdout.strip().endswith("[]"), result.stdout


def test_many_reports_are_paged_and_the_feed_keeps_the_newest_fifty(
    demo_site: Site, tmp_path: Path
) -> None:
    import shutil

    root = tmp_path / "project"
    shutil.copytree(demo_site.root, root)
    site = Site(root, demo_site.home)
    folder = root / "reports" / "demo"
    (source,) = folder.glob("*.json")
    for n in range(60):
        base = f"2025-01-{1 + n // 24:02d}T{n % 24:02d}-00-00Z"
        data = json.loads(source.read_text())
        data["generated_at"] = base[:10] + "T" + base[11:13] + ":00:00+00:00"
        data["title"] = f"Old report {n}"
        (folder / f"{base}.json").write_text(json.dumps(data))
        shutil.copy(source.with_suffix(".html"), folder / f"{base}.html")
    server = Server(site)
    try:
        first = httpx.get(server.url + "/reports?crew=demo").text
        assert first.count('class="report-link"') == 50
        assert "Demo digest" in first.split('class="report-link"')[1]  # newest first
        assert 'href="/reports?crew=demo&amp;page=2">older<' in first
        second = httpx.get(server.url + "/reports?crew=demo&page=2").text
        assert second.count('class="report-link"') == 11
        assert "Old report 0<" in second and ">newer<" in second and ">older<" not in second
        feed = httpx.get(server.url + "/feeds/demo.atom").text
        assert feed.count("<entry>") == 50 and "Old report 59" in feed
        assert "Old report 9<" not in feed  # the eleven oldest are left out
    finally:
        server.stop()
