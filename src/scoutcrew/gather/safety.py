"""Safety rules for fetched material: which addresses may be contacted, and what text may pass.

- Addresses are checked after DNS resolution, at connect time, on every hop: the network
  backend below resolves the host, checks every address, then connects to a checked address,
  so a redirect (or a DNS answer that changes between check and use) cannot reach a refused one.
- Markup is reduced to plain text: scripts, styles, embedded objects and link targets go.
- XML that declares entities is refused before any parser that could expand them sees it.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import os
import re
import socket
import stat
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..errors import SourceError, UnsafeSource
from ..text.untrusted import strip_controls

ALLOW_PRIVATE_ENV = "SCOUTCREW_ALLOW_PRIVATE_HOSTS"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class AddressPolicy:
    """Which IP addresses outgoing requests may reach.

    Public addresses are always allowed. Loopback and private (LAN) addresses only when
    allow_private is set, for self-hosted feeds. Link-local (cloud metadata endpoints such as
    169.254.169.254), multicast, unspecified and reserved addresses are never allowed.
    """

    allow_private: bool = False

    @classmethod
    def from_settings(cls, allow_private_hosts: bool = False) -> AddressPolicy:
        """Build the policy from the crew setting and SCOUTCREW_ALLOW_PRIVATE_HOSTS."""
        env = os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in {"1", "true", "yes"}
        return cls(allow_private=bool(allow_private_hosts) or env)

    def refusal(self, ip: IPAddress) -> str | None:
        """Return why `ip` is refused, or None when it may be contacted."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_link_local:
            return f"link-local address {ip} (never allowed)"
        # Before the reserved check: Python counts ::1 as reserved (it lies in ::/8).
        if ip.is_loopback:
            return None if self.allow_private else self._private_refusal("loopback", ip)
        if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
            return f"reserved address {ip} (never allowed)"
        if ip.is_global:
            return None
        if self.allow_private:
            return None
        return self._private_refusal("private", ip)

    @staticmethod
    def _private_refusal(kind: str, ip: IPAddress) -> str:
        return (
            f"{kind} address {ip}; set sources.allow_private_hosts: true in the crew file "
            f"or {ALLOW_PRIVATE_ENV}=1 to allow it"
        )

    def check(self, host: str, ips: Iterable[IPAddress]) -> None:
        """Raise UnsafeSource if any address `host` resolved to is refused."""
        for ip in ips:
            reason = self.refusal(ip)
            if reason:
                raise UnsafeSource(f"refused {host}: {reason}")


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Resolve `host` to its IP addresses (a literal address resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeSource(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    seen: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if ip not in seen:
            seen.append(ip)
    return seen


def guarded_network_backend(policy: AddressPolicy):  # -> httpcore.AsyncNetworkBackend
    """Return an httpcore network backend that checks addresses before every connect."""
    import httpcore

    class GuardedBackend(httpcore.AsyncNetworkBackend):
        def __init__(self) -> None:
            self._inner = httpcore.AnyIOBackend()

        async def connect_tcp(
            self, host, port, timeout=None, local_address=None, socket_options=None
        ):
            ips = await resolve(host, port)
            policy.check(host, ips)  # raises before any packet is sent to a refused address
            last: Exception | None = None
            for ip in ips:
                try:
                    return await self._inner.connect_tcp(
                        str(ip),
                        port,
                        timeout=timeout,
                        local_address=local_address,
                        socket_options=socket_options,
                    )
                except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                    last = exc
            assert last is not None
            raise last

        async def connect_unix_socket(self, path, timeout=None, socket_options=None):
            raise UnsafeSource("unix sockets are not allowed")

        async def sleep(self, seconds: float) -> None:
            await self._inner.sleep(seconds)

    return GuardedBackend()


# -- markup to text ---------------------------------------------------------------------------

# Elements whose content is never text a reader should see.
DROP_ELEMENTS = (
    "script",
    "style",
    "noscript",
    "iframe",
    "object",
    "embed",
    "applet",
    "template",
    "svg",
    "math",
    "form",
    "button",
    "select",
    "textarea",
    "input",
    "head",
    "title",
    "meta",
    "link",
    "base",
    "frame",
    "frameset",
)
BLOCK_ELEMENTS = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "blockquote",
    "pre",
    "section",
    "article",
    "header",
    "footer",
    "dd",
    "dt",
    "hr",
}
_ACTIVE_SCHEME = re.compile(r"(?i)\b(?:javascript|vbscript|livescript)\s*:|\bdata\s*:\s*text/html")
_TAG = re.compile(r"<[^>]*>")


def neutralize(text: str) -> str:
    """Defuse script URL schemes left in plain text, so no renderer can make them live."""
    low = text.lower()
    if "script" not in low and "data" not in low:
        return text
    return _ACTIVE_SCHEME.sub("[script link removed]", text)


def tidy(text: str) -> str:
    """Collapse runs of spaces and blank lines."""
    if "\u200b" in text:
        text = text.replace("\u200b", "")
    if "\n" not in text and "\r" not in text:
        return " ".join(text.split())
    lines: list[str] = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip()


_DANGEROUS_TAG = re.compile(
    r"<\s*/?\s*(?:" + "|".join(DROP_ELEMENTS) + r")\b|<!\[CDATA\[|<\?", re.IGNORECASE
)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_BLOCK_TAG = re.compile(
    r"<\s*/?\s*(?:" + "|".join(sorted(BLOCK_ELEMENTS)) + r")\b[^>]*>", re.IGNORECASE
)
_TAG_FAST = re.compile(r"</?[A-Za-z!][^>]*>")
_TAG_LIKE = re.compile(r"<(?=[A-Za-z/!?])")


def html_to_text(markup: str | None) -> str:
    """Reduce HTML (or plain text) to inert plain text."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return neutralize(tidy(strip_controls(markup)))
    if "<!--" in markup:
        markup = _COMMENT.sub("", markup)
    if _DANGEROUS_TAG.search(markup):
        text = _lxml_text(markup)
    else:
        # Common case (paragraphs, emphasis, links): no element whose content must go, so
        # dropping the tags themselves is enough, and far cheaper than building a tree.
        text = html.unescape(_TAG_FAST.sub("", _BLOCK_TAG.sub("\n", markup)))
    # Again after unescaping: a character reference (&#27;) can spell a control character.
    return defang(neutralize(tidy(strip_controls(text))))


def defang(text: str) -> str:
    """Keep tag-like text (from escaped markup) from ever being read as a tag by a renderer."""
    return _TAG_LIKE.sub("\u2039", text) if "<" in text else text


def _lxml_text(markup: str) -> str:
    import lxml.etree
    import lxml.html

    markup = strip_controls(markup)  # lxml refuses control characters; the fallback is cruder
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return _TAG.sub(" ", markup)
    return element_text(root)


def element_text(root) -> str:
    """Return the visible text of an lxml element tree, dropping active elements."""
    import lxml.etree

    for el in list(root.iter(lxml.etree.Element)):
        if not isinstance(el.tag, str):
            continue
        if _local(el.tag).lower() in DROP_ELEMENTS and el is not root:
            parent = el.getparent()
            if parent is not None:
                _remove_keep_tail(el, parent)
    for el in root.iter(lxml.etree.Element):
        if isinstance(el.tag, str) and _local(el.tag).lower() in BLOCK_ELEMENTS:
            el.tail = "\n" + (el.tail or "")
    # Comments and processing instructions are not text; itertext with a tag filter skips them.
    return "".join(root.itertext(lxml.etree.Element))


def _remove_keep_tail(el, parent) -> None:
    tail = el.tail
    prev = el.getprevious()
    parent.remove(el)
    if tail:
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


# -- XML ----------------------------------------------------------------------------------------

_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)


_DOCTYPE = re.compile(rb"<!\s*DOCTYPE", re.IGNORECASE)


def refuse_entities(data: bytes) -> None:
    """Refuse XML that declares entities (a byte scan; also catches broken documents)."""
    if _ENTITY_DECL.search(data):
        raise UnsafeSource("XML entity declarations are refused (entity expansion attack)")
    if _DOCTYPE.search(data):
        check_xml(data)


def check_xml(data: bytes) -> bool:
    """Refuse XML that declares entities; return whether the document is well-formed.

    defusedxml parses with entity declarations forbidden; a quick byte scan also catches a
    declaration in a document too broken for the strict parser to reach it, because the
    lenient fallback parser must never see one either.
    """
    from xml.etree.ElementTree import ParseError

    import defusedxml
    import defusedxml.ElementTree

    if _ENTITY_DECL.search(data):
        raise UnsafeSource("XML entity declarations are refused (entity expansion attack)")
    try:
        defusedxml.ElementTree.fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as exc:
        raise UnsafeSource(f"XML refused: {exc}") from exc
    except ParseError:
        return False
    return True


# -- fetching under the limits ----------------------------------------------------------------

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
