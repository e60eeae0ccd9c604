"""A written report as the web app shows it, made from the report's own sanitized HTML page.

The page's body is taken as the report renderer wrote it (every piece of model and feed text
already escaped there). Here it is only rearranged: the references move to a side panel, the
trust line moves to the top, and each flag from the report's JSON is marked inline at the
sentence it concerns. A defensive pass drops anything active the page should never contain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import html as lxml_html
from lxml.html import HtmlElement as Element

_BLOCKS = ("p", "li", "td", "th", "blockquote", "h2", "h3", "h4", "h5", "h6", "dd", "dt")
_ACTIVE = ("script", "iframe", "object", "embed", "style", "link", "meta", "base", "form", "frame")
_MARK_CLASS = "flagged"


@dataclass
class ReportView:
    """The pieces of the report page; each is markup made from the sanitized page."""

    body: str
    references: str
    placed: list[int] = field(default_factory=list)  # indexes of flags marked inline
    unplaced: list[int] = field(default_factory=list)
    order: list[int] = field(default_factory=list)  # flag indexes as numbered: reading order


def build_view(page: str, flags: list[dict[str, Any]]) -> ReportView:
    """Rearrange the report page's body and mark every flag at its sentence."""
    doc = lxml_html.document_fromstring(page)
    body = doc.find("body")
    if body is None:
        body = doc
    _defuse(body)
    for node in body.findall("h1"):
        _drop(node)
    for node in body.xpath('.//p[contains(concat(" ", normalize-space(@class), " "), " trust ")]'):
        _drop(node)
    references = _take_section(body, ("References",))
    _take_section(body, ("Flags",))  # listed from the JSON in the side panel instead
    # The page's own footnote markers for flagged claims ("[1]" after the sentence, notes in
    # ol.claim-notes): the side panel lists the notes, and each marker becomes one of ours.
    footnotes = _claim_markers(body)
    for notes in body.xpath(
        './/ol[contains(concat(" ", normalize-space(@class), " "), " claim-notes ")]'
    ):
        _drop(notes)
    placed, unplaced = [], []
    groups: dict[str, list[int]] = {}
    for n, flag in enumerate(flags):
        sentence = " ".join(str(flag.get("sentence") or "").split())
        if sentence:
            groups.setdefault(sentence, []).append(n)
        else:
            unplaced.append(n)
    for sentence, indexes in groups.items():
        if mark_sentence(body, sentence, [(n, flags[n]) for n in indexes]):
            placed += indexes
            for n in indexes:  # our marker replaces the page's own
                sup = footnotes.pop(_marker_number(flags[n]), None)
                if sup is not None:
                    _drop(sup)
        else:
            unplaced += indexes
    for n in list(unplaced):  # not found as a sentence, but the page marked it: keep that place
        sup = footnotes.pop(_marker_number(flags[n]), None)
        if sup is not None:
            _replace_with_marker(sup, n, flags[n])
            unplaced.remove(n)
            placed.append(n)
    placed.sort()
    unplaced.sort()
    order = _number_markers(body) + unplaced
    inner = "".join(_html(child) for child in body)
    if body.text and body.text.strip():
        inner = _escape(body.text) + inner
    references_html = "".join(_html(n) for n in references)
    return ReportView(inner, references_html, placed, unplaced, order)


def _claim_markers(body: Element) -> dict[int, Element]:
    """The page's footnote markers of flagged claims, by number: <sup><a href="#claim-N">."""
    found: dict[int, Element] = {}
    for link in body.iter("a"):
        match = re.fullmatch(r"#claim-(\d+)", link.get("href") or "")
        if not match:
            continue
        parent = link.getparent()
        holder = parent if parent is not None and parent.tag == "sup" else link
        found.setdefault(int(match.group(1)), holder)
    return found


def _marker_number(flag: dict[str, Any]) -> int:
    """The footnote number the page gave the flag, or -1 (no page marker has that number)."""
    value = flag.get("marker")
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def flag_label(flag: dict[str, Any]) -> str:
    """How a flag is named to a reader: "contradicted (figure)", "not confirmed", ..."""
    kind = str(flag.get("kind", "flag"))
    label = kind.replace("-", " ")
    if kind == "contradicted" and flag.get("claim_class"):
        label += f" ({flag['claim_class']})"
    return label


def _marker(n: int, flag: dict[str, Any]) -> Element:
    marker = lxml_html.Element("a")
    marker.set("class", f"flag-marker flag-{flag.get('kind', 'flag')}")
    marker.set("title", f"{flag_label(flag)}: {flag.get('detail', '')}")
    marker.set("data-flag", str(n))  # numbered in reading order once all are placed
    marker.text = flag_label(flag)
    return marker


def _replace_with_marker(old: Element, n: int, flag: dict[str, Any]) -> None:
    marker = _marker(n, flag)
    marker.tail = old.tail
    old.tail = None
    old.addprevious(marker)
    parent = old.getparent()
    if parent is not None:
        parent.remove(old)


