"""{placeholders} in the YAML's text, and how a run's inputs fill them."""

from __future__ import annotations

import re
import string

# Filled in by scoutcrew itself at run time; a crew never has to declare them.
BUILTIN_INPUTS = {"evidence", "today", "crew"}


def placeholders(text: str) -> set[str]:
    """Return the {names} in `text` ({{ and }} are literal braces)."""
    names = set()
    for _, name, _, _ in string.Formatter().parse(text.replace("{{", "").replace("}}", "")):
        if name:
            names.add(name)
    return names


def fill(text: str, values: dict[str, str]) -> str:
    """Replace {name} by its value in one pass; the values themselves are never re-read."""

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "{{":
            return "{"
        if match.group(0) == "}}":
            return "}"
        return values[match.group(1)]

    return re.sub(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}", sub, text)
