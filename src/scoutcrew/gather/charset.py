"""A feed's bytes as UTF-8: the encoding found from its BOM, HTTP charset or XML declaration.

Every parser downstream (the entity check, lxml, defusedxml, feedparser) then sees UTF-8 with
a declaration that says so. Python's codecs read what expat cannot (Big5, Shift_JIS, GBK...);
an unknown encoding name is a warning, not a failure; a document declared UTF-8 with a few
invalid bytes keeps its text (the bad bytes become U+FFFD) instead of being read whole in some
other encoding.
"""

from __future__ import annotations

import codecs
import re

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# UTF-16/32 without a BOM: the first character '<' tells the byte order.
_NO_BOM = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_DECLARATION = re.compile(
    rb"""\A\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:\-]{1,40})["']"""
)
_DECLARATION_TEXT = re.compile(r"\A(\s*<\?xml\b[^>]*?\bencoding\s*=\s*)([\"'])[^\"']*\2")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:\-]{1,40})""", re.IGNORECASE)
# Codecs that are not plain character encodings of a document, or that smuggle markup.
_REFUSED = {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "utf-7"}
# When more than this share of the non-ASCII bytes is invalid, the document is not UTF-8 at
# all (a Latin-1 file mislabelled, say), and windows-1252 reads it better than U+FFFD would.
NOT_UTF8_SHARE = 0.5
_HIGH = bytes(range(0x80, 0x100))


def codec_name(label: str) -> str | None:
    """Return Python's name for an encoding label, or None if it is unknown or not text."""
    try:
        info = codecs.lookup(label.strip())
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    return info.name


def to_utf8(data: bytes, content_type: str = "") -> tuple[bytes, list[str]]:
    """Decode an XML document and re-encode it as UTF-8; return it with warnings."""
    warnings: list[str] = []
    for bom, name in _BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(name, errors="replace")
            return _declare_utf8(text).encode("utf-8"), warnings
    candidates: list[str] = []
    declared_utf8 = True
    for label, origin in _labels(data, content_type):
        codec = codec_name(label)
        if origin == "XML declaration":
            declared_utf8 = codec == "utf-8"
        if codec is None:
            warnings.append(f"unknown encoding {label[:40]!r} in the {origin}; ignored")
        elif codec.startswith(("utf-16", "utf-32")) and data[:1] == b"<":
            warnings.append(f"{label[:40]!r} in the {origin} does not match the bytes; ignored")
        elif codec not in candidates:
            candidates.append(codec)
    preferred = candidates[0] if candidates else "utf-8"
    for codec in dict.fromkeys([*candidates, "utf-8"]):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec != preferred:
            warnings.append(f"not valid {preferred} as declared; read as {codec}")
        if codec == "utf-8" and declared_utf8:
            return data, warnings  # already what the parsers will assume
        return _declare_utf8(text).encode("utf-8"), warnings
    text, warning = _decode_damaged(data, preferred)
    warnings.append(warning)
    return _declare_utf8(text).encode("utf-8"), warnings


def _labels(data: bytes, content_type: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    http = _CHARSET.search(content_type or "")
    if http:
        out.append((http.group(1), "HTTP Content-Type"))
    for prefix, name in _NO_BOM:
        if data.startswith(prefix):
            out.append((name, "byte order of the document"))
            return out
    declared = _DECLARATION.match(data[:1024])
    if declared:
        out.append((declared.group(1).decode("ascii"), "XML declaration"))
    return out


def _decode_damaged(data: bytes, codec: str) -> tuple[str, str]:
    """Decode bytes that are invalid in every candidate: replace a few, or re-read as cp1252."""
    text = data.decode(codec, errors="replace")
    bad = text.count("\ufffd") - data.decode(codec, errors="ignore").count("\ufffd")
    non_ascii = len(data) - len(data.translate(None, _HIGH)) if codec == "utf-8" else 0
    if non_ascii and bad > NOT_UTF8_SHARE * non_ascii:
        return (
            data.decode("windows-1252", errors="replace"),
            f"not UTF-8 as declared ({bad} invalid sequences); read as windows-1252",
        )
    return text, f"{bad} invalid byte sequence(s) in {codec} replaced by U+FFFD"


def _declare_utf8(text: str) -> str:
    """Make the XML declaration (if any) say UTF-8, which the text is about to become."""
    if not text.lstrip().startswith("<?xml"):
        return text
    return _DECLARATION_TEXT.sub(r"\1\2utf-8\2", text, count=1)
