"""The agent tools (web_search, read_page) and the run's progress output."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scoutcrew.commands.progress import Progress
from scoutcrew.crew.tools import SNIPPET_CHARS, make_tools, page_text, search_text
from scoutcrew.gather.search import Searcher
from scoutcrew.llm.ledger import CallRecord

ARTICLE = (
    "<html><head><title>Kestrel notes</title><script>alert('x')</script></head><body>"
    "<nav>Home | About</nav><article><h1>Running Kestrel-7B at 4-bit</h1>"
    + "".join(
        f"<p>Paragraph {i}: the 4-bit build of Kestrel-7B answered long-document questions "
        "on a 16 GB laptop at about twelve tokens per second, close to the 8-bit build.</p>"
        for i in range(8)
    )
    + '<a href="javascript:steal()">click</a></article></body></html>'
)


@pytest.fixture
def page_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = ARTICLE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/kestrel.html"
    server.shutdown()
    server.server_close()


def test_search_answers_compactly_and_never_hides_a_failure() -> None:
    long_body = "word " * 200
    results = [{"title": "Kestrel-7B released", "href": "https://a.example/k", "body": long_body}]
    text = search_text("kestrel", Searcher(search=lambda q, b, n: results))
    assert text.startswith("1. Kestrel-7B released <https://a.example/k>")
    assert len(text.splitlines()[1].strip()) <= SNIPPET_CHARS

    assert "no results for 'nothing'" in search_text("nothing", Searcher(search=lambda *a: []))

    def broken(query: str, backend: str, n: int) -> list:
        raise RuntimeError("202 Ratelimit")

    failed = search_text("kestrel", Searcher(search=broken, sleep=lambda s: None))
    assert failed.startswith("Search failed")
    assert "do not treat this as 'nothing found'" in failed


def test_read_page_follows_the_address_rules_and_returns_clean_text(
    page_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCOUTCREW_ALLOW_PRIVATE_HOSTS", raising=False)
    refused = page_text(page_server, tmp_path)
    assert refused.startswith(f"Could not read {page_server}") and "loopback" in refused

    monkeypatch.setenv("SCOUTCREW_ALLOW_PRIVATE_HOSTS", "1")
    text = page_text(page_server, tmp_path)
    assert "twelve tokens per second" in text
    assert "alert(" not in text and "javascript:" not in text
    assert len(text) <= 2_500 + len(" [...]")


def test_make_tools_builds_crewai_tools_by_name(
    page_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCOUTCREW_ALLOW_PRIVATE_HOSTS", "1")
    search, read = make_tools(["web_search", "read_page"], tmp_path)
    assert (search.name, read.name) == ("web_search", "read_page")
    assert "twelve tokens per second" in read.run(url=page_server)


def record(prompt: int, completion: int, ok: bool = True) -> CallRecord:
    return CallRecord(
        spec="ollama/qwen3:8b",
        backend="ollama",
        agent="researcher",
        task="collect",
        prompt_tokens=prompt,
        completion_tokens=completion,
        ok=ok,
        error=None if ok else "503 server busy",
    )


def test_progress_prints_plain_lines_off_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(stream=out)  # a StringIO is not a terminal
    progress("gathering sources")
    progress.on_call(record(1200, 80))
    progress.on_call(record(0, 0, ok=False))
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("] gathering sources")
    assert "call 1: researcher/collect on ollama/qwen3:8b: 1200 prompt + 80 output" in lines[1]
    assert "failed (503 server busy)" in lines[2]
    assert (progress.calls, progress.prompt_tokens, progress.completion_tokens) == (2, 1200, 80)


def test_progress_live_status_keeps_the_stage_log() -> None:
    out = io.StringIO()
    progress = Progress(stream=out, live=True)
    progress("running 3 tasks (sequential)")
    progress.on_call(record(500, 20))
    progress.close()
    assert "running 3 tasks (sequential)" in out.getvalue()
    assert "1 calls, 500 prompt + 20 output tokens" in progress._line()