def _number_markers(body: Element) -> list[int]:
    """Number the flag markers 1, 2, ... as they are read; return the flag index of each."""
    order: list[int] = []
    for marker in body.iter("a"):
        index = marker.get("data-flag")
        if index is None or "flag-marker" not in (marker.get("class") or "").split():
            continue
        order.append(int(index))
        number = len(order)
        del marker.attrib["data-flag"]
        marker.set("href", f"#flag-{number}")
        marker.set("id", f"flagged-{number}")
        marker.text = f"\u2691{number} {marker.text}"
    return order


def mark_sentence(root: Element, sentence: str, flags: list[tuple[int, dict[str, Any]]]) -> bool:
    """Wrap the first occurrence of `sentence` in <mark> and add a marker per flag after it."""
    pattern = _sentence_pattern(sentence)
    if pattern is None:
        return False
    for block in root.iter(*_BLOCKS):
        if _inside_mark_or_block(block):
            continue
        segments = _segments(block)
        joined = "".join(text for _, _, text in segments)
        match = pattern.search(joined)
        if match:
            _wrap(segments, match.start(), match.end(), flags)
            return True
    return False


def _inside_mark_or_block(block: Element) -> bool:
    parent = block.getparent()
    while parent is not None:
        if parent.tag in _BLOCKS:
            return True  # the outer block was tried already
        parent = parent.getparent()
    return False


def _sentence_pattern(sentence: str) -> re.Pattern[str] | None:
    """A pattern for the sentence as the page shows it: Markdown marks gone, spaces loose."""
    text = re.sub(r"\[\^c\d+\]", "", sentence)  # a claim footnote marker, shown as a <sup>
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__|`+|~~)", "", text)
    text = re.sub(r"(?<!\w)[*_]|[*_](?!\w)", "", text)
    text = re.sub(r"\\([\\`*_\[\]<>|~])", r"\1", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    words = text.split()
    if not words:
        return None
    return re.compile(r"\s*".join(re.escape(w) for w in words))


def _segments(block: Element) -> list[tuple[Element, str, str]]:
    """Every piece of text inside `block` in reading order: (element, "text"|"tail", text)."""
    out: list[tuple[Element, str, str]] = []

    def walk(el: Element, top: bool) -> None:
        if isinstance(el.tag, str) and el.text:
            out.append((el, "text", el.text))
        for child in el:
            walk(child, False)
        if not top and el.tail:
            out.append((el, "tail", el.tail))

    walk(block, True)
    return out


def _wrap(
    segments: list[tuple[Element, str, str]],
    start: int,
    end: int,
    flags: list[tuple[int, dict[str, Any]]],
) -> None:
    """Wrap the text between offsets start and end (over several nodes) in <mark> elements."""
    pos = 0
    marks: list[Element] = []
    for el, where, text in segments:
        lo, hi = pos, pos + len(text)
        pos = hi
        if hi <= start or lo >= end:
            continue
        a, b = max(start, lo) - lo, min(end, hi) - lo
        before, inside, after = text[:a], text[a:b], text[b:]
        mark = lxml_html.Element("mark")
        mark.set("class", _MARK_CLASS)
        mark.text = inside
        mark.tail = after or None
        if where == "text":
            el.text = before or None
            el.insert(0, mark)
        else:
            el.tail = before or None
            el.addnext(mark)
        marks.append(mark)
    if not marks:
        return
    last = marks[-1]
    for n, flag in flags:
        marker = _marker(n, flag)
        marker.tail = last.tail
        last.tail = None
        last.addnext(marker)
        last = marker


def _take_section(body: Element, headings: tuple[str, ...]) -> list[Element]:
    """Remove an <h2> whose text is one of `headings` and what follows it up to the next <h2>."""
    for h2 in body.findall("h2"):
        if (h2.text_content() or "").strip() not in headings:
            continue
        taken = [h2]
        node = h2.getnext()
        while node is not None and node.tag != "h2":
            taken.append(node)
            node = node.getnext()
        for el in taken:
            _drop(el)
        return taken[1:]
    return []


def _defuse(root: Element) -> None:
    """Drop what the sanitized page never contains: scripts, frames, handlers, js: links."""
    for el in list(root.iter(*_ACTIVE)):
        _drop(el)
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for name in list(el.attrib):
            value = el.attrib[name]
            if name.lower().startswith("on") or name.lower() == "style":
                del el.attrib[name]
            elif name.lower() in ("href", "src", "xlink:href", "action", "formaction"):
                if not re.match(r"^(https?://|#)", value.strip(), re.IGNORECASE):
                    del el.attrib[name]


def _drop(el: Element) -> None:
    """Remove an element but keep its tail text in place."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    prev = el.getprevious()
    parent.remove(el)
    if tail:
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
        el.tail = None


def _html(el: Element) -> str:
    return lxml_html.tostring(el, encoding="unicode")


def _escape(text: str) -> str:
    import html

    return html.escape(text)
