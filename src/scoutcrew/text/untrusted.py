"""Text from outside (feeds, pages, search results, models, servers) made safe to show.

Terminal control sequences go: a title with ESC[2J would clear the reader's screen, ESC]0;
would retitle the window, ESC]8; would plant a fake hyperlink. Every C0 and C1 control
character except newline and tab is removed, with the escape sequences they introduce, before
such text reaches a terminal, a report or the JSON. Error bodies (an nginx 502 page) shrink to
one line.
"""

from __future__ import annotations

import html
import re

# ESC or its C1 form, then: CSI parameters and final byte; OSC/DCS/SOS/PM/APC strings up to
# their terminator (BEL or ST), never past a line; or one escape-sequence final character.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]{0,4096}(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """Remove control characters (and the sequences they start), keeping newline and tab."""
    # The common case, cheaply: isprintable is False for every control character (and for a
    # few harmless ones, such as a no-break space, which the search then clears).
    if text.replace("\n", "").replace("\t", "").isprintable() or not _CONTROL.search(text):
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", _SEQUENCE.sub("", text))


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]*>")


def one_line(body: str, limit: int = 160) -> str:
    """Summarise a server's error body in one line: an HTML page by its title or heading."""
    text = strip_controls(body or "")
    if "<" in text and re.search(r"<(?:!doctype|html|head|body|title|h1)\b", text, re.I):
        found = _TITLE.search(text) or _H1.search(text)
        text = found.group(1) if found else _TAGS.sub(" ", text)
        text = html.unescape(_TAGS.sub(" ", text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
