"""The web app against what a user gets wrong and an attacker tries: over HTTP on 127.0.0.1
and in Chromium. Bad inputs are refused with a 4xx in the page's words, the Host check parses
the host, and a token that opens the app to other machines must be a real one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from servekit import Server, Site, csrf_token, free_port
from test_browser import ARGS, CHROMIUM


@pytest.fixture
def server(project_dir: Path, data_home: Path):
    site = Site(project_dir, data_home)
    # Runs would go nowhere (nothing listens for Ollama): none must even start here.
    server = Server(site, "--backend", "ollama")
    try:
        yield server
    finally:
        server.stop()


def _post_run(client: httpx.Client, crew: str, **inputs: str) -> httpx.Response:
    token = csrf_token(client.get("/crews").text)
    data = {"csrf": token, **{f"input.{k}": v for k, v in inputs.items()}}
    return client.post(f"/crews/{crew}/run", data=data)


def test_bad_inputs_are_refused_with_a_4xx_and_start_nothing(
    server: Server, data_home: Path
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        huge = _post_run(client, "demo", topic="x" * 200_000)
        nul = _post_run(client, "demo", topic="local\x00models")
        empty = _post_run(client, "topic-brief", topic="")
        blank = _post_run(client, "topic-brief", topic="   ")
        oversize = client.post(
            "/crews/demo/run",
            content=b"csrf=x&input.topic=" + b"y" * 2_000_000,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert huge.status_code == 400 and "at most 4,000" in huge.text
    assert nul.status_code == 400 and "control character (NUL)" in nul.text
    for refused in (empty, blank):
        assert refused.status_code == 400
        shown = re.search(r'id="run-refused"[^>]*>([^<]*)<', refused.text)
        # The page's words, once, not the command line's.
        assert shown and shown.group(1) == (
            "Fill in topic: topic-brief needs it to run. Nothing was started."
        )
        assert refused.text.count("Nothing was started") == 1
    assert oversize.status_code == 413
    assert "Traceback" not in server.output()
    assert not (data_home / "logs" / "web").exists()  # no run process was started
    assert not (data_home / "scoutcrew.sqlite").exists()  # and none was recorded


@pytest.mark.parametrize(
    "host",
    [
        "[::1].evil.example",
        "127.0.0.1:18787@evil.example",
        "localhost:evil.example",
        "localhost.evil.example",
        "127.0.0.1.evil.example:8787",
        "[::1]:80:81",
        "evil.example",
    ],
)
def test_a_host_that_only_starts_like_ours_is_refused(server: Server, host: str) -> None:
    response = httpx.get(server.url + "/crews", headers={"Host": host}, timeout=10)
    assert response.status_code == 421


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}"])
def test_our_own_host_names_are_served(server: Server, host: str) -> None:
    headers = {"Host": host.format(port=server.port)}
    assert httpx.get(server.url + "/crews", headers=headers, timeout=10).status_code == 200


@pytest.mark.parametrize("token", [" ", "s3cret", "aaaaaaaaaaaaaaaaaaaa", "correct horse battery"])
def test_a_weak_token_does_not_open_the_app_to_other_machines(
    project_dir: Path, data_home: Path, token: str
) -> None:
    site = Site(project_dir, data_home)
    command = [sys.executable, "-m", "scoutcrew.cli", "--project", str(project_dir), "serve"]
    command += ["--host", "0.0.0.0", "--port", str(free_port()), "--token", token]
    try:  # bounded: a server that starts anyway would serve until killed
        result = subprocess.run(command, env=site.env(), capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the app started on 0.0.0.0 with the token {token!r}")
    assert result.returncode == 1, result.stderr
    assert "the token is too weak" in result.stderr and "secrets.token_urlsafe" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_crews_page_marks_needed_inputs_and_refuses_a_blank_one_in_its_words(
    server: Server,
) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip("no chromium")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(server.url + "/crews")
            row = page.locator("#crew-topic-brief")
            expect(row.locator("label.needed")).to_contain_text("topic (required)")
            field = row.locator("input[name='input.topic']")
            expect(field).to_have_attribute("required", "")
            field.fill("   ")  # passes the browser's own check, not ours
            row.locator("button", has_text="Run now").click()
            expect(page.locator("#run-refused")).to_have_text(
                "Fill in topic: topic-brief needs it to run. Nothing was started."
            )
            expect(page).to_have_url(re.compile(r"/crews/topic-brief/run$"))
            expect(page.locator("#crew-topic-brief label.missing")).to_be_visible()
        finally:
            browser.close()
