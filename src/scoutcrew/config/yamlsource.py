"""Load YAML while remembering the line of every key, so errors can name it.

A YAML file is read under bounds, because `validate`, `list` and the schedule daemon load every
crew file: at most MAX_YAML_BYTES, nesting at most MAX_DEPTH levels, and aliases that add at
most ALIAS_BUDGET values when expanded (an alias "bomb" of nested anchors otherwise grows to
gigabytes). Each breach, a syntax error or a file that is not UTF-8 becomes one problem that
names the file; nothing here raises.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from .yamlhints import KeyLevels, explain

if TYPE_CHECKING:
    from yaml.events import Event
    from yaml.nodes import Node
    from yaml.tokens import Token

Path_ = tuple[str | int, ...]

MAX_YAML_BYTES = 1_000_000
MAX_DEPTH = 64
ALIAS_BUDGET = 10_000  # values that aliases may add to a document when expanded


@dataclass
class YamlDoc:
    """A parsed YAML file: its data, the line of each key path, and parse problems."""

    path: Path
    display: str
    data: object = None  # what the file holds: a mapping, when it is one of ours
    lines: dict[Path_, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    unreadable: bool = False  # missing, too big, not UTF-8 or not YAML: nothing was loaded

    def line(self, loc: Path_) -> int:
        """Return the line of `loc`, or of its nearest parent that has one."""
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return 1

    def where(self, loc: Path_) -> str:
        return f"{self.display}:{self.line(loc)}"


class _Refused(Exception):
    """The document breaks a bound; the message says which."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses deep nesting while composing (before Python's stack runs out)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                # yaml's stubs leave peek_event untyped: the next event, a node's start.
                event: Event = self.peek_event()  # type: ignore[no-untyped-call]
                line = event.start_mark.line + 1 if event.start_mark is not None else 1
                raise _Refused(line, f"nested more than {MAX_DEPTH} levels deep (refused)")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def fetch_flow_collection_start(self, token_class: type[Token]) -> None:
        # Refused in the scanner already: it looks ahead over every open '[' or '{'.
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(
                self.get_mark().line + 1, f"nested more than {MAX_DEPTH} levels deep (refused)"
            )
        super().fetch_flow_collection_start(token_class)


def load_yaml(path: Path, display: str, keys: KeyLevels = ()) -> YamlDoc:
    """Parse `path`; every problem (syntax, size, encoding, bounds) becomes a problem string.

    `keys`: the keys each depth of the file may hold, so a syntax error names the line to
    change and how (see yamlhints).
    """
    doc = YamlDoc(path=path, display=display)
    text = _read_text(path, doc)
    if text is None:
        doc.unreadable = True
        return doc
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_aliases(node)
            doc.data = loader.construct_document(node)
    except _Refused as exc:
        doc.problems.append(f"{display}:{exc.line}: {exc}")
        doc.unreadable = True
        return doc
    except yaml.YAMLError as exc:
        doc.problems.append(f"{display}:{_syntax_problem(exc, text, keys)}")
        doc.unreadable = True
        return doc
    finally:
        loader.dispose()
    if node is not None:
        _walk(node, (), doc)
    return doc


def _read_text(path: Path, doc: YamlDoc) -> str | None:
    """Read the file as UTF-8 under the size bound; say what is wrong otherwise."""
    display = doc.display
    try:
        st = path.stat()
    except FileNotFoundError:
        doc.problems.append(f"{display}: file not found")
        return None
    except OSError as exc:
        doc.problems.append(f"{display}: cannot read it: {exc.strerror or exc}")
        return None
    if not stat.S_ISREG(st.st_mode):
        doc.problems.append(f"{display}: not a regular file")
        return None
    if st.st_size > MAX_YAML_BYTES:
        doc.problems.append(
            f"{display}: {st.st_size} bytes; a YAML file may have at most {MAX_YAML_BYTES}"
        )
        return None
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_YAML_BYTES + 1)
    except OSError as exc:
        doc.problems.append(f"{display}: cannot read it: {exc.strerror or exc}")
        return None
    if len(raw) > MAX_YAML_BYTES:  # grew after stat
        doc.problems.append(f"{display}: a YAML file may have at most {MAX_YAML_BYTES} bytes")
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        doc.problems.append(
            f"{display}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded): "
            "save the file as UTF-8"
        )
        return None


def _syntax_problem(exc: yaml.YAMLError, text: str, keys: KeyLevels) -> str:
    """`LINE: invalid YAML: ...`, naming the line to change and the change to make."""
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(exc, "problem", None) or str(exc)
    if "'\\t'" in problem:
        column = f", column {mark.column + 1}" if mark is not None else ""
        return f"{line}: invalid YAML: a tab{column}; YAML indents with spaces, not tabs"
    if isinstance(exc, yaml.MarkedYAMLError):
        line, message = explain(text, exc, keys)
        return f"{line}: {message}"
    return f"{line}: invalid YAML: {problem}"


def _check_aliases(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand past the budget, or that contains itself."""
    sizes: dict[int, int] = {}
    distinct: set[int] = set()
    open_nodes: set[int] = set()
    # Iterative post-order walk with memoised sizes: linear in the distinct nodes, so a bomb
    # is measured without being expanded.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise _Refused(node.start_mark.line + 1, "an alias refers to itself (refused)")
        open_nodes.add(key)
        distinct.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise _Refused(child.start_mark.line + 1, "an alias refers to itself (refused)")
            if id(child) not in sizes:
                stack.append((child, False))
    expanded = sizes[id(root)]
    if expanded - len(distinct) > ALIAS_BUDGET:
        raise _Refused(
            1,
            f"its aliases expand it to {expanded} values, {expanded - len(distinct)} more "
            f"than written; at most {ALIAS_BUDGET} are allowed (an alias bomb?)",
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _walk(node: yaml.Node, loc: Path_, doc: YamlDoc) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                doc.problems.append(
                    f"{doc.display}:{line}: duplicate key '{key}' "
                    "(the later one would silently win)"
                )
            seen.add(key)
            doc.lines[(*loc, key)] = line
            _walk(value_node, (*loc, key), doc)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            doc.lines[(*loc, index)] = item.start_mark.line + 1
            _walk(item, (*loc, index), doc)
