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
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import UnsafeSource
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
