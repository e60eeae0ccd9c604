"""{placeholders} in the YAML's text, and how a run's inputs fill them.

A placeholder is `{name}`; `{{` and `}}` are literal braces. Anything else with a brace (a lone
`}`, `{not a name}`) is literal text too. What a user types as an input is data: filling never
reads a value as a template, and `as_literal` keeps a value's braces literal in a text that
will be filled again (a task's text still waits for its {evidence}).
"""

from __future__ import annotations

import re

# Filled in by scoutcrew itself at run time; a crew never has to declare them.
BUILTIN_INPUTS = {"evidence", "today", "crew"}

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders(text: str) -> set[str]:
    """Return the {names} in `text` ({{ and }} are literal braces)."""
    return {m.group(1) for m in _TOKEN.finditer(text) if m.group(1)}


def fill(text: str, values: dict[str, str]) -> str:
    """Replace {name} by its value in one pass; the values themselves are never re-read."""

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "{{":
            return "{"
        if match.group(0) == "}}":
            return "}"
        return values[match.group(1)]

    return _TOKEN.sub(sub, text)


def as_literal(value: str) -> str:
    """`value` written so that a later `fill` gives it back unchanged (its braces doubled)."""
    return value.replace("{", "{{").replace("}", "}}")
