"""Write a run's report: Markdown (primary), self-contained sanitized HTML, and JSON.

The model writes the body only. The title block, the references (from the evidence pack, never
from the model), the notes on failed feeds or degraded search, the flags and the trust line are
written here. Everything the model wrote is treated as untrusted text: links that are not
evidence URLs are neutralised (links.py) and the HTML page (report_html.py) escapes all of it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, is_dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from .links import allowed_urls, defang_urls
from .verify import REFERENCE_HEADINGS, Flag, Verification, citation_ids, sanitize_markdown

JSON_SCHEMA_VERSION = 1
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
    pack: Any,
    verification: Verification,
    usage: Sequence[Any] = (),
    notes: Sequence[str] = (),
    meta: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> ReportPaths:
    """Write CREW/<timestamp>.{md,html,json} and CREW/latest.md under `out_dir`, atomically.

    body_sections: (heading, markdown) pairs written by the model, normally cut from
    verification.text; None or empty means "the whole verification.text, no heading".
    notes: model notes (e.g. "written by a small base model") shown at the top.
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
    base = _free_base(crew_dir, when.strftime("%Y-%m-%dT%H-%M-%SZ"))
    paths = ReportPaths(
        md=crew_dir / f"{base}.md",
        html=crew_dir / f"{base}.html",
        json=crew_dir / f"{base}.json",
        latest=crew_dir / "latest.md",
    )
    markdown = render_markdown(report)
    # JSON and HTML first: the Markdown (and latest.md) appearing means the report is complete.
    atomic_write(paths.json, json.dumps(report_json(report), indent=2, default=_json_default))
    from .html import render_html  # it imports this module, so import it late

    atomic_write(paths.html, render_html(report))
    atomic_write(paths.md, markdown)
    atomic_write(paths.latest, markdown)
    return paths


# --------------------------------------------------------------------------------------------
# The report model shared by the three renderers


@dataclass
class Report:
    """Everything the renderers need, already cleaned."""

    crew: str
    title: str
    generated_at: datetime
    sections: list[tuple[str, str]]
    pack: Any
    verification: Verification
    flags: list[Flag]
    usage: list[Any]
    model_notes: list[str]
    evidence_notes: list[str]  # human lines for "Sources & notes"
    meta: dict[str, Any]
    allowed: set[str]

    @property
    def cited(self) -> list[Any]:
        ids = list(self.verification.cited_ids)
        for _, body in self.sections:  # sections may carry citations verify did not see
            ids += [i for i in citation_ids(body) if i not in ids]
        cited = set(ids)
        # In pack order (S1, S2, ...): the ids are the pack's, so the list reads in order.
        return [s for s in _sources(self.pack) if s.id in cited]

    @property
    def info_line(self) -> str:
        return (
            f"info: {len(_sources(self.pack))} sources in the evidence; crew "
            f"`{_code(self.crew)}`, generated {self.generated_at:%Y-%m-%d %H:%M} UTC"
        )

    @property
    def uncited(self) -> list[Any]:
        """Sources the crew read but the report does not cite, in evidence order."""
        cited = {s.id for s in self.cited}
        return [s for s in _sources(self.pack) if s.id not in cited]

    @property
    def uncited_count(self) -> int:
        return len(self.uncited)


def build_report(
    crew: str,
    *,
    title: str,
    body_sections: Sequence[tuple[str, str]] | None,
    pack: Any,
    verification: Verification,
    usage: Sequence[Any],
    notes: Sequence[str],
    meta: dict[str, Any],
    generated_at: datetime,
) -> Report:
    """Clean the sections once more and gather the notes; renderers only format."""
    sections_in = list(body_sections or [("", verification.text)])
    flags = list(verification.flags)
    seen = {(f.kind, f.url or f.detail, f.sentence) for f in flags}
    extra_notes: list[str] = list(verification.notes)
    sections: list[tuple[str, str]] = []
    for heading, body in sections_in:
        if REFERENCE_HEADINGS.match(re.sub(r"[*_`#]", "", heading).strip()):
            extra_notes.append(
                f'Dropped a model-written "{heading.strip()}" section: the references are '
                "generated from the evidence."
            )
            continue
        # Idempotent on verified text; catches sections that never went through verify().
        clean, new_flags, new_notes = sanitize_markdown(body, pack)
        extra_notes += [n for n in new_notes if n not in extra_notes]
        for flag in new_flags:
            key = (flag.kind, flag.url or flag.detail, flag.sentence)
            if key not in seen:
                seen.add(key)
                flags.append(flag)
        clean = _drop_leading_h1(clean).strip("\n")
        sections.append((heading.strip(), _demote_headings(clean) if heading.strip() else clean))
    if len(flags) != len(verification.flags):
        extra_flagged = {f.sentence for f in flags[len(verification.flags) :]}
        verification = _with_flagged(verification, flags, extra_flagged)
    return Report(
        crew=crew,
        title=title.strip() or crew,
        generated_at=generated_at,
        sections=sections,
        pack=pack,
        verification=verification,
        flags=flags,
        usage=list(usage),
        model_notes=[n for n in notes if n and n.strip()],
        evidence_notes=_evidence_notes(pack) + extra_notes,
        meta=meta,
        allowed=allowed_urls(pack),
    )


