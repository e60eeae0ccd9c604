"""Helpers for the web app, feed and MCP tests: a project with a real report, a live server."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from scoutcrew.testing.fake_ollama import FakeOllama
from scoutcrew.testing.scripts import copy_project, free_text_tasks, scripted_reader

ROOT = Path(__file__).resolve().parents[1]

# What the fake writer says: one supported-looking sentence per kind of flag, plus markup that
# must never reach a page unescaped.
WRITER_REPLY = (
    "Final Answer: Local inference got faster this month [S1]. "
    "The moon is made of green cheese according to analysts [S2]. "
    "See https://evil.example.com/x for more [S1]. A claim with a bad id [S99]. "
    "<script>alert('pwned')</script> <img src=x onerror=alert(2)> Quoted & <b>bold</b>."
)

# A crew over the lab notes feed only, as the claim-check tests run it.
LAB_NOTES_CREW = """\
description: Digest of the lab notes feed, checked before it is published
agents: [researcher, analyst, writer]
tasks: [collect, analyse, write_digest]
sources:
  feeds: [examples/feeds/lab-notes.xml]
  max_items: 12
inputs:
  topic: local models
"""


@dataclass
class Site:
    """A project copy with one finished demo run, and its data directory."""

    root: Path
    home: Path

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def env(self, **extra: str) -> dict[str, str]:
        # The scripted model answers the crew: no capability probe (see conftest.py).
        return {**os.environ, "SCOUTCREW_HOME": str(self.home), "SCOUTCREW_PROBE": "off", **extra}


def make_project(dest: Path) -> Path:
    """A project copy whose writer's free text reaches the report as written (the web app's
    tests feed it hostile text)."""
    project = copy_project(ROOT, dest)
    free_text_tasks(project)
    return project


def run_demo(site: Site, ollama_url: str) -> None:
    """Run the demo crew once in a subprocess, as a user would, against the fake Ollama."""
    result = subprocess.run(
        [sys.executable, "-m", "scoutcrew.cli", "--project", str(site.root), "run", "demo"],
        env=site.env(OLLAMA_HOST=ollama_url, SCOUTCREW_BACKEND="ollama"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`scoutcrew serve` in a subprocess on a free port of 127.0.0.1."""

    def __init__(self, site: Site, *args: str, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = site.home.parent / f"serve-{self.port}.log"
        site.home.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "scoutcrew.cli", "--project", str(site.root), "serve"]
        cmd += ["--port", str(self.port), *args]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                cmd, env=env or site.env(), stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                httpx.get(self.url + "/static/style.css", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"server did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its mtime and size: to prove nothing was touched."""
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def fake_ollama(reply: object = WRITER_REPLY) -> FakeOllama:
    """The fake model: notes as a careful reader takes them, `reply` for the crew's tasks."""
    crew = reply if callable(reply) else (lambda _request: reply)
    return FakeOllama(default_reply=scripted_reader(crew))  # type: ignore[arg-type]


def mcp_params(site: Site, **env: str):  # -> mcp.StdioServerParameters
    """`scoutcrew mcp` as a chat UI starts it: the project's server over stdio."""
    from mcp import StdioServerParameters

    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "scoutcrew.cli", "--project", str(site.root), "mcp", "--backend", "ollama"],
        env=site.env(**env),
        cwd=str(site.root),
    )
