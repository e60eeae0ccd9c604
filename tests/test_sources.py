"""Gathering against a real HTTP server on 127.0.0.1 serving good and hostile feeds."""

from __future__ import annotations

from pathlib import Path

import pytest
from feedserver import FeedServer, RateLimitingSearch

from scoutcrew.config.schema import SourcesConfig
from scoutcrew.errors import SourceError
from scoutcrew.gather.feeds import gather, parse_date, parse_feed
from scoutcrew.gather.fetch import FetchLimits
from scoutcrew.gather.items import MAX_TEXT_CHARS
from scoutcrew.gather.safety import check_xml, html_to_text
from scoutcrew.gather.search import Searcher
from scoutcrew.store.db import Store

ROOT = Path(__file__).resolve().parents[1]
ACTIVE = ("<script", "</", "javascript:", "onclick", "onerror", "document.cookie", "<iframe")
FAST = FetchLimits(connect_timeout=2, read_timeout=1, total_timeout=1.5)


@pytest.fixture
def server():
    with FeedServer() as srv:
        yield srv


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "home" / "scoutcrew.sqlite") as st:
        yield st


@pytest.fixture(autouse=True)
def no_private_env(monkeypatch):
    monkeypatch.delenv("SCOUTCREW_ALLOW_PRIVATE_HOSTS", raising=False)


def run(store, feeds, *, limits=FAST, allow=True, backend=None, **config):
    sources = SourcesConfig(feeds=feeds, allow_private_hosts=allow, **config)
    return gather(sources, store=store, project_root=ROOT, limits=limits, search_backend=backend)


def assert_inert(gathered):
    for item in gathered.items:
        for field in (item.title, item.text):
            for marker in ACTIVE:
                assert marker not in field.lower(), (marker, field)
        assert len(item.text) <= MAX_TEXT_CHARS


def test_rss_atom_and_json_feed_become_clean_items(server, store):
    g = run(store, [f"{server.url}/good.xml", f"{server.url}/atom.xml", f"{server.url}/feed.json"])
    assert g.notes == []
    by_title = {i.title: i for i in g.items}
    assert set(by_title) == {
        "Alpha model released",
        "Beta benchmark results",
        "Gamma runtime adds caching",
        "Delta quantisation",
    }
    alpha = by_title["Alpha model released"]
    assert alpha.url == "https://news.example/alpha"  # utm_source dropped
    assert alpha.text == "The alpha model reads long documents quickly."
    assert alpha.feed_title == "Good RSS"
    assert by_title["Gamma runtime adds caching"].url == f"{server.url}/gamma"  # made absolute
    assert by_title["Delta quantisation"].text == "Delta explores 4-bit builds."
    assert by_title["Delta quantisation"].published.isoformat() == "2026-11-21T08:00:00+00:00"
    assert g.stats["feeds_ok"] == 3 and g.stats["feeds_failed"] == 0


def test_rerun_uses_conditional_get_and_reads_items_from_the_store(server, store):
    feeds = [f"{server.url}/good.xml", f"{server.url}/atom.xml", f"{server.url}/feed.json"]
    first = run(store, feeds)
    server.requests.clear()
    second = run(store, feeds)
    assert all("If-None-Match" in r["headers"] for r in server.requests)
    assert all("If-Modified-Since" in r["headers"] for r in server.requests)
    assert second.stats["feeds_not_modified"] == 3
    assert sorted(i.url for i in second.items) == sorted(i.url for i in first.items)
    assert {i.feed_title for i in second.items} == {"Good RSS", "Good Atom", "Good JSON"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/500", "HTTP 500"),
        ("/page.html", "HTML page, not a feed"),
        ("/huge.xml", "too large"),
        ("/bomb.xml", "decompresses to over"),
        ("/loop-a", "redirect loop"),
        ("/hop/9", "more than 5 redirects"),
        ("/to-metadata", "link-local address 169.254.169.254"),
        ("/to-file", "only http(s)"),
        ("/entities.xml", "entity"),
        ("/xxe.xml", "entity"),
        ("/slow.xml", "timed out"),
        ("/missing.xml", "HTTP 404"),
    ],
)
def test_hostile_feed_is_refused_with_a_note_and_the_run_goes_on(server, store, path, expected):
    g = run(store, [f"{server.url}{path}", f"{server.url}/good.xml"])
    errors = [n for n in g.notes if n.level == "error"]
    assert len(errors) == 1, g.notes
    assert errors[0].source == f"{server.url}{path}"
    assert expected in errors[0].message
    assert {i.title for i in g.items} == {"Alpha model released", "Beta benchmark results"}
    assert g.stats["feeds_failed"] == 1 and g.stats["feeds_ok"] == 1
    assert store.feed_state(f"{server.url}{path}").last_error == errors[0].message


