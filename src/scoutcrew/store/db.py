"""The SQLite store: items, feed fetch state, search and page caches, crew deliveries.

One file in the data directory, in WAL mode so readers never wait on the writer. The schema
grows through `migrations`, an ordered list of SQL scripts: the database's user_version says
how many have run, and opening a store applies the rest in one transaction each.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Append new scripts at the end; never edit one that has shipped.
migrations: list[str] = [
    # 1: gathering and evidence
    """
    CREATE TABLE items (
        url TEXT PRIMARY KEY,          -- canonical URL
        title TEXT NOT NULL,
        text TEXT NOT NULL,            -- clean plain text, never HTML
        published TEXT,                -- ISO 8601 (UTC) or NULL
        content_hash TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        links TEXT NOT NULL DEFAULT '[]'  -- JSON list of every URL the item was seen at
    );
    CREATE TABLE feeds (
        url TEXT PRIMARY KEY,
        title TEXT,
        etag TEXT,
        last_modified TEXT,
        last_status INTEGER,
        last_error TEXT,
        last_fetched TEXT
    );
    CREATE TABLE feed_items (
        feed_url TEXT NOT NULL,
        url TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (feed_url, url)
    );
    CREATE TABLE search_cache (
        query TEXT NOT NULL,
        backend TEXT NOT NULL,
        day TEXT NOT NULL,
        results TEXT NOT NULL,         -- JSON list of {title, href, body}
        created TEXT NOT NULL,
        PRIMARY KEY (query, backend, day)
    );
    CREATE TABLE page_cache (
        url TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        text TEXT NOT NULL,
        fetched TEXT NOT NULL
    );
    CREATE TABLE deliveries (
        crew TEXT NOT NULL,
        url TEXT NOT NULL,
        delivered_at TEXT NOT NULL,
        PRIMARY KEY (crew, url)
    );
    """,
    # 2: run history (see runs.py)
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        crew TEXT NOT NULL,
        config_hash TEXT NOT NULL,
        inputs TEXT NOT NULL,           -- JSON
        options TEXT NOT NULL,          -- JSON: model override, backend, all_items, output dir
        status TEXT NOT NULL,           -- running | ok | nothing-new | failed | interrupted
        started_at TEXT NOT NULL,
        ended_at TEXT,
        report TEXT,
        error TEXT,
        evidence TEXT,                  -- JSON: the evidence pack the tasks received
        notes TEXT NOT NULL DEFAULT '[]',
        degraded TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX runs_crew ON runs (crew, started_at);
    CREATE TABLE run_tasks (
        run_id TEXT NOT NULL REFERENCES runs (id),
        position INTEGER NOT NULL,
        task TEXT NOT NULL,
        agent TEXT,
        output TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        PRIMARY KEY (run_id, task)
    );
    CREATE TABLE llm_calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs (id),
        spec TEXT NOT NULL,
        backend TEXT,
        host TEXT,
        agent TEXT,
        task TEXT,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        total_ms REAL, load_ms REAL, prompt_eval_ms REAL, eval_ms REAL, wall_ms REAL,
        ok INTEGER NOT NULL,
        error TEXT,
        fallback_from TEXT,
        started_at TEXT
    );
    CREATE INDEX llm_calls_run ON llm_calls (run_id);
    """,
    # 3: per-source notes (the map step) and stories tracked across runs
    """
    CREATE TABLE notes (
        content_hash TEXT NOT NULL,     -- hash of what the model read (notes/take.py)
        model TEXT NOT NULL,            -- the model spec that wrote the note
        prompt_version TEXT NOT NULL,
        url TEXT NOT NULL,
        facts TEXT NOT NULL,            -- JSON list of fact sentences, without [S#] ids
        created TEXT NOT NULL,
        PRIMARY KEY (content_hash, model, prompt_version)
    );
    CREATE TABLE stories (
        crew TEXT NOT NULL,
        id TEXT NOT NULL,
        title TEXT NOT NULL,
        first_reported TEXT NOT NULL,
        last_reported TEXT NOT NULL,
        facts TEXT NOT NULL DEFAULT '[]',  -- JSON: every fact reported so far
        PRIMARY KEY (crew, id)
    );
    CREATE TABLE story_items (
        crew TEXT NOT NULL,
        story_id TEXT NOT NULL,
        url TEXT NOT NULL,
        PRIMARY KEY (crew, url)
    );
    ALTER TABLE deliveries ADD COLUMN content_hash TEXT;
    """,
    # 4: the answers a run was given, so a resumed run is never charged for them again
    """
    CREATE TABLE run_answers (
        run_id TEXT NOT NULL REFERENCES runs (id),
        key TEXT NOT NULL,              -- hash of the call: model chain, messages, options
        answer TEXT NOT NULL,           -- JSON: the model's answer and which model gave it
        created TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    );
    """,
]


