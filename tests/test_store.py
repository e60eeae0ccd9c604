"""The SQLite store: migrations, WAL, caches, deliveries, use from several threads."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from scoutcrew.store import db as store_module
from scoutcrew.store.db import Store


def row(url: str, title: str = "T", text: str = "x") -> dict:
    return {
        "url": url,
        "title": title,
        "text": text,
        "published": None,
        "content_hash": f"h-{url}",
        "links": [url],
    }


def test_new_store_is_wal_and_fully_migrated(tmp_path):
    path = tmp_path / "deep" / "dir" / "scoutcrew.sqlite"
    with Store.open(path) as st:
        assert st.schema_version == len(store_module.migrations)
        assert st.execute("PRAGMA journal_mode")[0][0] == "wal"
        tables = {r["name"] for r in st.execute("SELECT name FROM sqlite_master")}
        assert {
            "items",
            "feeds",
            "feed_items",
            "search_cache",
            "page_cache",
            "deliveries",
        } <= tables
    with Store.open(path) as st:  # reopening does not re-run anything
        assert st.schema_version == len(store_module.migrations)


def test_appended_migration_runs_once_and_a_failing_one_rolls_back(tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite"
    Store.open(path).close()
    base = len(store_module.migrations)
    monkeypatch.setattr(
        store_module,
        "migrations",
        [*store_module.migrations, "CREATE TABLE probe (id INTEGER PRIMARY KEY);"],
    )
    with Store.open(path) as st:
        assert st.schema_version == base + 1
        st.execute("INSERT INTO probe (id) VALUES (1)")
    monkeypatch.setattr(
        store_module,
        "migrations",
        [*store_module.migrations, "CREATE TABLE half (x INT); CREATE TABLE broken (;"],
    )
    with pytest.raises(sqlite3.OperationalError):
        Store.open(path)
    with _raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == base + 1
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "half" not in names and "probe" in names


def _raw(path):
    return sqlite3.connect(path)


def test_feed_state_keeps_validators_on_failure(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as st:
        url = "https://f.example/rss"
        assert st.feed_state(url) is None
        st.record_feed_fetch(url, status=200, title="F", etag='"abc"', last_modified="Mon")
        st.record_feed_fetch(url, status=None, error="timed out", keep_validators=True)
        state = st.feed_state(url)
        assert (state.etag, state.last_modified, state.title) == ('"abc"', "Mon", "F")
        assert (state.last_status, state.last_error) == (None, "timed out")
        st.record_feed_fetch(url, status=200, etag=None)
        assert st.feed_state(url).etag is None


def test_feed_items_replace_the_feed_window_and_keep_first_seen(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as st:
        st.save_feed_items("feed", [row("https://a"), row("https://b")])
        first_seen = st.item("https://a")["first_seen"]
        st.save_feed_items("feed", [row("https://c"), row("https://a", title="A2")])
        items = st.feed_items("feed")
        assert [i["url"] for i in items] == ["https://c", "https://a"]
        assert items[1]["title"] == "A2" and items[1]["first_seen"] == first_seen
        assert items[1]["links"] == ["https://a"]
        assert st.item("https://b") is not None  # items outlive the feed window


def test_search_and_page_caches(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as st:
        results = [{"title": "t", "href": "https://h", "body": "b"}]
        st.cache_search("q", "auto", "2026-11-23", results)
        assert st.cached_search("q", "auto", "2026-11-23") == results
        assert st.cached_search("q", "auto", "2026-11-24") is None
        assert st.cached_search("q", "brave", "2026-11-23") is None
        st.cache_page("https://p", "main text", '"e1"', None)
        page = st.cached_page("https://p")
        assert (page.text, page.etag, page.last_modified) == ("main text", '"e1"', None)


def test_deliveries_per_crew_from_many_threads(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as st:

        def deliver(n: int) -> None:
            for i in range(20):
                st.mark_delivered("demo", [f"https://x/{n}/{i}"])
                st.delivered("demo")

        threads = [threading.Thread(target=deliver, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(st.delivered("demo")) == 160
        assert st.delivered("other") == set()
        st.mark_delivered("demo", ["https://x/0/0"])  # idempotent
        assert len(st.delivered("demo")) == 160
