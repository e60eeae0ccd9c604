"""Delivery: a real webhook server on 127.0.0.1 and real local commands; never raises."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scoutcrew.config.models import DeliveryConfig
from scoutcrew.run.deliver import build_payload, deliver


class Hook:
    """A webhook receiver that answers the scripted statuses, then 200."""

    def __init__(self, statuses: list[int]):
        self.statuses = list(statuses)
        self.received: list[dict] = []
        self.headers: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append(json.loads(body))
                hook.headers.append(dict(self.headers))
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"no" if status >= 300 else b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook_factory() -> Iterator:
    hooks: list[Hook] = []

    def make(statuses: list[int]) -> Hook:
        hooks.append(Hook(statuses))
        return hooks[-1]

    yield make
    for hook in hooks:
        hook.close()


def payload(status: str = "ok") -> dict:
    return build_payload(
        "demo",
        status,
        report="/r/demo/latest.md",
        summary="3 calls",
        run_id="run-1",
        error=None if status == "ok" else "Ollama is not reachable",
    )


def test_webhook_fails_then_succeeds(hook_factory, caplog: pytest.LogCaptureFixture) -> None:
    hook = hook_factory([503, 500])
    config = DeliveryConfig(webhook=hook.url, retries=3)
    outcomes = deliver("demo", config, payload(), backoff=0.01)
    assert [(o.kind, o.ok, o.attempts) for o in outcomes] == [("webhook", True, 3)]
    assert len(hook.received) == 3
    body = hook.received[-1]
    assert body["crew"] == "demo" and body["status"] == "ok" and body["event"] == "success"
    assert body["report"] == "/r/demo/latest.md" and body["summary"] == "3 calls"
    assert body["run_id"] == "run-1"
    assert hook.headers[-1]["Content-Type"] == "application/json"
    assert "attempt 1 of 4" in caplog.text
    assert "secret-token" not in caplog.text  # the URL's path may hold a token: never logged
    assert outcomes[0].target == hook.url.split("/hooks")[0]


def test_webhook_gives_up_without_raising(hook_factory) -> None:
    hook = hook_factory([503] * 10)
    outcomes = deliver("demo", DeliveryConfig(webhook=hook.url, retries=2), payload(), backoff=0.01)
    assert not outcomes[0].ok and outcomes[0].attempts == 3 and "HTTP 503" in outcomes[0].error
    assert len(hook.received) == 3

    gone = hook_factory([404])
    outcomes = deliver("demo", DeliveryConfig(webhook=gone.url, retries=5), payload(), backoff=0.01)
    assert not outcomes[0].ok and outcomes[0].attempts == 1  # a 404 is not retried
    assert len(gone.received) == 1

    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = DeliveryConfig(webhook=f"http://127.0.0.1:{port}/x", retries=1)
    outcomes = deliver("demo", config, payload(), backoff=0.01)
    assert not outcomes[0].ok and outcomes[0].attempts == 2 and "Connect" in outcomes[0].error


def test_on_selects_success_or_failure(hook_factory) -> None:
    hook = hook_factory([])
    config = DeliveryConfig(webhook=hook.url, on=["failure"])
    assert deliver("demo", config, payload("ok")) == []
    assert deliver("demo", config, payload("nothing-new")) == []
    outcomes = deliver("demo", config, payload("failed"))
    assert outcomes[0].ok
    assert [b["event"] for b in hook.received] == ["failure"]
    assert hook.received[0]["error"] == "Ollama is not reachable"
    # The pipeline may pass the event names as statuses.
    assert deliver("demo", config, {"status": "success"}) == []
    assert deliver("demo", DeliveryConfig(webhook=hook.url, on=["success"]), {"status": "success"})


def test_command_gets_env_and_json_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    script = tmp_path / "notify.py"
    script.write_text(
        "import json, os, sys\n"
        "data = json.load(sys.stdin)\n"
        "env = {k: v for k, v in os.environ.items() if k.startswith('SCOUTCREW_')}\n"
        "seen = {'stdin': data, 'env': env, 'cwd': os.getcwd()}\n"
        f"open({str(out)!r}, 'w').write(json.dumps(seen))\n"
    )
    config = DeliveryConfig(command=f"{sys.executable} notify.py")
    outcomes = deliver("demo", config, payload(), cwd=tmp_path)
    assert [(o.kind, o.ok, o.attempts) for o in outcomes] == [("command", True, 1)]
    seen = json.loads(out.read_text())
    assert seen["stdin"]["report"] == "/r/demo/latest.md"
    assert seen["env"]["SCOUTCREW_CREW"] == "demo"
    assert seen["env"]["SCOUTCREW_STATUS"] == "ok"
    assert seen["env"]["SCOUTCREW_REPORT"] == "/r/demo/latest.md"
    assert Path(seen["cwd"]) == tmp_path


def test_command_is_retried_and_a_hung_one_is_stopped(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    flaky = (
        f'{sys.executable} -c "import pathlib, sys; p = pathlib.Path({str(counter)!r}); '
        "n = int(p.read_text()) if p.exists() else 0; p.write_text(str(n + 1)); "
        'sys.exit(0 if n >= 1 else 3)"'
    )
    outcomes = deliver("demo", DeliveryConfig(command=flaky, retries=2), payload(), backoff=0.01)
    assert outcomes[0].ok and outcomes[0].attempts == 2 and counter.read_text() == "2"

    hung = f'{sys.executable} -c "import time; time.sleep(30)"'
    outcomes = deliver(
        "demo",
        DeliveryConfig(command=hung, retries=1),
        payload(),
        backoff=0.01,
        command_timeout=0.5,
    )
    assert not outcomes[0].ok and outcomes[0].attempts == 2 and "timed out" in outcomes[0].error


def test_both_channels_and_a_broken_config_never_raise(hook_factory, tmp_path: Path) -> None:
    hook = hook_factory([])
    config = DeliveryConfig(webhook=hook.url, command="exit 7", retries=0)
    outcomes = deliver("demo", config, payload())
    assert [(o.kind, o.ok) for o in outcomes] == [("webhook", True), ("command", False)]
    assert "exit status 7" in outcomes[1].error
    # Not even an unexpected object breaks the caller.
    outcomes = deliver("demo", object(), payload())
    assert outcomes and not outcomes[0].ok
    assert deliver("demo", None, payload()) == []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie is dead, only not yet reaped


def test_a_timed_out_command_leaves_no_process_behind(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    # The shell forks the sleeper (it is not the last command), so killing only the shell
    # would leave it running, holding the output pipe open.
    command = (
        f'{sys.executable} -c "import os, time; '
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(30)\"; true"
    )
    outcomes = deliver(
        "demo", DeliveryConfig(command=command, retries=0), payload(), command_timeout=1.0
    )
    assert not outcomes[0].ok and "timed out" in outcomes[0].error
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10  # SIGKILL is sent; the kernel may take a moment
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)
