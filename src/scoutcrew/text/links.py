"""Which links a report may carry, and how every other one is neutralised.

A report links only to the evidence: each source's canonical URL and the other URLs its item
was seen at. Anything else in model-written Markdown (a link, an autolink, a raw HTML anchor,
an image, a link definition, a bare or scheme-less URL, a javascript: or data: URL) loses its
target and gets a visible marker, and the caller hears about each one through `mark`, so
nothing is removed silently. Raw HTML tags are escaped so they show as text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

LINK_MARKER = "[unverified link removed]"
IMAGE_MARKER = "[image removed]"

Mark = Callable[[str, str], str]
"""mark(detail, url) -> text placed right after the marker (verify.py puts a sentinel there)."""

# URL shapes. "\x00" never belongs to a URL: verify.py uses it to mark places in the text.
# One level of balanced parentheses is kept in a bare URL (Wikipedia-style paths).
_URL_CHARS = r"(?:[^\s<>\"'`()\[\]\x00]|\([^\s<>\"'`()\[\]\x00]*\))"
_COMMON_TLDS = (
    "com|net|org|io|ai|co|info|biz|xyz|app|dev|me|ly|gl|to|sh|top|site|online|link|click|"
    "live|news|tech|store|shop|cloud|page|blog|example|test|ru|cn|uk|de|fr|nl|jp|us|eu|tk|cc|tv"
)
BARE_URL_RE = re.compile(
    r"(?<![\w@])(?:"
    rf"(?:https?|ftp)://{_URL_CHARS}+"
    r"|(?:javascript|vbscript|data|file):[^\s<>\"'`\x00]*"
    rf"|www\.{_URL_CHARS}+"
    # "evil.example/login" without a scheme; at most 8 labels keeps the scan linear
    rf"|(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.){{1,8}}(?:{_COMMON_TLDS})/{_URL_CHARS}*"
    r")",
    re.IGNORECASE,
)
_MD_LINK_RE = re.compile(
    r"(!?)\[((?:[^\[\]\x00]|\[[^\[\]\x00]*\])*)\]"  # [label], one level of nested brackets
    r"\(\s*(<[^>\n]*>|(?:[^\s()\x00]|\([^\s()\x00]*\))*)"  # (destination
    r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?\s*\)"  # "title")
)
# The label may not hold another anchor, so an unclosed <a> costs one scan, not quadratic time.
_HTML_ANCHOR_RE = re.compile(
    r"<a\b([^<>]{0,2000})>((?:(?!</?a\b).)*)</a\s*>", re.IGNORECASE | re.DOTALL
)
_HREF_RE = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_AUTOLINK_RE = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>")
_REF_DEF_RE = re.compile(r"^( {0,3})\[([^\]\n]+)\]:[ \t]*(<[^>\n]*>|\S+)(.*)$", re.MULTILINE)
_TAG_RE = re.compile(r"<(?=/?[A-Za-z][A-Za-z0-9-]*(?:[\s/>]|$)|!--|!\[CDATA\[|\?)")
_TRAILING_PUNCT = ".,;:!?*_~"
_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:", "file:")
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")


class Linked(Protocol):
    """A source as far as links go: where it is and where it was also seen."""

    @property
    def url(self) -> str: ...

    @property
    def links(self) -> list[str]: ...


class HasSources(Protocol):
    """An evidence pack (select.pack.EvidencePack), as far as links go."""

    @property
    def sources(self) -> Sequence[Linked]: ...


_TRACKING = frozenset("fbclid gclid dclid msclkid yclid mc_cid mc_eid igshid ref_src".split())


def allowed_urls(pack: HasSources | None) -> set[str]:
    """Return the normalised URLs of every evidence source (its canonical URL and links)."""
    urls: set[str] = set()
    for source in getattr(pack, "sources", None) or []:
        for url in [getattr(source, "url", None), *(getattr(source, "links", None) or [])]:
            if url:
                urls.add(normalise_url(str(url)))
    return urls


def normalise_url(url: str) -> str:
    """Return a comparable form of `url`: lower-case scheme and host, no default port, no
    tracking parameters, no fragment or trailing slash."""
    url = url.strip().strip("<>")
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.lower()
        if (parts.scheme == "http" and netloc.endswith(":80")) or (
            parts.scheme == "https" and netloc.endswith(":443")
        ):
            netloc = netloc.rsplit(":", 1)[0]
        query = sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING
        )
        path = parts.path.rstrip("/")
        return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query), ""))
    except ValueError:
        return url.lower()


def is_allowed(url: str, allowed: set[str]) -> bool:
    """Tell whether `url` (with or without a scheme) is one of the evidence URLs."""
    url = url.strip().strip("<>")
    if url.lower().startswith(_SCRIPT_SCHEMES):
        return False
    if re.match(r"^[a-z][a-z0-9+.-]*://", url, re.IGNORECASE):
        return normalise_url(url) in allowed
    return any(normalise_url(f"{scheme}://{url}") in allowed for scheme in ("https", "http"))


def is_evidence_link(url: str, allowed: set[str]) -> bool:
    """Tell whether `url` may be a live link: http(s) and one of the evidence URLs."""
    return url.strip().lower().startswith(("http://", "https://")) and is_allowed(url, allowed)


def defang(url: str) -> str:
    """Return `url` in a form no renderer turns into a link (hxxp://host[.]tld/...)."""
    url = re.sub(r"^(?i:http)", "hxxp", url.strip())
    url = re.sub(r"^(?i:(javascript|vbscript|data|file)):", r"\1[:]", url)
    return url.replace(".", "[.]").replace("`", "'")


def defang_urls(text: str) -> str:
    """Defang every URL in `text` (for evidence titles and notes shown in a report)."""
    return BARE_URL_RE.sub(lambda m: defang(m.group(0)), text)


def neutralise_links(text: str, allowed: set[str], mark: Mark) -> str:
    """Neutralise every non-evidence link in Markdown prose and escape raw HTML tags."""

    def removed(url: str, how: str) -> str:
        return LINK_MARKER + mark(f"{how} {defang(url)} is not in the evidence", url)

    def anchor(m: re.Match[str]) -> str:
        href_m = _HREF_RE.search(m.group(1))
        href = next((g for g in href_m.groups() if g is not None), "") if href_m else ""
        label = re.sub(r"<[^>]*>", "", m.group(2)).strip()
        if is_evidence_link(href, allowed):
            return f"[{label}]({href})"
        return f"{label} " + removed(href or "(empty)", "HTML link to")

    def autolink(m: re.Match[str]) -> str:
        url = m.group(1)
        return m.group(0) if is_evidence_link(url, allowed) else removed(url, "link to")

    def md_link(m: re.Match[str]) -> str:
        image, label, dest = m.group(1), m.group(2).strip(), m.group(3).strip("<> ")
        ok = is_evidence_link(dest, allowed)
        if image:  # never load anything: an evidence image becomes a plain link
            if ok:
                return f"[{label or dest}]({dest})"
            detail = f"image {defang(dest)} is not in the evidence"
            return f"{label} {IMAGE_MARKER}" + mark(detail, dest)
        return m.group(0) if ok else f"{label} " + removed(dest or "(empty)", "link to")

    def ref_def(m: re.Match[str]) -> str:
        dest, tail = m.group(3).strip("<>"), m.group(4)
        if tail.strip() and not re.fullmatch(r"\s+(\"[^\"]*\"|'[^']*'|\([^)]*\))\s*", tail):
            return m.group(0)  # "[S1]: some claim" is prose, not a link definition
        if is_evidence_link(dest, allowed):
            return m.group(0)
        # "[label] :" (with a space) is never a definition, and [S#] labels stay parseable.
        if re.search(r"[:/.]", dest):
            return f"{m.group(1)}[{m.group(2)}] : " + removed(dest, "link definition")
        return f"{m.group(1)}[{m.group(2)}] : {m.group(3)}{tail}"

    text = _HTML_ANCHOR_RE.sub(anchor, text)
    text = _AUTOLINK_RE.sub(autolink, text)
    text = _MD_LINK_RE.sub(md_link, text)
    text = _REF_DEF_RE.sub(ref_def, text)
    text = _TAG_RE.sub("&lt;", text)  # raw HTML shows as text, never as markup
    return neutralise_bare_urls(text, allowed, mark)


def neutralise_bare_urls(text: str, allowed: set[str], mark: Mark) -> str:
    """Replace every bare non-evidence URL in `text` (prose or code) with the marker."""

    def bare(m: re.Match[str]) -> str:
        url, tail = m.group(0), ""
        while url and url[-1] in _TRAILING_PUNCT:
            url, tail = url[:-1], url[-1] + tail
        if not url or is_allowed(url, allowed):
            return m.group(0)
        how = "script/data URL" if url.lower().startswith(_SCRIPT_SCHEMES) else "URL"
        return LINK_MARKER + mark(f"{how} {defang(url)} is not in the evidence", url) + tail

    # Evidence links kept by neutralise_links show up here again; they are allowed, so this
    # pass leaves them alone, which keeps cleaning idempotent.
    return BARE_URL_RE.sub(bare, text)


def strip_markers(text: str) -> str:
    """Remove the markers (for scoring the words of a sentence)."""
    return text.replace(LINK_MARKER, " ").replace(IMAGE_MARKER, " ")


def link_labels(text: str) -> str:
    """Replace Markdown links by their labels and drop bare URLs (for scoring words)."""
    return BARE_URL_RE.sub(" ", _MD_LINK_RE.sub(lambda m: m.group(2), text))
