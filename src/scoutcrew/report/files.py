"""Write a run's report files: Markdown (primary), self-contained HTML and JSON, atomically."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..verify.verdicts import Verification
from .html import render_html
from .jsondoc import json_default, report_json
from .markdown import render_markdown
from .model import build_report

if TYPE_CHECKING:
    from ..llm.ledger import CallRecord
    from ..select.pack import EvidencePack

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True)
class ReportPaths:
    """Where one report was written."""

    md: Path
    html: Path
    json: Path
    latest: Path


def write_report(
    out_dir: Path,
    crew: str,
    *,
    title: str,
    body_sections: Sequence[tuple[str, str]] | None,
    pack: EvidencePack,
    verification: Verification,
    usage: Sequence[CallRecord] = (),
    notes: Sequence[str] = (),
    meta: dict[str, Any] | None = None,
    now: datetime | None = None,
    base: str | None = None,
) -> ReportPaths:
    """Write CREW/<timestamp>.{md,html,json} and CREW/latest.md under `out_dir`, atomically.

    body_sections: (heading, markdown) pairs written by the model, normally cut from
    verification.text; None or empty means "the whole verification.text, no heading".
    notes: model notes (e.g. "written by a small base model") shown at the top.
    base: the files' name without extension (see `report_base`); by default a new one.
    """
    if not _SAFE_NAME.fullmatch(crew) or ".." in crew:
        raise ValueError(f"crew name {crew!r} cannot be a folder name; use letters, digits, -_.")
    when = (now or datetime.now(UTC)).astimezone(UTC)
    report = build_report(
        crew,
        title=title,
        body_sections=body_sections,
        pack=pack,
        verification=verification,
        usage=usage,
        notes=notes,
        meta=meta or {},
        generated_at=when,
    )
    crew_dir = Path(out_dir) / crew
    crew_dir.mkdir(parents=True, exist_ok=True)
    base = base or report_base(out_dir, crew, when)
    paths = ReportPaths(
        md=crew_dir / f"{base}.md",
        html=crew_dir / f"{base}.html",
        json=crew_dir / f"{base}.json",
        latest=crew_dir / "latest.md",
    )
    markdown = render_markdown(report)
    # JSON and HTML first: the Markdown (and latest.md) appearing means the report is complete.
    atomic_write(paths.json, json.dumps(report_json(report), indent=2, default=json_default))
    atomic_write(paths.html, render_html(report))
    atomic_write(paths.md, markdown)
    atomic_write(paths.latest, markdown)
    return paths


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and os.replace."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file 0600; a report is meant to be read (by a web server running
        # as another user, say), so give it the mode a plain open() would: 0666 minus umask.
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def current_umask() -> int:
    """The process's umask, read without changing it where the OS allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (briefly process-wide)
    os.umask(mask)
    return mask


def report_base(out_dir: Path, crew: str, when: datetime) -> str:
    """A name for a new report's files: its time, with a number if that is taken."""
    crew_dir = Path(out_dir) / crew
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    n = 1
    while True:
        base = stamp if n == 1 else f"{stamp}-{n}"
        if not any((crew_dir / f"{base}{ext}").exists() for ext in (".md", ".html", ".json")):
            return base
        n += 1
