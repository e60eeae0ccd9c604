"""The hostile catalogue's harness: run the real CLI bounded in time and memory, and the
servers that misbehave on purpose (one that accepts and never answers, a proxy that drops a
stream or answers nginx's 502). Used by bench_hostile.py and hostile_edges.py."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from hostile import NGINX_502  # noqa: E402

from scoutcrew.testing.scripts import copy_project  # noqa: E402

MB = 1024 * 1024
MODEL = "ollama/qwen3:8b"
TRACEBACK = "Traceback (most recent call last)"


# --------------------------------------------------------------------------- running bounded


@dataclass
class Ran:
    code: int | None  # None: killed at the time bound
    out: str
    err: str
    seconds: float
    peak_mb: float

    @property
    def hung(self) -> bool:
        return self.code is None

    @property
    def text(self) -> str:
        return self.out + self.err


def run_bounded(
    cmd: list[str],
    env: dict[str, str],
    *,
    timeout: float,
    address_space_mb: int,
    during: Callable[[subprocess.Popen, Path], None] | None = None,
    before: Callable[[], None] | None = None,
) -> Ran:
    """Run `cmd` under RLIMIT_AS; kill its process group at `timeout`; return its peak RSS.

    `before` runs in the child before it starts (a smaller disk, fewer privileges)."""
    limit = address_space_mb * MB

    def bound() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        if before is not None:
            before()

    with tempfile.TemporaryDirectory() as tmp:
        out_path, err_path = Path(tmp) / "out", Path(tmp) / "err"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            started = time.monotonic()
            proc = subprocess.Popen(
                cmd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                preexec_fn=bound,
                start_new_session=True,
            )
            if during is not None:
                during(proc, err_path)
            code, usage = _wait(proc, started + timeout)
            seconds = time.monotonic() - started
        return Ran(
            code,
            out_path.read_text(errors="replace"),
            err_path.read_text(errors="replace"),
            seconds,
            usage.ru_maxrss / 1024 if usage else 0.0,
        )


def _wait(proc: subprocess.Popen, deadline: float):
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage
        if time.monotonic() >= deadline:
            with _quiet():
                os.killpg(proc.pid, signal.SIGKILL)
            _pid, _status, usage = os.wait4(proc.pid, 0)
            proc.returncode = -9
            return None, usage
        time.sleep(0.05)


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], ProcessLookupError)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- servers


class Wedged:
    """Accepts TCP connections on 127.0.0.1 and never answers (a hung Ollama)."""

    def __enter__(self) -> Wedged:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return self

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.held.append(conn)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(2)
        for conn in self.held:
            conn.close()
        self.sock.close()


class Proxy:
    """Forward to a FakeOllama, except: `mode="drop"` cuts /api/chat streams after one chunk;
    `mode="502"` answers every POST with nginx's 502 page."""

    def __init__(self, upstream: str, mode: str):
        import httpx

        self.upstream, self.mode = upstream, mode
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.forward(None)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.mode == "502":
                    self.send_response(502)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(NGINX_502)))
                    self.end_headers()
                    self.wfile.write(NGINX_502)
                elif proxy.mode == "drop" and self.path.startswith("/api/chat"):
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-ndjson")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    chunk = (
                        json.dumps(
                            {
                                "model": "qwen3:8b",
                                "message": {"role": "assistant", "content": "Loc"},
                                "done": False,
                            }
                        ).encode()
                        + b"\n"
                    )
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)  # mid-stream, no final chunk
                    self.close_connection = True
                else:
                    self.forward(body)

            def forward(self, body: bytes | None) -> None:
                response = httpx.request(
                    self.command, proxy.upstream + self.path, content=body, timeout=30
                )
                data = response.content
                self.send_response(response.status_code)
                self.send_header("Content-Type", response.headers.get("content-type", ""))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Proxy:
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- cases


@dataclass
class Result:
    ok: bool
    why: str
    ran: Ran | None = None


@dataclass
class Case:
    name: str
    run: Callable[[Path], Result]
    owner: str = "hardening"
    slow: bool = False
    timeout: float = 30.0
    peak_mb: int = 400  # resident memory bound
    address_space_mb: int = 2048


@dataclass
class Env:
    """One case's project copy, data folder and environment for the CLI."""

    tmp: Path
    project: Path = field(init=False)
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.project = copy_project(ROOT, self.tmp / "project")
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SCOUTCREW_", "OLLAMA_")) and k != "PYTHONPATH"
        }
        self.env.update(
            PYTHONPATH=str(ROOT / "src"),
            SCOUTCREW_HOME=str(self.tmp / "home"),
            OLLAMA_HOST="http://127.0.0.1:9",  # nothing listens there
        )

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "scoutcrew.cli", "--project", str(self.project), *args]

    def crew(self, name: str, feeds: list[str], max_items: int = 30) -> None:
        (self.project / "crews" / f"{name}.yaml").write_text(
            f"description: {name}\nagents: [researcher, analyst, writer]\n"
            "tasks: [collect, analyse, write_digest]\nsources:\n"
            f"  feeds: {json.dumps(feeds)}\n  allow_private_hosts: true\n"
            f"  max_items: {max_items}\ninputs:\n  topic: local models\n"
        )

    def delivered(self, crew: str) -> set[str]:
        from scoutcrew.store.db import Store

        path = self.tmp / "home" / "scoutcrew.sqlite"
        if not path.exists():
            return set()
        with Store.open(path) as store:
            return store.delivered(crew)

    def cited(self, crew: str) -> tuple[set[str], int, int] | None:
        """The URLs the latest report contains, its cited and listed sources; None: no report.

        A report contains every source a model read: cited in the text, or listed under
        "Also in the evidence" (an item counts as reported when a model read it).
        """
        reports = sorted((self.project / "reports" / crew).glob("*.json"))
        if not reports:
            return None
        doc = json.loads(reports[-1].read_text())
        cited = [s for s in doc["sources"] if s["cited"]]
        urls = {u for s in doc["sources"] for u in [s["url"], *s["links"]]}
        return urls, len(cited), len(doc["sources"])


def bounded(case: Case, env: Env, cmd: list[str], **kw) -> Ran:
    return run_bounded(
        cmd, env.env, timeout=case.timeout, address_space_mb=case.address_space_mb, **kw
    )


def clean(ran: Ran) -> str | None:
    """Why a run is wrong regardless of the case: a traceback or a hang."""
    if ran.hung:
        return "hung past its bound (killed)"
    if TRACEBACK in ran.text:
        line = [x for x in ran.err.splitlines() if x.strip()][-1:] or ["?"]
        return f"traceback: {line[0][:90]}"
    return None


def expect_config_error(case: Case, env: Env, args: list[str], needle: str, count: int = 1):
    ran = bounded(case, env, env.cli(*args))
    bad = clean(ran)
    if bad:
        return Result(False, bad, ran)
    problems = re.search(r"(\d+) problem\(s\)", ran.err)
    if ran.code != 1 or needle not in ran.err:
        return Result(False, f"exit {ran.code}; {ran.err.strip()[-120:]!r}", ran)
    if problems and int(problems.group(1)) != count:
        return Result(False, f"{problems.group(1)} problems, expected {count}", ran)
    line = next(x.strip() for x in ran.err.splitlines() if needle in x)
    return Result(True, f"refused: {line[:110]}", ran)