def _drop_leading_h1(text: str) -> str:
    """Drop the model's own title line: the report has its title already."""
    return re.sub(r"\A\s*# [^\n]*\n", "", text, count=1)


def _demote_headings(text: str) -> str:
    """Put the model's headings below the section's own "##" heading (code left alone)."""
    out, fence = [], False
    for line in text.split("\n"):
        fence ^= bool(re.match(r"^ {0,3}(```|~~~)", line))
        out.append(re.sub(r"^( {0,3})(#{1,5})(?=\s)", r"\1\2#", line) if not fence else line)
    return "\n".join(out)


def _with_flagged(v: Verification, flags: list[Flag], extra: set[str]) -> Verification:
    already = {f.sentence for f in v.flags}
    return replace(v, flags=flags, flagged=v.flagged + len(extra - already))


def _evidence_notes(pack: Any) -> list[str]:
    lines = []
    for note in getattr(pack, "notes", None) or []:
        level = getattr(note, "level", "warning")
        kind = getattr(note, "kind", "evidence")
        lines.append(
            f"{level}: {kind} `{_code(getattr(note, 'source', ''))}`: "
            f"{_md_text(getattr(note, 'message', ''))}"
        )
    for what in getattr(pack, "degraded", None) or []:
        lines.append(f"degraded: {_md_text(str(what))}")
    left_out = getattr(pack, "left_out", None) or {}
    dropped = getattr(pack, "dropped", None) or []
    if left_out:
        detail = ", ".join(f"{n} {reason}" for reason, n in left_out.items())
        total = _count(sum(left_out.values()), "item")
        lines.append(f"info: {total} left out on purpose: {detail}")
    elif dropped:
        lines.append(f"info: {_count(len(dropped), 'item')} left out of the evidence")
    unread = getattr(pack, "unread", None) or []
    if unread:
        reasons: dict[str, int] = {}
        for _title, reason in unread:
            reasons[reason.split(":")[0]] = reasons.get(reason.split(":")[0], 0) + 1
        detail = ", ".join(f"{n} {reason}" for reason, n in reasons.items())
        lines.append(
            f"partial: {_count(len(unread), 'new item')} not read by a model ({_md_text(detail)}); "
            "they stay new and the next run reads them first"
        )
    return lines


def _stories_md(report: Report) -> list[str]:
    """The stories this report tells: new, or updated with what changed since last time."""
    stories = getattr(report.pack, "stories", None) or []
    if not stories:
        return []
    out = ["## Stories", ""]
    for story in stories:
        count = len(story.get("sources") or [])
        sources = f" ({_count(count, 'source')})" if count > 1 else ""
        if story.get("status") == "updated":
            when = str(story.get("last_reported") or "")[:10]
            out.append(f"- **updated** since {when}: {_md_text(story.get('title', ''))}{sources}")
            for line in story.get("changed") or []:
                out.append(f"  - new: {_md_text(_no_ids(line))}")
        else:
            out.append(f"- **new**: {_md_text(story.get('title', ''))}{sources}")
    out.append("")
    return out


def _no_ids(text: str) -> str:
    return re.sub(r"\s*\[S\d+\]", "", text).strip()


# --------------------------------------------------------------------------------------------
# Markdown


