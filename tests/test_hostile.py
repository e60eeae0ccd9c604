"""Hostile files, feeds and servers, each reproduced for real: files on disk, HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from feedserver import FeedServer
from hostile import (
    CONTROL_CHARS,
    ESCAPE_REPLY,
    NGINX_502,
    alias_bomb,
    damaged_utf8,
    deep_block_yaml,
    deep_yaml,
    escape_feed,
    rss091,
)

from scoutcrew.cli import main
from scoutcrew.config.models import SourcesConfig
from scoutcrew.config.project import find_project
from scoutcrew.config.schema import load_config
from scoutcrew.config.yamlsource import MAX_YAML_BYTES
from scoutcrew.gather.feeds import gather
from scoutcrew.gather.fetch import FetchLimits
from scoutcrew.schedule.daemon import Daemon
from scoutcrew.store.db import Store
from scoutcrew.testing.fake_ollama import FakeOllama
from scoutcrew.testing.scripts import free_text_tasks, scripted_reader

FAST = FetchLimits(connect_timeout=2, read_timeout=2, total_timeout=3)


def has_controls(text: str) -> list[str]:
    return sorted({repr(c) for c in text if c in CONTROL_CHARS})


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "home" / "scoutcrew.sqlite") as st:
        yield st


def gather_urls(store: Store, urls: list[str], root: Path, allow: bool = True):
    sources = SourcesConfig(feeds=urls, allow_private_hosts=allow)
    return gather(sources, store=store, project_root=root, limits=FAST)


# --------------------------------------------------------------------------- YAML


def problems_of(project_dir: Path) -> list[str]:
    return load_config(find_project(project_dir)).problems


@pytest.mark.parametrize(
    "content, needle",
    [
        (alias_bomb(), "aliases expand it to 490329064 values"),
        ("a: &a [*a]\n", "an alias refers to itself"),
        (deep_yaml(3000), "nested more than 64 levels deep"),
        (deep_block_yaml(1000), "nested more than 64 levels deep"),
        ("description: " + "x" * (MAX_YAML_BYTES + 10) + "\n", "a YAML file may have at most"),
    ],
    ids=["alias-bomb", "recursive-alias", "deep-flow", "deep-block", "huge"],
)
def test_hostile_crew_file_is_one_clear_problem_naming_it(
    project_dir: Path, content: str, needle: str
) -> None:
    (project_dir / "crews" / "hostile.yaml").write_text(content)
    problems = problems_of(project_dir)
    assert len(problems) == 1, problems
    assert problems[0].startswith("crews/hostile.yaml") and needle in problems[0]


def test_non_utf8_crew_file_is_a_clear_error_in_every_command(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project_dir / "crews" / "latin.yaml").write_bytes(
        "description: Caf\xe9 digest\nagents: [writer]\ntasks: [write_digest]\n".encode("latin-1")
    )
    for command in (["validate"], ["list"], ["run", "latin"], ["schedule", "list"]):
        code = main(["--project", str(project_dir), *command])
        err = capsys.readouterr().err
        assert code == 1, command
        assert "crews/latin.yaml:1: not UTF-8 text (byte 0xe9" in err, (command, err)
        assert "save the file as UTF-8" in err and "Traceback" not in err


def test_yaml_syntax_error_in_tasks_is_reported_alone_and_a_tab_is_named(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = project_dir / "tasks.yaml"
    lines = tasks.read_text().split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("  "))
    lines[index] = "\t" + lines[index][2:]
    tasks.write_text("\n".join(lines))
    assert main(["--project", str(project_dir), "validate"]) == 1
    err = capsys.readouterr().err
    assert "1 problem(s)" in err, err
    assert f"tasks.yaml:{index + 1}: invalid YAML: a tab" in err
    assert "YAML indents with spaces" in err and "no task" not in err


def test_broken_agents_file_is_reported_alone(project_dir: Path) -> None:
    (project_dir / "agents.yaml").write_text("researcher:\n  role: [unclosed\n")
    problems = problems_of(project_dir)
    assert len(problems) == 1 and problems[0].startswith("agents.yaml:"), problems


def test_anchors_within_the_budget_still_work(project_dir: Path) -> None:
    crew = project_dir / "crews" / "demo.yaml"
    old = "  keywords: [local models, open weights, inference, agents]"
    crew.write_text(
        crew.read_text().replace(old, "  keywords: &kw [local models, agents]\n  search: *kw")
    )
    config = load_config(find_project(project_dir), only_crew="demo")
    assert config.problems == []
    assert config.crews["demo"].sources.search == ["local models", "agents"]


def test_daemon_keeps_its_last_good_schedule_when_a_crew_becomes_a_bomb(
    project_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from datetime import UTC, datetime

    for path in (project_dir / "crews").glob("*.yaml"):
        if path.stem != "demo":
            path.unlink()
    crew = project_dir / "crews" / "demo.yaml"
    crew.write_text(crew.read_text() + 'schedule: "0 7 * * *"\n')
    daemon = Daemon(find_project(project_dir), spawn=lambda *a: None, tick=2)  # type: ignore[arg-type]
    now = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    daemon.start(now)
    assert daemon.schedules["demo"].cron == "0 7 * * *"
    crew.write_text(alias_bomb())
    os.utime(crew, (time.time() + 5, time.time() + 5))
    with caplog.at_level(logging.INFO, "scoutcrew.schedule"):
        daemon.tick(now.replace(minute=1))
    assert daemon.schedules["demo"].cron == "0 7 * * *"
    assert "crews/demo.yaml:1: its aliases expand it" in caplog.text
    assert "keeping its last good schedule" in caplog.text


def test_real_daemon_with_a_bomb_crew_runs_and_stops_on_sigterm(
    project_dir: Path, tmp_path: Path
) -> None:
    crew = project_dir / "crews" / "demo.yaml"
    crew.write_text(crew.read_text() + 'schedule: "0 7 * * *"\n')
    (project_dir / "crews" / "bomb.yaml").write_text(alias_bomb())
    (project_dir / "crews" / "deep.yaml").write_text(deep_yaml())
    log_path = tmp_path / "daemon.log"
    with open(log_path, "wb") as out:
        daemon = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scoutcrew.cli",
                "--project",
                str(project_dir),
                "schedule",
                "run",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "schedule daemon running" not in log_path.read_text():
            assert daemon.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        signalled = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(30)
        stopped_in = time.monotonic() - signalled
    finally:
        if daemon.poll() is None:
            daemon.kill()
    text = log_path.read_text()
    assert code == 0 and stopped_in < 10, text
    assert "scheduled demo" in text and "crews/bomb.yaml:1: its aliases" in text
    assert "crews/deep.yaml:1: nested more than 64" in text and "Traceback" not in text


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    "encoding, title",
    [("big5", "中文新聞"), ("shift_jis", "日本語の記事"), ("gbk", "简体新闻")],
)
def test_multibyte_feeds_with_the_rss091_doctype_are_read(
    store: Store, tmp_path: Path, encoding: str, title: str
) -> None:
    with FeedServer() as server:
        server.extra["/feed.xml"] = (200, {"Content-Type": "text/xml"}, rss091(encoding, title))
        g = gather_urls(store, [f"{server.url}/feed.xml"], tmp_path)
    assert [n for n in g.notes if n.level == "error"] == []
    assert [i.title for i in g.items] == [f"{title} 1"]
    assert g.items[0].feed_title == title and g.items[0].text == f"{title}: the first story."


def test_unknown_encoding_is_a_warning_and_the_feed_is_read(store: Store, tmp_path: Path) -> None:
    body = rss091("utf-8", "Plain news", declared="bogus")
    with FeedServer() as server:
        server.extra["/feed.xml"] = (200, {"Content-Type": "text/xml"}, body)
        g = gather_urls(store, [f"{server.url}/feed.xml"], tmp_path)
    assert [i.title for i in g.items] == ["Plain news 1"]
    assert [n.message for n in g.notes] == [
        "unknown encoding 'bogus' in the XML declaration; ignored"
    ]


def test_utf8_feed_with_a_few_bad_bytes_keeps_its_text(store: Store, tmp_path: Path) -> None:
    with FeedServer() as server:
        server.extra["/feed.xml"] = (200, {"Content-Type": "application/rss+xml"}, damaged_utf8())
        g = gather_urls(store, [f"{server.url}/feed.xml"], tmp_path)
    item = g.items[0]
    assert item.title == "Café naïve résumé Zürich 1"  # not garbled as another encoding
    assert item.text == "Café naïve résumé Zürich: the f\ufffdrst\ufffd\ufffd story."
    assert g.notes[0].level == "warning" and "replaced by U+FFFD" in g.notes[0].message


def test_entities_stay_refused_in_any_encoding(store: Store, tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0" encoding="{enc}"?><!DOCTYPE rss [<!ENTITY a "aaaa">]>'
        "<rss><channel><title>&a;</title></channel></rss>"
    )
    with FeedServer() as server:
        server.extra["/big5.xml"] = (200, {}, bomb.format(enc="big5").encode("big5"))
        server.extra["/utf16.xml"] = (200, {}, bomb.format(enc="utf-16").encode("utf-16"))
        g = gather_urls(store, [f"{server.url}/big5.xml", f"{server.url}/utf16.xml"], tmp_path)
    assert g.items == []
    assert [n.message for n in g.notes] == [
        "XML entity declarations are refused (entity expansion attack)"
    ] * 2


# --------------------------------------------------------------------------- terminal escapes


def test_escapes_in_feeds_never_reach_items(store: Store, tmp_path: Path) -> None:
    with FeedServer() as server:
        server.extra["/esc.xml"] = (200, {"Content-Type": "application/rss+xml"}, escape_feed())
        g = gather_urls(store, [f"{server.url}/esc.xml"], tmp_path)
    assert len(g.items) == 2
    for item in g.items:
        assert has_controls(item.title + item.text + item.feed_title) == []
    assert g.items[0].title == "Clear screen news"
    assert g.items[0].feed_title == "Escapes weekly"  # text, not the feed's HTML


def test_escapes_from_feeds_and_model_reach_no_terminal_or_report(
    project_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    (project_dir / "examples" / "feeds" / "escapes.xml").write_bytes(escape_feed())
    (project_dir / "crews" / "escapes.yaml").write_text(
        "description: Escapes\nagents: [researcher, analyst, writer]\n"
        "tasks: [collect, analyse, write_digest]\n"
        "sources:\n  feeds: [examples/feeds/escapes.xml]\ninputs:\n  topic: local models\n"
    )
    cli = ["--project", str(project_dir)]
    assert main([*cli, "plan", "escapes"]) == 0
    plan_out = capsys.readouterr()
    assert "Clear screen news" in plan_out.out
    assert has_controls(plan_out.out + plan_out.err) == []
    free_text_tasks(project_dir)  # the model's escapes reach the report stage as written
    with FakeOllama(default_reply=scripted_reader(lambda _r: ESCAPE_REPLY)) as ollama:
        monkeypatch.setenv("OLLAMA_HOST", ollama.url)
        code = main([*cli, "run", "escapes", "--backend", "ollama", "--model", "ollama/qwen3:8b"])
    run_out = capsys.readouterr()
    # The second item ("Plain text.") holds no fact: not read, so the run is partial.
    assert code == 3, run_out.err
    assert has_controls(run_out.out + run_out.err) == []
    md = Path(run_out.out.strip())
    files = [md, md.with_suffix(".html"), md.with_suffix(".json")]
    for path in files:
        assert has_controls(path.read_text()) == [], path
    assert "Local models got faster" in md.read_text()
    report = json.loads(files[2].read_text())
    assert {s["feed_title"] for s in report["sources"]} == {"Escapes weekly"}
    assert main([*cli, "show", report["meta"].get("run_id", "") or _last_run(project_dir)]) == 0
    assert has_controls(capsys.readouterr().out) == []


def _last_run(project_dir: Path) -> str:
    from scoutcrew.store.runs import list_runs

    with Store.open(find_project(project_dir).data_dir / "scoutcrew.sqlite") as store:
        return list_runs(store, "escapes", 1)[0].id


# --------------------------------------------------------------------------- addresses, files


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_ipv6_loopback_feed_allowed_only_with_private_hosts(store: Store, tmp_path: Path) -> None:
    from http.server import BaseHTTPRequestHandler

    from feedserver import GOOD_RSS

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(GOOD_RSS)))
            self.end_headers()
            self.wfile.write(GOOD_RSS)

    server = _IPv6Server(("::1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        url = f"http://[::1]:{server.server_address[1]}/feed.xml"
        refused = gather_urls(store, [url], tmp_path, allow=False)
        assert refused.items == [] and "loopback address ::1" in refused.notes[0].message
        allowed = gather_urls(store, [url], tmp_path, allow=True)
        assert len(allowed.items) == 2 and allowed.notes == []
    finally:
        server.shutdown()
        server.server_close()


def test_ambiguous_ipv4_spellings_are_refused_cleanly(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FeedServer() as server:
        urls = [
            f"http://{host}:{server.port}/good.xml"
            for host in ("0177.0.0.1", "127.000.000.001", "0x7f.0.0.1", "2130706433")
        ]
        with caplog.at_level(logging.WARNING):
            g = gather_urls(store, urls, tmp_path)
        assert server.requests == []
    assert g.items == [] and len(g.notes) == 4
    for note in g.notes:
        assert note.level == "error" and "not a plain dotted IPv4 address" in note.message
    assert "unexpected" not in caplog.text and "Traceback" not in caplog.text


def test_fifo_inside_the_project_is_refused_without_hanging(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    os.mkfifo(root / "feed.xml")
    started = time.monotonic()
    g = gather_urls(store, ["feed.xml"], root)
    assert time.monotonic() - started < FAST.total_timeout
    assert g.items == [] and "is not a regular file" in g.notes[0].message


def test_a_502_page_from_a_proxy_is_one_line(tmp_path: Path) -> None:
    from scoutcrew.llm.ollama import OllamaAPIError, OllamaClient

    with FeedServer() as proxy:
        proxy.extra["/api/version"] = (502, {"Content-Type": "text/html"}, NGINX_502)
        client = OllamaClient([proxy.url])
        try:
            with pytest.raises(OllamaAPIError) as caught:
                client.version(proxy.url)
        finally:
            client.close()
    message = str(caught.value)
    assert message == f"Ollama at {proxy.url} answered 502: 502 Bad Gateway"


def test_webhook_502_page_is_one_line() -> None:
    from http.server import BaseHTTPRequestHandler

    from scoutcrew.config.models import DeliveryConfig
    from scoutcrew.run.deliver import deliver

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(NGINX_502)))
            self.end_headers()
            self.wfile.write(NGINX_502)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        [outcome] = deliver("demo", DeliveryConfig(webhook=url, retries=0), {"status": "ok"})
    finally:
        server.shutdown()
        server.server_close()
    assert not outcome.ok and outcome.error == "HTTP 502: 502 Bad Gateway"


def test_read_page_takes_http_urls_only(project_dir: Path) -> None:
    from scoutcrew.crew.tools import page_text

    secret = "a line only the project file has"
    (project_dir / "notes.txt").write_text(secret)
    for target in (
        "notes.txt",
        str(project_dir / "notes.txt"),
        (project_dir / "notes.txt").as_uri(),
    ):
        answer = page_text(target, project_dir)
        assert "http(s) URLs only" in answer and secret not in answer


def test_charset_edge_cases() -> None:
    from scoutcrew.gather.charset import to_utf8
    from scoutcrew.gather.feeds import parse_feed

    latin = rss091("latin-1", "Café résumé", declared="utf-8")  # mislabelled throughout
    data, warnings = to_utf8(latin)
    assert "Café résumé" in data.decode() and "read as windows-1252" in warnings[0]
    utf16 = rss091("utf-16", "Wide news")  # with a BOM, as Python writes it
    assert parse_feed(utf16, "https://w.example/").title == "Wide news"
    http_says = rss091("big5", "中文新聞", declared="utf-8")
    parsed = parse_feed(http_says, "https://b.example/", "text/xml; charset=big5")
    assert parsed.title == "中文新聞"
    assert to_utf8(b"<rss/>", "") == (b"<rss/>", [])
    assert to_utf8(b'<?xml version="1.0" encoding="zlib"?><rss/>')[1] == [
        "unknown encoding 'zlib' in the XML declaration; ignored"
    ]


def test_strip_controls_and_one_line() -> None:
    from scoutcrew.text.untrusted import one_line, strip_controls

    assert (
        strip_controls("a\x1b[2Jb\x1b]0;title\x07c\x1b]8;;http://x\x1b\\d\te\r\nf") == "abcd\te\nf"
    )
    assert strip_controls("\x9b31mred\x9d0;t\x9c!") == "red!"
    assert strip_controls("plain ünïcode 中文") == "plain ünïcode 中文"
    assert one_line(NGINX_502.decode()) == "502 Bad Gateway"
    assert one_line("x" * 500, 20) == "x" * 17 + "..."
