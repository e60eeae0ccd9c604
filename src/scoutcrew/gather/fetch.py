"""Fetching under the limits: timeouts, sizes, redirects and decompression checked on every
request, through the address rules of safety.py; local files only inside the project."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..errors import SourceError, UnsafeSource
from .safety import AddressPolicy, guarded_network_backend

REDIRECT_STATUSES = {301, 302, 303, 307, 308}


@dataclass
class FetchLimits:
    """Limits for every request: timeouts in seconds, sizes in bytes."""

    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 30.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 32
    per_host: int = 4
    user_agent: str = "scoutcrew/0.1 (+local research crew)"


@dataclass
class Fetched:
    """A response body read under the limits (empty for 304)."""

    url: str
    status: int
    body: bytes
    headers: dict[str, str]

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Fetcher:
    """Fetch http(s) URLs and project files under the limits and the address policy.

    Use as an async context manager; one per gather so connections are reused.
    """

    def __init__(self, limits: FetchLimits, policy: AddressPolicy, project_root: Path):
        self.limits = limits
        self.policy = policy
        self.project_root = Path(project_root).resolve()
        self._all = asyncio.Semaphore(limits.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._clients: dict[str, Any] = {}

    async def __aenter__(self) -> Fetcher:
        import httpx

        self._ssl_context = httpx.create_ssl_context(trust_env=False)
        self._backend = guarded_network_backend(self.policy)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    def _client_for(self, origin: str):
        """Return the client for one origin: a small pool per host keeps pool lookups cheap."""
        client = self._clients.get(origin)
        if client is not None:
            return client
        import httpcore
        import httpx

        lim = self.limits
        transport = httpx.AsyncHTTPTransport(verify=self._ssl_context, trust_env=False)
        # httpx has no public hook for the network backend; the pool is rebuilt with the
        # guarded one so every TCP connect (first hop, redirects, new connections) is checked.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=self._ssl_context,
            max_connections=lim.per_host,
            max_keepalive_connections=lim.per_host,
            network_backend=self._backend,
        )
        client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(
                connect=lim.connect_timeout,
                read=lim.read_timeout,
                write=lim.read_timeout,
                pool=lim.total_timeout,
            ),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": lim.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        self._clients[origin] = client
        return client

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "*/*",
    ) -> Fetched:
        """Fetch `url` (conditional when validators are given); raise SourceError on failure."""
        try:
            if is_local_path(url):
                return await self._read_file(url)
            # Waiting for a slot does not count against the total timeout. The per-host slot is
            # taken for the URL's own host; redirect hops to other hosts do not take theirs, so
            # two hosts redirecting to each other can never deadlock.
            host = urlsplit(url).hostname or ""
        except ValueError as exc:  # urlsplit: an unclosed [IPv6 bracket, a bad port
            raise UnsafeSource(f"not a valid URL: {url[:120]!r} ({exc})") from exc
        sem = self._hosts.setdefault(host, asyncio.Semaphore(self.limits.per_host))
        async with sem, self._all:
            try:
                async with asyncio.timeout(self.limits.total_timeout):
                    return await self._get_following(url, etag, last_modified, accept)
            except TimeoutError as exc:
                raise SourceError(f"timed out after {self.limits.total_timeout:g}s") from exc

    async def _get_following(self, url, etag, last_modified, accept) -> Fetched:
        import httpx

        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seen: set[str] = set()
        for _hop in range(self.limits.max_redirects + 1):
            parsed = split_web_url(url)
            seen.add(url)
            try:
                client = self._client_for(f"{parsed.scheme}://{parsed.netloc}")
                async with client.stream("GET", url, headers=headers) as resp:
                    if resp.status_code in REDIRECT_STATUSES or resp.status_code == 304:
                        # Bodies of these are tiny or empty; reading them to the end lets the
                        # connection go back to the pool instead of being closed.
                        await self._read_body(resp)
                    if resp.status_code in REDIRECT_STATUSES:
                        location = resp.headers.get("location")
                        if not location:
                            raise SourceError(f"HTTP {resp.status_code} without a Location")
                        url = urljoin(url, location)
                        if url in seen:
                            raise SourceError(f"redirect loop at {url[:120]}")
                        continue
                    if resp.status_code == 304:
                        return Fetched(url, 304, b"", dict(resp.headers))
                    if resp.status_code >= 400 or resp.status_code < 200:
                        raise SourceError(f"HTTP {resp.status_code}")
                    body = await self._read_body(resp)
                    return Fetched(url, resp.status_code, body, dict(resp.headers))
            except httpx.InvalidURL as exc:  # not an HTTPError
                raise UnsafeSource(f"refused {url[:120]!r}: {exc}") from exc
            except httpx.TimeoutException as exc:
                raise SourceError(f"timed out ({type(exc).__name__})") from exc
            except httpx.HTTPError as exc:
                raise SourceError(f"request failed: {exc or type(exc).__name__}") from exc
        raise SourceError(f"more than {self.limits.max_redirects} redirects")

    async def _read_body(self, resp) -> bytes:
        cap = self.limits.max_bytes
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise UnsafeSource(f"too large: {int(declared)} bytes declared (limit {cap})")
        encoding = resp.headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
        elif encoding in ("", "identity"):
            inflater = None
        else:
            raise SourceError(f"unsupported Content-Encoding {encoding!r}")
        raw = 0
        out = bytearray()
        async for chunk in resp.aiter_raw():
            raw += len(chunk)
            if raw > cap:
                raise UnsafeSource(f"too large: over {cap} bytes on the wire")
            if inflater is None:
                out += chunk
            else:
                _inflate_into(out, inflater, chunk, cap)
            if len(out) > cap:
                raise UnsafeSource(f"too large: over {cap} bytes")
        return bytes(out)

    async def _read_file(self, url: str) -> Fetched:
        path = local_path(url, self.project_root)
        cap = self.limits.max_bytes

        def read() -> bytes:
            # O_NONBLOCK: opening a FIFO must not wait for a writer; the type is checked on
            # the open descriptor, so the file cannot be swapped between check and read.
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as fh:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise UnsafeSource(f"{path} is not a regular file (a FIFO or a device?)")
                if st.st_size > cap:
                    raise UnsafeSource(f"too large: {st.st_size} bytes (limit {cap})")
                data = fh.read(cap + 1)
            if len(data) > cap:
                raise UnsafeSource(f"too large: over {cap} bytes")
            return data

        limit = self.limits.total_timeout
        try:
            async with asyncio.timeout(limit):
                data = await asyncio.to_thread(read)
        except TimeoutError as exc:
            raise SourceError(f"reading {path} timed out after {limit:g}s") from exc
        except OSError as exc:
            hint = "" if urlsplit(url).scheme else " (for a web feed, start the URL with https://)"
            raise SourceError(f"cannot read {path}: {exc.strerror or exc}{hint}") from exc
        return Fetched(path.as_uri(), 200, data, {})


def _inflate_into(out: bytearray, inflater, chunk: bytes, cap: int) -> None:
    """Decompress `chunk` into `out`, never producing more than the cap allows (bomb guard)."""
    data = chunk
    while data:
        piece = inflater.decompress(data, cap + 1 - len(out))
        out += piece
        if len(out) > cap:
            raise UnsafeSource(f"too large: decompresses to over {cap} bytes")
        data = inflater.unconsumed_tail
        if not piece and data:
            break


def split_web_url(url: str):  # -> urllib.parse.SplitResult
    """Split an http(s) URL; refuse any other scheme and numeric hosts of ambiguous meaning."""
    try:
        parsed = urlsplit(url)
        host = parsed.hostname
    except ValueError as exc:
        raise UnsafeSource(f"not a valid URL: {url[:120]!r} ({exc})") from exc
    if parsed.scheme not in ("http", "https") or not host:
        raise UnsafeSource(f"only http(s) URLs are fetched, not {url[:80]!r}")
    if _NUMERIC_HOST.match(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError as exc:
            # 0177.0.0.1 is 127.0.0.1 to some resolvers and nothing to others.
            raise UnsafeSource(
                f"refused {host}: not a plain dotted IPv4 address (octal, hex, zero-padded or "
                "short forms mean different addresses to different programs)"
            ) from exc
    return parsed


_NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]*))*$", re.I)


def is_local_path(url: str) -> bool:
    """Tell whether `url` names a file (file:// or a path without a scheme)."""
    scheme = urlsplit(url).scheme
    return scheme == "file" or scheme == "" or (len(scheme) == 1 and os.name == "nt")


def local_path(url: str, project_root: Path) -> Path:
    """Resolve a file:// URL or relative path; refuse anything outside the project folder."""
    root = Path(project_root).resolve()
    if urlsplit(url).scheme == "file":
        from urllib.request import url2pathname

        raw = Path(url2pathname(urlsplit(url).path))
    else:
        raw = Path(url)
    path = (raw if raw.is_absolute() else root / raw).resolve()
    if not path.is_relative_to(root):
        raise UnsafeSource(f"{url}: files are read only inside the project folder {root}")
    return path