def test_private_addresses_are_refused_before_any_connection(server, store):
    # Generous timeouts: had a connection to 10.0.0.1 been attempted, the note would be a
    # timeout or a connection error, not a refusal naming the address.
    patient = FetchLimits(connect_timeout=30, read_timeout=30, total_timeout=60)
    g = run(
        store, ["http://10.0.0.1/feed.xml", f"{server.url}/to-private"], allow=False, limits=patient
    )
    messages = {n.source.rsplit("/", 1)[-1]: n.message for n in g.notes}
    assert messages["feed.xml"].startswith("refused 10.0.0.1: private address 10.0.0.1")
    assert messages["to-private"].startswith("refused 127.0.0.1: loopback address")
    assert server.requests == []  # the loopback check also came before connecting


def test_link_local_is_refused_even_when_private_hosts_are_allowed(server, store):
    patient = FetchLimits(connect_timeout=30, read_timeout=30, total_timeout=60)
    g = run(store, [f"{server.url}/to-metadata", "http://[fe80::1]/feed"], limits=patient)
    assert sorted(n.message.split(": ", 1)[1] for n in g.notes) == [
        "link-local address 169.254.169.254 (never allowed)",
        "link-local address fe80::1 (never allowed)",
    ]
    assert server.paths() == ["/to-metadata"]


def test_loopback_refused_unless_allowed_by_setting_or_environment(server, store, monkeypatch):
    g = run(store, [f"{server.url}/good.xml"], allow=False)
    assert g.items == [] and "allow_private_hosts" in g.notes[0].message
    assert server.requests == []
    monkeypatch.setenv("SCOUTCREW_ALLOW_PRIVATE_HOSTS", "1")
    g = run(store, [f"{server.url}/good.xml"], allow=False)
    assert len(g.items) == 2 and g.notes == []


def test_short_redirect_chain_is_followed(server, store):
    g = run(store, [f"{server.url}/hop/3"])
    assert g.notes == [] and len(g.items) == 2
    assert server.paths() == ["/hop/3", "/hop/2", "/hop/1", "/good.xml"]


def test_malformed_feed_keeps_what_parsed_and_says_so(server, store):
    g = run(store, [f"{server.url}/malformed.xml"])
    assert "Survivor story" in {i.title for i in g.items}
    warnings = [n for n in g.notes if n.level == "warning"]
    assert warnings and "parsed with errors" in warnings[0].message
    assert_inert(g)


def test_scripts_and_javascript_links_never_get_through(server, store):
    g = run(store, [f"{server.url}/script.xml"])
    assert_inert(g)
    texts = {i.title: i.text for i in g.items}
    assert texts["Scripted story"] == "Visible text.\nlink"
    assert "Bad link" not in texts  # its only link was a script
    assert "[script link removed]" in texts["Plain text scheme"]
    assert any("without a link" in n.message for n in g.notes)


def test_size_cap_checks_declared_length_and_bytes_on_the_wire(server, store):
    small = FetchLimits(total_timeout=3, max_bytes=300)
    g = run(store, [f"{server.url}/good.xml", f"{server.url}/bomb.xml"], limits=small)
    messages = sorted(n.message for n in g.notes)
    assert len(messages) == 2
    assert all(m.startswith("too large") and "declared (limit 300)" in m for m in messages)
    assert g.items == []


def test_per_host_limit_bounds_concurrent_requests(store):
    with FeedServer(delay=0.05) as srv:
        feeds = [f"{srv.url}/good.xml?n={i}" for i in range(12)]
        g = run(store, feeds, limits=FetchLimits(per_host=2, concurrency=8))
        assert srv.max_in_flight == 2
    assert g.stats["feeds_ok"] == 12


def test_project_files_only_inside_the_project(store, tmp_path):
    outside = tmp_path / "outside.xml"
    outside.write_bytes(b"<rss/>")
    g = run(
        store,
        [
            "examples/feeds/lab-notes.xml",
            (ROOT / "examples/feeds/model-watch.atom").as_uri(),
            outside.as_uri(),
            "../../etc/passwd",
        ],
    )
    refused = [n for n in g.notes if n.level == "error"]
    assert len(refused) == 2
    assert all("only inside the project folder" in n.message for n in refused)
    assert {i.feed_title for i in g.items} == {
        "Lab Notes: applied AI research digest",
        "Model Watch",
    }
    assert_inert(g)