def render_markdown(report: Report) -> str:
    """Return the report as Markdown: title, model notes, body, references, notes, trust."""
    out = [f"# {_md_text(report.title)}", ""]
    for note in report.model_notes:  # scoutcrew's own text, not the model's: kept as written
        out += [f"> **Note:** {note}", ""]
    for heading, body in report.sections:
        if heading:
            out += [f"## {_md_text(heading)}", ""]
        out += [body, ""]

    out += _stories_md(report)
    out += ["## References", ""]
    cited = report.cited
    for source in cited:
        out.append(f"- {_reference_md(source)}")
    if not cited:
        out.append("No source was cited.")
    if report.uncited_count:
        out += ["", _uncited_line(report.uncited_count)]
    out.append("")

    if report.uncited:
        # What the crew read but did not cite costs no tokens to list, and saves the reader a
        # trip to the feeds. No [S#] ids here: these are not citations.
        out += ["## Also in the evidence", ""]
        out += [f"- {_uncited_md(source)}" for source in report.uncited]
        out.append("")

    out += ["## Sources & notes", ""]
    out += [f"- {line}" for line in [report.info_line, *report.evidence_notes]]
    out.append("")

    if report.flags:
        out += ["## Flags", ""]
        out += [f"- {_flag_md(flag)}" for flag in report.flags]
        out.append("")
    out += ["---", "", report.verification.trust_line(), ""]
    return "\n".join(out)


def _reference_md(source: Any) -> str:
    url = str(getattr(source, "url", "") or "")
    shown = f"<{url}>" if _linkable(url) else f"`{_code(url)}`"
    return f"[{source.id}] {_md_text(_title(source))} - {shown}{_ref_suffix(source)}"


def _uncited_md(source: Any) -> str:
    url = str(getattr(source, "url", "") or "")
    shown = f"<{url}>" if _linkable(url) else f"`{_code(url)}`"
    return f"{_md_text(_title(source))} - {shown}{_ref_suffix(source)}"


def _ref_suffix(source: Any) -> str:
    bits = [_md_text(str(getattr(source, "feed_title", "") or "")), _day(source)]
    bits = [b for b in bits if b]
    return f" ({', '.join(bits)})" if bits else ""


def _flag_md(flag: Flag) -> str:
    text = f"**{flag.kind}**: {_md_text(flag.detail)}"
    if flag.sentence:
        # the cleaned sentence keeps its "&lt;" escapes here: no raw tag even in a code span
        text += " - in: " + _code_span(" ".join(flag.sentence.split()))
    return text


def _code_span(text: str) -> str:
    """Quote text as a Markdown code span: shown as is, never a link or markup."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# --------------------------------------------------------------------------------------------
# JSON


def report_json(report: Report) -> dict[str, Any]:
    """Return the machine-readable report: findings, citations, sources, usage, flags."""
    v = report.verification
    cited_ids = {s.id for s in report.cited}
    return {
        "schema": JSON_SCHEMA_VERSION,
        "crew": report.crew,
        "title": report.title,
        "generated_at": report.generated_at.isoformat(),
        "findings": [
            {"heading": h, "markdown": body, "cited": citation_ids(body)}
            for h, body in report.sections
        ],
        "citations": [asdict(c) for c in v.citations],
        "sources": [
            {
                "id": s.id,
                "url": getattr(s, "url", None),
                "links": list(getattr(s, "links", None) or []),
                "title": getattr(s, "title", None),
                "feed_title": getattr(s, "feed_title", None),
                "published": getattr(s, "published", None),
                "cited": s.id in cited_ids,
            }
            for s in _sources(report.pack)
        ],
        "usage": [_record_dict(r) for r in report.usage],
        "usage_by_agent": usage_by_agent(report.usage),
        "flags": [asdict(f) for f in report.flags],
        "stories": list(getattr(report.pack, "stories", None) or []),
        "left_out": dict(getattr(report.pack, "left_out", None) or {}),
        "unread": [
            {"title": title, "reason": reason}
            for title, reason in getattr(report.pack, "unread", None) or []
        ],
        "partial": bool(getattr(report.pack, "unread", None)),
        "notes": {
            "model": report.model_notes,
            "evidence": [_note_dict(n) for n in getattr(report.pack, "notes", None) or []],
            "degraded": list(getattr(report.pack, "degraded", None) or []),
            "report": list(report.evidence_notes),
        },
        "trust": {
            "sentences": v.sentences_total,
            "sentences_cited": v.sentences_cited,
            "supported": v.supported,
            "flagged": v.flagged,
            "threshold": v.threshold,
            "line": v.trust_line(),
        },
        "meta": report.meta,
    }


def _record_dict(rec: Any) -> dict[str, Any]:
    if is_dataclass(rec) and not isinstance(rec, type):
        return asdict(rec)
    if isinstance(rec, dict):
        return dict(rec)
    return {k: v for k, v in vars(rec).items() if not k.startswith("_")}


def _note_dict(note: Any) -> dict[str, Any]:
    return {k: getattr(note, k, None) for k in ("kind", "source", "message", "level")}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


# --------------------------------------------------------------------------------------------
# Usage summary


_COUNTERS = ("calls", "prompt_tokens", "completion_tokens", "wall_ms", "failed", "fallbacks")


def usage_by_agent(usage: Iterable[Any]) -> list[dict[str, Any]]:
    """Return one row per (agent, task): calls, tokens, time, models, failures, fallbacks."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in usage:
        agent, task = _agent(rec), str(getattr(rec, "task", None) or "-")
        fresh = {"agent": agent, "task": task, "models": [], **dict.fromkeys(_COUNTERS, 0)}
        row = rows.setdefault((agent, task), fresh)
        row["calls"] += 1
        row["prompt_tokens"] += int(getattr(rec, "prompt_tokens", 0) or 0)
        row["completion_tokens"] += int(getattr(rec, "completion_tokens", 0) or 0)
        row["wall_ms"] += float(getattr(rec, "wall_ms", 0) or 0)
        row["failed"] += 0 if getattr(rec, "ok", True) else 1
        row["fallbacks"] += 1 if getattr(rec, "fallback_from", None) else 0
        spec = str(getattr(rec, "spec", "") or "?")
        if spec not in row["models"]:
            row["models"].append(spec)
    return list(rows.values())


