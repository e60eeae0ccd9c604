"""A stand-in SearXNG JSON API on 127.0.0.1 that also serves the pages its results point at."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .fake_ollama import QuietServer


class FakeSearxng:
    """A stand-in SearXNG on 127.0.0.1 that also serves the pages its results point at.

    `pages` maps a slug to (title, text); the page is served as HTML at /pages/<slug>, and
    GET /search?q=...&format=json answers like SearXNG's JSON API with the pages that share the
    most words with the query. Every query and page request is recorded.

        with FakeSearxng({"solid": ("Solid-state cells", "Solid-state cells store ...")}) as web:
            ... sources: {search_backend: searxng, searxng_url: web.url} ...
            assert web.queries == ["solid-state batteries"]
    """

    def __init__(self, pages: dict[str, tuple[str, str]], *, results: int = 5):
        self.pages = dict(pages)
        self.max_results = results
        self.queries: list[str] = []
        self.page_requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSearxng is not started; call start() or use it as a context")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def page_url(self, slug: str) -> str:
        return f"{self.url}/pages/{slug}"

    def start(self) -> FakeSearxng:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                from urllib.parse import parse_qs, urlsplit

                parts = urlsplit(self.path)
                if parts.path == "/search":
                    query = parse_qs(parts.query)
                    if query.get("format", [""])[0] != "json":
                        self._send(403, b"Forbidden", "text/plain")
                        return
                    text = query.get("q", [""])[0]
                    with fake._lock:
                        fake.queries.append(text)
                    body = json.dumps({"query": text, "results": fake.search(text)})
                    self._send(200, body.encode(), "application/json")
                    return
                slug = parts.path.removeprefix("/pages/")
                if parts.path.startswith("/pages/") and slug in fake.pages:
                    with fake._lock:
                        fake.page_requests.append(slug)
                    self._send(200, fake.html(slug).encode(), "text/html; charset=utf-8")
                    return
                self._send(404, b"not found", "text/plain")

            def _send(self, status: int, data: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSearxng:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def search(self, query: str) -> list[dict[str, Any]]:
        """The results for `query`: pages sharing its words, most shared first."""

        def words(text: str) -> set[str]:
            return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}

        wanted = words(query)
        scored = []
        for slug, (title, text) in self.pages.items():
            score = len(wanted & words(title)) * 2 + len(wanted & words(text))
            if score:
                scored.append((-score, slug))
        out = []
        for _score, slug in sorted(scored)[: self.max_results]:
            title, text = self.pages[slug]
            out.append(
                {
                    "url": self.page_url(slug),
                    "title": title,
                    "content": text[:160],
                    "engine": "fake",
                    "engines": ["fake"],
                    "score": -_score,
                }
            )
        return out

    def html(self, slug: str) -> str:
        from html import escape

        title, text = self.pages[slug]
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p.strip())
        return (
            f"<!doctype html><html><head><title>{escape(title)}</title></head><body>"
            f"<nav><a href='/'>Home</a></nav><article><h1>{escape(title)}</h1>{paragraphs}"
            "</article><footer>Fake web</footer></body></html>"
        )
