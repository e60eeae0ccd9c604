"""The reports already written: find a crew's report files and read their JSON.

Readers (the web app, the Atom feeds, the MCP server) take the trust line, the flags and the
sources from each report's JSON file, never by parsing the Markdown again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# A report's base name as write_report makes it: 2026-12-01T07-00-00Z, maybe with -2, -3...
REPORT_BASE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z(?:-\d{1,4})?")
CREW_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
SUMMARY_CHARS = 400


@dataclass
class ReportEntry:
    """One written report: where its files are and what its JSON says."""

    crew: str
    base: str
    folder: Path
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def json_path(self) -> Path:
        return self.folder / f"{self.base}.json"

    @property
    def html_path(self) -> Path:
        return self.folder / f"{self.base}.html"

    @property
    def md_path(self) -> Path:
        return self.folder / f"{self.base}.md"

    @property
    def title(self) -> str:
        return str(self.data.get("title") or self.crew)

    @property
    def generated_at(self) -> datetime:
        raw = self.data.get("generated_at")
        try:
            moment = datetime.fromisoformat(str(raw))
        except ValueError:
            moment = datetime.strptime(self.base[:20], "%Y-%m-%dT%H-%M-%SZ")
        return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)

    @property
    def trust_line(self) -> str:
        trust = self.data.get("trust") or {}
        return str(trust.get("line") or "") if isinstance(trust, dict) else ""

    @property
    def flags(self) -> list[dict[str, Any]]:
        return [f for f in self.data.get("flags") or [] if isinstance(f, dict)]

    @property
    def sources(self) -> list[dict[str, Any]]:
        return [s for s in self.data.get("sources") or [] if isinstance(s, dict)]

    @property
    def summary(self) -> str:
        """The report's opening as plain text (citations kept), cut at a word near 400 chars."""
        return summarize(self.data)


def summarize(data: dict[str, Any], limit: int = SUMMARY_CHARS) -> str:
    """Plain text of the report's first findings, cut at a word boundary."""
    texts = []
    for finding in data.get("findings") or []:
        if isinstance(finding, dict):
            texts.append(plain_text(str(finding.get("markdown") or "")))
    text = " ".join(t for t in texts if t).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "\u2026"


def plain_text(markdown: str) -> str:
    """Markdown to one line of plain text: no marks, no link targets, whitespace folded."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)  # [text](url) -> text
    text = re.sub(r"^\s{0,3}(#{1,6}|[-*+]|\d+[.)]|>)\s+", "", text, flags=re.M)
    text = re.sub(r"(\*\*|__|\*|_|`+|~~)", "", text)
    text = re.sub(r"\\([\\`*_\[\]<>|~])", r"\1", text)
    # Clean report Markdown keeps "<" as "&lt;" (no raw tag survives); plain text shows "<".
    return " ".join(text.replace("&lt;", "<").split())


def crew_reports(folder: Path, crew: str) -> list[ReportEntry]:
    """The reports of `crew` in `folder` (the crew's own report folder), newest first."""
    if not CREW_NAME.fullmatch(crew) or ".." in crew or not folder.is_dir():
        return []
    entries = []
    for path in folder.glob("*.json"):
        if not REPORT_BASE.fullmatch(path.stem):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            entries.append(ReportEntry(crew, path.stem, folder, data))
    entries.sort(key=lambda e: (e.generated_at, e.base), reverse=True)
    return entries


def find_report(folder: Path, crew: str, base: str) -> ReportEntry | None:
    """One report by its base name, or None; names that are not report names find nothing."""
    if not REPORT_BASE.fullmatch(base) or not CREW_NAME.fullmatch(crew) or ".." in crew:
        return None
    path = folder / f"{base}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return ReportEntry(crew, base, folder, data) if isinstance(data, dict) else None