def summary_table(usage: Sequence[Any]) -> str:
    """Return a plain-text table of tokens per agent and task, time and models, with a total."""
    rows = usage_by_agent(usage)
    if not rows:
        return "No model calls."
    total = {k: sum(r[k] for r in rows) for k in _COUNTERS}
    total |= {
        "agent": "Total",
        "task": "",
        "models": sorted({m for r in rows for m in r["models"]}),
    }
    header = ("Agent", "Task", "Calls", "Prompt", "Completion", "Time", "Models")
    table = [header, *(_summary_cells(r) for r in rows), _summary_cells(total)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]

    def fmt(row: tuple[str, ...]) -> str:
        cells = enumerate(zip(row, widths, strict=True))
        return "  ".join(c.rjust(w) if 2 <= i <= 5 else c.ljust(w) for i, (c, w) in cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [fmt(row) for row in table]
    return "\n".join([lines[0], rule, *lines[1:-1], rule, lines[-1]])


def _summary_cells(r: dict[str, Any]) -> tuple[str, ...]:
    extras = [f"{r['failed']} failed"] if r["failed"] else []
    extras += [f"{r['fallbacks']} fallback"] if r["fallbacks"] else []
    models = ", ".join(r["models"]) + (f" ({', '.join(extras)})" if extras else "")
    tokens = f"{r['prompt_tokens']:,}", f"{r['completion_tokens']:,}"
    return (r["agent"], r["task"], str(r["calls"]), *tokens, f"{r['wall_ms'] / 1000:.1f}s", models)


# --------------------------------------------------------------------------------------------
# Files


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and os.replace."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
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


def _free_base(crew_dir: Path, stamp: str) -> str:
    n = 1
    while True:
        base = stamp if n == 1 else f"{stamp}-{n}"
        if not any((crew_dir / f"{base}{ext}").exists() for ext in (".md", ".html", ".json")):
            return base
        n += 1


# --------------------------------------------------------------------------------------------
# Small helpers


def _sources(pack: Any) -> list[Any]:
    return list(getattr(pack, "sources", None) or [])


def _agent(rec: Any) -> str:
    return str(getattr(rec, "agent", None) or "-")


def _title(source: Any) -> str:
    """A source's title as shown to the reader: feed text, so any URL in it is defanged."""
    return defang_urls(str(getattr(source, "title", "") or "")) or "(untitled)"


def _day(source: Any) -> str:
    published = getattr(source, "published", None)
    if isinstance(published, datetime | date):
        return published.strftime("%Y-%m-%d")
    return str(published)[:10] if published else ""


def _linkable(url: str) -> bool:
    return bool(re.match(r"^https?://[^\s<>\"'`]+$", url, re.IGNORECASE))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _uncited_line(n: int) -> str:
    verb = "was" if n == 1 else "were"
    return f"{_count(n, 'more source')} in the evidence {verb} not cited."


def _code(text: str) -> str:
    return str(text).replace("`", "'").replace("\n", " ")


def _md_text(text: str) -> str:
    """Escape evidence or config text for Markdown; URLs in it are defanged, not linked."""
    text = re.sub(r"\s+", " ", str(text)).strip()
    text = defang_urls(text)
    return re.sub(r"([\\`*_\[\]<>|~])", r"\\\1", text)  # with [] escaped, () cannot link
