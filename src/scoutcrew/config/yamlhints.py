"""Why a YAML file does not parse, said as the line to change and the change to make.

The parser reports where it gave up, which for an indentation mistake is often the line after
the mistake, in its own words ("mapping values are not allowed here"). Here the lines around
that point are edited one at a time (a key moved in line with other keys, a missing ':'
added), and the edit that makes the file parse, keeps keys where the models expect them and
lines up with its neighbours names the mistake. Without such an edit the parser's own line
is kept, with the rule that most often fixes it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import yaml

# Keys a file may hold at each depth (None: any name, e.g. the agents of agents.yaml).
KeyLevels = Sequence[frozenset[str] | None]

MAX_HINT_BYTES = 200_000  # trying edits re-parses the file; configs are far smaller
_KEY = re.compile(r"^\s*(?:- )?[A-Za-z0-9_.-]+\s*:(?:\s|$)")
_WORD = re.compile(r"^(\s*(?:- )?)([A-Za-z0-9_.-]+)(\s.*)?$")
_RULE = (
    "YAML nests by indentation: keep each key in line with the other keys of its block, "
    "2 spaces deeper than the key it belongs to"
)


@dataclass
class _Edit:
    line: int  # 0-based
    text: str
    kind: str  # "indent" or "colon"
    score: tuple[int, ...] = ()


def explain(text: str, exc: yaml.MarkedYAMLError, keys: KeyLevels = ()) -> tuple[int, str]:
    """(line, message) for a file that does not parse; the line is 1-based."""
    problem_mark = exc.problem_mark
    context_mark = exc.context_mark
    at = problem_mark.line if problem_mark is not None else 0
    words = exc.problem or str(exc)
    lines = text.split("\n")
    if len(text) > MAX_HINT_BYTES or not 0 <= at < len(lines):
        return at + 1, f"invalid YAML: {words} ({_RULE})"
    simple_key = words == "could not find expected ':'" and context_mark is not None
    edit = _best_edit(lines, at, context_mark.line if context_mark else None, keys)
    if edit is not None:
        return edit.line + 1, _say(lines[edit.line], edit)
    if simple_key:
        assert context_mark is not None
        shown = _shown(lines[context_mark.line])
        return context_mark.line + 1, (
            f"invalid YAML: {shown} is neither 'key: value' nor indented under a key: add the "
            "':' after its key, or indent it like the text it continues"
        )
    return at + 1, f"invalid YAML: {words} ({_RULE})"


def _say(original: str, edit: _Edit) -> str:
    shown = _shown(original)
    if edit.kind == "colon":
        return f"invalid YAML: {shown} has no ':' after its key: write {_shown(edit.text)}"
    now, wanted = _indent(original), _indent(edit.text)
    where = "starts at the margin" if now == 0 else f"is indented {_spaces(now)}"
    what = {"key": "the keys", "item": "the list items", "text": "the text"}[_kind(original)]
    return (
        f"invalid YAML: {shown} {where}, out of line with {what} around it: indent it "
        f"{_spaces(wanted)} ({_RULE})"
    )


def _best_edit(lines: list[str], at: int, context: int | None, keys: KeyLevels) -> _Edit | None:
    near_context = [context, context + 1] if context is not None else []
    window = sorted({*range(at - 6, at + 2), *near_context})
    best: _Edit | None = None
    for index in window:
        if not 0 <= index < len(lines) or not _content(lines[index]):
            continue
        for edit in _edits(lines, index):
            trial = list(lines)
            trial[edit.line] = edit.text
            misplaced = _misplaced("\n".join(trial), keys)
            if misplaced is None:  # still does not parse
                continue
            edit.score = (-misplaced, _continuity(trial, index), -abs(index - at), -index)
            if best is None or edit.score > best.score:
                best = edit
    return best


def _edits(lines: list[str], index: int) -> list[_Edit]:
    """The edits tried on one line: its key in line with nearby keys, or a missing ':'."""
    line = lines[index]
    out = []
    # A key moves in line with other keys, a list item with other items, a line of text
    # with the text around it.
    kind = _kind(line)
    levels = {
        _indent(lines[k])
        for k in range(max(0, index - 12), min(len(lines), index + 13))
        if k != index and _content(lines[k]) and _kind(lines[k]) == kind
    }
    body = line.lstrip(" ")
    out += [
        _Edit(index, " " * level + body, "indent")
        for level in sorted(levels)
        if level != _indent(line)
    ]
    word = _WORD.match(line)
    if kind == "text" and word:
        fixed = f"{word.group(1)}{word.group(2)}:{word.group(3) or ''}"
        out.append(_Edit(index, fixed, "colon"))
    return out


def _kind(line: str) -> str:
    if _KEY.match(line):
        return "key"
    return "item" if line.lstrip().startswith("- ") else "text"


def _continuity(lines: list[str], index: int) -> int:
    """How well line `index` sits among its neighbours: a sibling key before and after it at
    the same indentation (deeper lines between belong to a sibling's value), or a first child
    under a key that ends with ':'."""
    level = _indent(lines[index])
    score = 0
    for step in (-1, 1):
        k = index + step
        while 0 <= k < len(lines) and (not _content(lines[k]) or _indent(lines[k]) > level):
            k += step
        if 0 <= k < len(lines) and _indent(lines[k]) == level and _KEY.match(lines[k]):
            score += 1
    before = next((k for k in range(index - 1, -1, -1) if _content(lines[k])), None)
    if before is not None and _indent(lines[before]) < level and lines[before].rstrip()[-1:] == ":":
        score += 1
    return score


def _misplaced(text: str, keys: KeyLevels) -> int | None:
    """How many keys sit at a depth the models do not expect them; None: it does not parse."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except (yaml.YAMLError, RecursionError):  # the real load refuses deep nesting itself
        return None
    finally:
        loader.dispose()
    if node is None or not keys:
        return 0
    count = 0
    stack: list[tuple[yaml.Node, int]] = [(node, 0)]
    while stack:
        current, depth = stack.pop()
        if not isinstance(current, yaml.MappingNode):
            continue
        allowed = keys[depth] if depth < len(keys) else None
        for key, value in current.value:
            if allowed is not None and str(key.value) not in allowed:
                count += 1
            if (
                allowed is None
                and depth + 1 < len(keys)
                and not isinstance(value, yaml.MappingNode)
            ):
                count += 1  # a named entry (an agent, a task) is a mapping of settings
            stack.append((value, depth + 1))
    return count


def _spaces(count: int) -> str:
    return f"{count} space" + ("" if count == 1 else "s")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content(line: str) -> bool:
    return bool(line.strip()) and not line.lstrip().startswith("#")


def _shown(line: str) -> str:
    text = line.strip()
    return repr(text if len(text) <= 60 else text[:57] + "...")
