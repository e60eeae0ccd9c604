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
    def verdicts(self) -> dict[str, int]:
        """The report's factual sentences by verdict (empty for a report without them)."""
        trust = self.data.get("trust") or {}
        if not isinstance(trust, dict) or "contradicted" not in trust:
            return {}
        counts = {
            "factual": trust.get("factual", 0),
            "supported": trust.get("supported", 0),
            "contradicted": sum((trust.get("contradicted") or {}).values()),
            "not confirmed": sum((trust.get("not_confirmed") or {}).values()),
            "uncited": trust.get("uncited_claims", 0),
        }
        return {k: int(v) for k, v in counts.items()}

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


def report_files(folder: Path) -> list[Path]:
    """The JSON files of the reports in a crew's folder, newest first (by their names)."""
    if not folder.is_dir():
        return []
    files = [p for p in folder.glob("*.json") if REPORT_BASE.fullmatch(p.stem)]
    return sorted(files, key=lambda p: _base_key(p.stem), reverse=True)


def _base_key(base: str) -> tuple[str, int]:
    stamp, _, n = base[:20], base[20:21], base[21:]
    return stamp, int(n) if n.isdigit() else 1


class ReportReader:
    """Read report JSON files, keeping each parsed file until it changes on disk.

    Reports are written once, atomically, so a file's (mtime, size) names its content.
    """

    def __init__(self, max_entries: int = 2000):
        self.max_entries = max_entries
        self._cache: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}

    def read(self, crew: str, path: Path) -> ReportEntry | None:
        try:
            st = path.stat()
            key = (st.st_mtime_ns, st.st_size)
            cached = self._cache.get(path)
            if cached is not None and cached[0] == key:
                data = cached[1]
            else:
                data = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(data, dict):
                    return None
                if len(self._cache) >= self.max_entries:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[path] = (key, data)
        except (OSError, ValueError):
            return None
        return ReportEntry(crew, path.stem, path.parent, data)


def crew_reports(
    folder: Path, crew: str, *, limit: int | None = None, reader: ReportReader | None = None
) -> list[ReportEntry]:
    """The reports of `crew` in `folder` (the crew's own report folder), newest first."""
    if not CREW_NAME.fullmatch(crew) or ".." in crew:
        return []
    reader = reader or ReportReader()
    entries = []
    for path in report_files(folder):
        entry = reader.read(crew, path)
        if entry is not None:
            entries.append(entry)
            if limit is not None and len(entries) >= limit:
                break
    return entries


def find_report(
    folder: Path, crew: str, base: str, reader: ReportReader | None = None
) -> ReportEntry | None:
    """One report by its base name, or None; names that are not report names find nothing."""
    if not REPORT_BASE.fullmatch(base) or not CREW_NAME.fullmatch(crew) or ".." in crew:
        return None
    return (reader or ReportReader()).read(crew, folder / f"{base}.json")
