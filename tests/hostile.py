"""Hostile inputs shared by the hardening tests and benchmarks/bench_hostile.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RSS091_DOCTYPE = (
    '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
    '"http://my.netscape.com/publish/formats/rss-0.91.dtd">'
)
CONTROL_CHARS = [chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]]

# Titles a terminal would act on: clear screen, window title, a fake hyperlink, C1 CSI.
ESCAPE_TITLE = (
    "\x1b[2J\x1b]0;owned\x07Clear \x1b]8;;https://evil.example/\x07screen\x1b]8;;\x07 \x9b31mnews"
)
ESCAPE_REPLY = (
    "Final Answer: \x1b[2J\x1b]0;owned\x07Local models got faster [S1]. "
    "\x1b]8;;https://evil.example/\x07Click here\x1b]8;;\x07 \x9b6n\x07"
)
NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.24.0</center>\r\n"
    b"</body>\r\n</html>\r\n"
    + b"<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n"
    * 6
)


def alias_bomb(levels: int = 9) -> str:
    """The YAML "billion laughs": each anchor is a list of nine aliases of the one before."""
    text = "a: &a [" + ", ".join(['"lol"'] * 9) + "]\n"
    previous = "a"
    for name in "bcdefghijklmnop"[: levels - 1]:
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


def deep_yaml(levels: int = 3000) -> str:
    return "description: " + "[" * levels + "]" * levels + "\n"


def deep_block_yaml(levels: int = 1000) -> str:
    return "description:\n" + "".join(" " * i + "-\n" for i in range(1, levels)) + "\n"


def rss091(encoding: str, title: str, declared: str | None = None) -> bytes:
    """An RSS 0.91 feed with the standard DOCTYPE, in `encoding`, declared as `declared`."""
    text = (
        f'<?xml version="1.0" encoding="{declared or encoding}"?>\n{RSS091_DOCTYPE}\n'
        '<rss version="0.91"><channel><title>' + title + "</title>"
        "<link>https://feed.example/</link><description>d</description><language>zh</language>"
        f"<item><title>{title} 1</title><link>https://feed.example/1</link>"
        f"<description>{title}: the first story.</description></item>"
        "</channel></rss>"
    )
    return text.encode(encoding)


def damaged_utf8() -> bytes:
    """A UTF-8 feed with accented text and three stray Latin-1 bytes."""
    good = rss091("utf-8", "Café naïve résumé Zürich").replace(b"first", b"f\xe9rst\xff\xfe")
    return good


def escape_feed() -> bytes:
    """RSS whose channel title, item titles and text carry raw terminal escapes."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>&lt;b&gt;Escapes&lt;/b&gt; \x1b]0;retitled\x07 weekly</title>"
        f"<item><title>{ESCAPE_TITLE}</title><link>https://esc.example/1</link>"
        "<description>Local models got faster \x1b[31mred\x1b[0m and \x07\x08\x7f done."
        "</description></item>"
        "<item><title>Second \x9d8;;https://evil.example/\x9c story</title>"
        "<link>https://esc.example/2</link><description>Plain &#27;[2J text.</description>"
        "</item></channel></rss>"
    ).encode()


@contextmanager
def errors_only(body: bytes = NGINX_502, status: int = 502) -> Iterator[str]:
    """A server on 127.0.0.1 that answers every request with `status` and nginx's page: a
    proxy in front of a dead Ollama. Yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def answer(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