def test_demo_feeds_are_clean_and_include_the_injection_item(store):
    g = run(
        store,
        [
            "examples/feeds/lab-notes.xml",
            "examples/feeds/model-watch.atom",
            "examples/feeds/open-weights.json",
        ],
    )
    assert g.notes == [] and len(g.items) == 28
    assert_inert(g)
    injected = [i for i in g.items if "ignore previous instructions" in i.text.lower()]
    assert len(injected) == 1 and "http://evil.example/free-gpu-credits" in injected[0].text


def sleeper(log):
    return lambda seconds: log.append(seconds)


def test_search_retries_rate_limits_with_backoff_then_answers(server, store):
    delays: list[float] = []
    fake = RateLimitingSearch(limits={"duckduckgo": 2})
    searcher = Searcher(search=fake, base_delay=0.01, sleep=sleeper(delays))
    g = run(store, [], search=["local models"], search_backend="duckduckgo", backend=searcher)
    assert fake.calls == [("local models", "duckduckgo")] * 3
    assert len(delays) == 2 and all(0 < d <= 0.03 for d in delays)
    assert [i.url for i in g.items] == ["https://search.example/hit"]
    assert g.items[0].text == "Local models keep getting faster."
    assert g.degraded == []


def test_search_falls_back_to_another_backend(store):
    fake = RateLimitingSearch(limits={"duckduckgo": -1})
    searcher = Searcher(search=fake, retries=1, base_delay=0.0, sleep=sleeper([]))
    g = gather(
        SourcesConfig(search=["q"], search_backend="duckduckgo"),
        store=store,
        project_root=ROOT,
        search_backend=searcher,
    )
    assert [b for _q, b in fake.calls] == ["duckduckgo", "duckduckgo", "brave"]
    assert len(g.items) == 1
    assert any("fallback backend brave" in n.message for n in g.notes)


def test_failed_search_is_degraded_not_empty_and_feeds_still_count(server, store):
    fake = RateLimitingSearch(limits={"duckduckgo": -1, "brave": -1}, fail={"mojeek"})
    searcher = Searcher(search=fake, retries=1, base_delay=0.0, sleep=sleeper([]))
    config = SourcesConfig(
        feeds=[f"{server.url}/good.xml"],
        search=["q"],
        search_backend="duckduckgo",
        allow_private_hosts=True,
    )
    g = gather(config, store=store, project_root=ROOT, search_backend=searcher)
    assert len(g.items) == 2  # the feed's items
    assert len(g.degraded) == 1 and "search 'q' failed" in g.degraded[0]
    # One clean line per backend, each once, in the notes; the degraded line says only
    # what it costs the report.
    lines = [n.message for n in g.notes if n.kind == "search"]
    assert lines == [
        "duckduckgo: rate limited (by html.duckduckgo.com)",
        "brave: rate limited (by html.duckduckgo.com)",
        "mojeek: failed (cannot connect to the engine)",
    ]
    assert "rate limited" not in g.degraded[0] and "mojeek" not in g.degraded[0]
    assert g.stats["searches_failed"] == 1


def test_a_failed_search_names_each_engine_once_and_never_cuts_a_url() -> None:
    from ddgs.exceptions import DDGSException

    from scoutcrew.errors import SearchFailed

    long_url = "https://search.yahoo.com/search?p=" + "local+models+" * 20

    def offline(query: str, backend: str, max_results: int) -> list[dict]:
        # ddgs's "auto" picks an engine itself: here the same one the brave fallback uses.
        host = {"auto": "search.brave.com", "brave": "search.brave.com"}.get(backend)
        url = f"https://{host}/search?q=x" if host else long_url
        raise DDGSException(f"DNSError: DNSError('error sending request for url ({url})')")

    searcher = Searcher(search=offline, retries=0, fallbacks=("duckduckgo", "brave"))
    with pytest.raises(SearchFailed) as caught:
        searcher.run("local models", "auto", 5)
    assert caught.value.problems == [
        "duckduckgo: failed (cannot resolve search.yahoo.com)",
        "brave: failed (cannot resolve search.brave.com)",
    ]


def test_search_results_are_cached_per_query_and_day(store):
    fake = RateLimitingSearch()
    config = SourcesConfig(search=["a", "b"])
    first = gather(config, store=store, project_root=ROOT, search_backend=fake)
    second = gather(config, store=store, project_root=ROOT, search_backend=fake)
    assert len(fake.calls) == 2
    assert second.stats["searches_cached"] == 2
    assert [i.url for i in second.items] == [i.url for i in first.items]


