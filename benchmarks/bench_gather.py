"""Benchmark gathering: 200 feeds x 50 items from local servers, against a sequential loop.

    python benchmarks/bench_gather.py [--feeds 200] [--items 50] [--latency 0.03]

The feeds are served by a separate process on 20 loopback addresses (127.0.0.1-127.0.0.20,
10 feeds each), so the per-host limit applies as it would to 20 real sites. Every response is
delayed by --latency seconds, like a remote host; without it a local server answers in
microseconds and the comparison would measure parsing only.

Prints, in one run: scoutcrew's gather (wall time, items/s), a plain sequential
`feedparser.parse(url)` loop over the same feeds, their ratio, and a second gather with nothing
changed (every feed answers 304). Targets: ratio >= 10, re-run < 1 s.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import sys
import tempfile
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOSTS = 20
ROOT = Path(__file__).resolve().parents[1]


def feed_body(feed: int, items: int) -> bytes:
    """Build a realistic RSS 2.0 feed: HTML summaries, dates, tracking parameters."""
    parts = [
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench feed {feed}</title><link>https://feed{feed}.example/</link>"
    ]
    for i in range(items):
        parts.append(
            f"<item><title>Feed {feed} story {i}: local model news item</title>"
            f"<link>https://feed{feed}.example/posts/{i}?utm_source=rss</link>"
            f"<guid>feed{feed}-{i}</guid>"
            f"<pubDate>Mon, {1 + i % 28:02d} Nov 2026 10:{i % 60:02d}:00 GMT</pubDate>"
            f"<description><![CDATA[<p>Story {i} of feed {feed} reports on <b>quantised</b> "
            f"models, context windows and evaluation results, with figures from several "
            f"labs.</p><p>It adds a second paragraph with <a href='https://x.example/{i}'>a "
            f"link</a> and more detail for readers who want the numbers.</p>]]></description>"
            f"</item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def serve(port: int, feeds: int, items: int, latency: float, ready) -> None:
    """Run one HTTP server per loopback address until the parent process ends."""
    bodies = {f: feed_body(f, items) for f in range(feeds)}
    etags = {f: '"' + hashlib.sha1(b).hexdigest()[:16] + '"' for f, b in bodies.items()}
    modified = formatdate(usegmt=True)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            time.sleep(latency)
            feed = int(self.path.strip("/").split(".")[0].removeprefix("feed"))
            if self.headers.get("If-None-Match") == etags[feed]:
                self.send_response(304)
                self.send_header("ETag", etags[feed])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = bodies[feed]
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etags[feed])
            self.send_header("Last-Modified", modified)
            self.end_headers()
            self.wfile.write(body)

    servers = []
    for h in range(HOSTS):
        srv = ThreadingHTTPServer((f"127.0.0.{h + 1}", port), Handler)
        srv.daemon_threads = True
        srv.request_queue_size = 128
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    ready.set()
    threading.Event().wait()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.03)
    args = parser.parse_args()

    from scoutcrew.config.models import SourcesConfig
    from scoutcrew.gather.feeds import gather
    from scoutcrew.store.db import Store

    port = free_port()
    ready = multiprocessing.Event()
    proc = multiprocessing.Process(
        target=serve, args=(port, args.feeds, args.items, args.latency, ready), daemon=True
    )
    proc.start()
    ready.wait(30)
    urls = [f"http://127.0.0.{f % HOSTS + 1}:{port}/feed{f}.xml" for f in range(args.feeds)]
    total = args.feeds * args.items
    print(
        f"{args.feeds} feeds x {args.items} items from a local server process on {HOSTS} "
        f"loopback addresses, {args.latency * 1000:.0f} ms added latency per request "
        f"(like a remote host); imports excluded from both timings"
    )
    import feedparser

    try:
        with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "s.sqlite") as store:
            # Warm-up on one feed with a throwaway store: module imports (httpx, lxml, ...)
            # are paid here, as feedparser's import is paid above, outside both timings.
            with Store.open(Path(tmp) / "warm.sqlite") as warm:
                gather(
                    SourcesConfig(feeds=urls[:1], allow_private_hosts=True),
                    store=warm,
                    project_root=ROOT,
                )
            config = SourcesConfig(feeds=urls, allow_private_hosts=True)
            t0 = time.perf_counter()
            first = gather(config, store=store, project_root=ROOT)
            gather_s = time.perf_counter() - t0
            assert len(first.items) == total and not first.notes, first.notes[:3]

            t0 = time.perf_counter()
            seq_items = sum(len(feedparser.parse(url).entries) for url in urls)
            seq_s = time.perf_counter() - t0
            assert seq_items == total, seq_items

            t0 = time.perf_counter()
            again = gather(config, store=store, project_root=ROOT)
            rerun_s = time.perf_counter() - t0
            assert again.stats["feeds_not_modified"] == args.feeds, again.stats
            assert len(again.items) == total
    finally:
        proc.terminate()
        proc.join(5)

    ratio = seq_s / gather_s
    print(f"scoutcrew gather        {gather_s:7.2f} s  {total / gather_s:9.0f} items/s")
    print(f"sequential feedparser   {seq_s:7.2f} s  {total / seq_s:9.0f} items/s")
    print(f"ratio                   {ratio:7.1f} x   (target >= 10)")
    print(f"re-run, all 304         {rerun_s:7.2f} s  (target < 1 s)")
    ok = ratio >= 10 and rerun_s < 1.0
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