def utcnow() -> str:
    """Return the current UTC time as an ISO 8601 string."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class FeedState:
    """What the last fetch of a feed left behind, for conditional GET."""

    url: str
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_status: int | None = None
    last_error: str | None = None
    last_fetched: str | None = None


@dataclass
class CachedPage:
    """A page's extracted main text and the validators it was fetched with."""

    url: str
    text: str
    etag: str | None
    last_modified: str | None
    fetched: str


class Store:
    """A thread-safe handle on the SQLite store; use Store.open(path)."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self._conn = conn
        self.path = path
        # One connection shared by threads: sqlite3 objects are not safe to use concurrently,
        # so every statement runs under this lock.
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (and create or migrate) the store at `path`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30.0)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        store = cls(conn, path)
        store.migrate()
        return store

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply every migration newer than the database's user_version."""
        with self._lock:
            current = self.schema_version
            for version, script in enumerate(migrations[current:], start=current + 1):
                # executescript commits on its own, so the script and the version bump are
                # wrapped in one explicit transaction to stay all-or-nothing.
                try:
                    self._conn.executescript(
                        f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;"
                    )
                except sqlite3.Error:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block of statements atomically (the lock is held throughout)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def execute(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Run one statement and return all its rows."""
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    # -- feeds ------------------------------------------------------------------------------

    def feed_state(self, url: str) -> FeedState | None:
        rows = self.execute("SELECT * FROM feeds WHERE url = ?", (url,))
        return FeedState(**dict(rows[0])) if rows else None

    def feed_states(self, urls: Iterable[str]) -> dict[str, FeedState]:
        """Return the stored state of each of `urls` that has one."""
        states = {}
        for row in self.execute("SELECT * FROM feeds"):
            states[row["url"]] = FeedState(**dict(row))
        wanted = set(urls)
        return {url: state for url, state in states.items() if url in wanted}

    def record_feed_fetch(
        self,
        url: str,
        *,
        status: int | None,
        error: str | None = None,
        title: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        keep_validators: bool = False,
    ) -> None:
        """Remember a fetch's outcome; validators are replaced unless keep_validators."""
        with self.transaction() as conn:
            conn.execute(
                """
                INSERT INTO feeds (url, title, etag, last_modified, last_status, last_error,
                                   last_fetched)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(url) DO UPDATE SET
                    title = COALESCE(excluded.title, feeds.title),
                    etag = CASE WHEN ? THEN feeds.etag ELSE excluded.etag END,
                    last_modified = CASE WHEN ? THEN feeds.last_modified
                                         ELSE excluded.last_modified END,
                    last_status = excluded.last_status,
                    last_error = excluded.last_error,
                    last_fetched = excluded.last_fetched
                """,
                (
                    url,
                    title,
                    etag,
                    last_modified,
                    status,
                    error,
                    utcnow(),
                    keep_validators,
                    keep_validators,
                ),
            )

    def save_feed_items(self, feed_url: str, items: list[dict[str, Any]]) -> dict[str, str]:
        """Replace a feed's current item list and upsert the items themselves.

        Each dict has url, title, text, published (ISO or None), content_hash, links.
        Return each item's first_seen time by URL.
        """
        with self.transaction() as conn:
            return self._save_feed_items(conn, feed_url, items)

    def save_feed(
        self,
        feed_url: str,
        items: list[dict[str, Any]],
        *,
        status: int,
        title: str | None,
        etag: str | None,
        last_modified: str | None,
    ) -> dict[str, str]:
        """Save a fetched feed's items and fetch state in one transaction (see save_feed_items)."""
        with self.transaction() as conn:
            first_seen = self._save_feed_items(conn, feed_url, items)
            conn.execute(
                """
                INSERT OR REPLACE INTO feeds (url, title, etag, last_modified, last_status,
                                              last_error, last_fetched)
                VALUES (?, ?, ?, ?, ?, NULL, ?)
                """,
                (feed_url, title, etag, last_modified, status, utcnow()),
            )
            return first_seen

    def _save_feed_items(
        self, conn: sqlite3.Connection, feed_url: str, items: list[dict[str, Any]]
    ) -> dict[str, str]:
        now = utcnow()
        conn.execute("DELETE FROM feed_items WHERE feed_url = ?", (feed_url,))
        conn.executemany(
            """
            INSERT INTO items (url, title, text, published, content_hash, first_seen,
                               last_seen, links)
            VALUES (:url, :title, :text, :published, :content_hash, :now, :now, :links)
            ON CONFLICT(url) DO UPDATE SET
                title = excluded.title, text = excluded.text,
                published = COALESCE(excluded.published, items.published),
                content_hash = excluded.content_hash, last_seen = excluded.last_seen,
                links = excluded.links
            """,
            [{**item, "links": json.dumps(item["links"]), "now": now} for item in items],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO feed_items (feed_url, url, position) VALUES (?, ?, ?)",
            [(feed_url, item["url"], pos) for pos, item in enumerate(items)],
        )
        rows = conn.execute(
            "SELECT items.url, items.first_seen FROM feed_items JOIN items "
            "ON items.url = feed_items.url WHERE feed_items.feed_url = ?",
            (feed_url,),
        ).fetchall()
        return {row[0]: row[1] for row in rows}

    def feed_items(self, feed_url: str) -> list[dict[str, Any]]:
        """Return the items a feed listed at its last successful fetch, in feed order."""
        rows = self.execute(
            """
            SELECT items.* FROM feed_items JOIN items ON items.url = feed_items.url
            WHERE feed_items.feed_url = ? ORDER BY feed_items.position
            """,
            (feed_url,),
        )
        return [{**dict(row), "links": json.loads(row["links"])} for row in rows]

    def item(self, url: str) -> dict[str, Any] | None:
        rows = self.execute("SELECT * FROM items WHERE url = ?", (url,))
        return {**dict(rows[0]), "links": json.loads(rows[0]["links"])} if rows else None

    def update_item_text(self, url: str, text: str, content_hash: str) -> None:
        self.execute(
            "UPDATE items SET text = ?, content_hash = ? WHERE url = ?", (text, content_hash, url)
        )

    # -- search cache -----------------------------------------------------------------------

    def cached_search(self, query: str, backend: str, day: str) -> list[dict[str, str]] | None:
        rows = self.execute(
            "SELECT results FROM search_cache WHERE query = ? AND backend = ? AND day = ?",
            (query, backend, day),
        )
        return json.loads(rows[0]["results"]) if rows else None

    def cache_search(
        self, query: str, backend: str, day: str, results: list[dict[str, str]]
    ) -> None:
        self.execute(
            "INSERT OR REPLACE INTO search_cache (query, backend, day, results, created) "
            "VALUES (?, ?, ?, ?, ?)",
            (query, backend, day, json.dumps(results), utcnow()),
        )

    # -- page cache -------------------------------------------------------------------------

    def cached_page(self, url: str) -> CachedPage | None:
        rows = self.execute("SELECT * FROM page_cache WHERE url = ?", (url,))
        return CachedPage(**dict(rows[0])) if rows else None

    def cache_page(self, url: str, text: str, etag: str | None, last_modified: str | None) -> None:
        self.execute(
            "INSERT OR REPLACE INTO page_cache (url, etag, last_modified, text, fetched) "
            "VALUES (?, ?, ?, ?, ?)",
            (url, etag, last_modified, text, utcnow()),
        )

    # -- deliveries -------------------------------------------------------------------------

    def mark_delivered(
        self, crew: str, urls: Iterable[str], hashes: dict[str, str] | None = None
    ) -> None:
        """Record that `crew` has reported on these items (canonical URLs), with the content
        hash it read when known: a later change of that text makes the item new again."""
        now = utcnow()
        hashes = hashes or {}
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO deliveries (crew, url, delivered_at, content_hash) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(crew, url) DO UPDATE SET"
                " content_hash = COALESCE(excluded.content_hash, deliveries.content_hash),"
                " delivered_at = CASE WHEN excluded.content_hash IS NOT NULL"
                " THEN excluded.delivered_at ELSE deliveries.delivered_at END",
                [(crew, url, now, hashes.get(url)) for url in urls],
            )

    def delivered(self, crew: str) -> set[str]:
        """Return the canonical URLs `crew` has already reported on."""
        rows = self.execute("SELECT url FROM deliveries WHERE crew = ?", (crew,))
        return {row["url"] for row in rows}

    def delivered_hashes(self, crew: str) -> dict[str, str | None]:
        """The content hash `crew` last reported for each delivered URL (None: unknown)."""
        rows = self.execute("SELECT url, content_hash FROM deliveries WHERE crew = ?", (crew,))
        return {row["url"]: row["content_hash"] for row in rows}