def test_search_that_finds_nothing_is_said_to_find_nothing(store):
    fake = RateLimitingSearch(results=[])
    g = gather(
        SourcesConfig(search=["nothing"]), store=store, project_root=ROOT, search_backend=fake
    )
    assert g.items == [] and g.degraded == []
    assert any("found nothing" in n.message for n in g.notes)


def test_top_pages_main_text_replaces_the_summary_and_is_cached(server, store):
    server.extra["/links.xml"] = (
        200,
        {"Content-Type": "application/rss+xml"},
        _links_feed(server.url),
    )
    config = SourcesConfig(
        feeds=[f"{server.url}/links.xml"], pages=1, keywords=["speed"], allow_private_hosts=True
    )
    g = gather(config, store=store, project_root=ROOT)
    by_url = {i.url: i for i in g.items}
    enriched = by_url[f"{server.url}/article/2.html"]
    assert "careful prompt construction mattered more" in enriched.text
    assert "Copyright notice" not in enriched.text
    assert_inert(g)
    assert by_url[f"{server.url}/article/1.html"].text == "Short."  # only the top 1 page
    assert g.stats["pages"]["pages"] == 1
    server.requests.clear()
    again = gather(config, store=store, project_root=ROOT)
    page_requests = [r for r in server.requests if r["path"].startswith("/article/")]
    assert page_requests and "If-None-Match" in page_requests[0]["headers"]
    assert again.stats["pages"]["pages_cached"] == 1


def _links_feed(base: str) -> bytes:
    from feedserver import rss

    return rss(
        "Links",
        [
            ("Unrelated gardening", f"{base}/article/1.html", "Short."),
            ("Model speed study", f"{base}/article/2.html", "Speed speed."),
        ],
    )


def test_html_to_text_and_dates_and_xml_checks():
    assert html_to_text("<p>a<br>b</p><script>x</script><p>c &amp; d</p>") == "a\nb\nc & d"
    assert html_to_text("plain  text") == "plain text"
    assert parse_date("Mon, 23 Nov 2026 09:15:00 +0100").isoformat() == (
        "2026-11-23T08:15:00+00:00"
    )
    assert parse_date("2026-11-23T09:15:00Z").isoformat() == "2026-11-23T09:15:00+00:00"
    assert parse_date("yesterday") is None
    assert check_xml(b"<rss><channel/></rss>") is True
    assert check_xml(b"<rss><channel></rss>") is False


RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://r.example/"><title>RDF feed</title></channel>
<item rdf:about="https://r.example/1"><title>One</title><link>https://r.example/1</link>
<description>D &lt;b&gt;bold&lt;/b&gt;</description><dc:date>2026-11-20T10:00:00Z</dc:date></item>
</rdf:RDF>"""

RSS091 = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title>
<item><title>A</title><link>https://o.example/a</link><description>d</description></item>
</channel></rss>"""


def test_rss_1_0_and_0_91_parse():
    rdf = parse_feed(RDF, "https://r.example/feed")
    assert rdf.title == "RDF feed"
    assert rdf.entries[0]["link"] == "https://r.example/1"
    assert rdf.entries[0]["summary"] == "D <b>bold</b>"
    assert rdf.entries[0]["published"].isoformat() == "2026-11-20T10:00:00+00:00"
    old = parse_feed(RSS091, "https://o.example/rss")
    assert (old.title, old.entries[0]["title"]) == ("Old", "A")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"items": []}', "not a JSON Feed"),
        (b"{not json", "invalid JSON feed"),
        (b'{"a":' * 100_000, "invalid JSON feed"),
        (b"   ", "empty response"),
        (b"<html><body>hi</body></html>", "HTML page"),
        (b"<?xml version='1.0'?><catalog><book/></catalog>", "not a feed"),
    ],
)
def test_documents_that_are_not_feeds_are_named(body, message):
    with pytest.raises(SourceError, match=message):
        parse_feed(body, "https://x.example/feed")


def test_progress_is_reported_per_feed_and_gather_works_inside_an_event_loop(server, store):
    import asyncio

    seen: list[tuple] = []
    config = SourcesConfig(
        feeds=[f"{server.url}/good.xml", f"{server.url}/500"], allow_private_hosts=True
    )

    async def caller():
        # An async caller (a notebook, say) already runs a loop: gather must still work.
        return gather(config, store=store, project_root=ROOT, progress=lambda *a: seen.append(a))

    g = asyncio.run(caller())
    assert len(g.items) == 2
    assert sorted((kind, done, total) for kind, _src, done, total in seen) == [
        ("feed", 1, 2),
        ("feed", 2, 2),
    ]
