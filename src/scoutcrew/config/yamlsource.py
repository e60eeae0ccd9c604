"""Load YAML while remembering the line of every key, so errors can name it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


@dataclass
class YamlDoc:
    """A parsed YAML file: its data, the line of each key path, and parse problems."""

    path: Path
    display: str
    data: Any = None
    lines: dict[Path_, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def line(self, loc: Path_) -> int:
        """Return the line of `loc`, or of its nearest parent that has one."""
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return 1

    def where(self, loc: Path_) -> str:
        return f"{self.display}:{self.line(loc)}"


def load_yaml(path: Path, display: str) -> YamlDoc:
    """Parse `path`; syntax errors and duplicate keys become problems, not exceptions."""
    doc = YamlDoc(path=path, display=display)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        doc.problems.append(f"{display}: file not found")
        return doc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        doc.data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        doc.problems.append(f"{display}:{line}: invalid YAML: {problem}")
        return doc
    if node is not None:
        _walk(node, (), doc)
    return doc


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
