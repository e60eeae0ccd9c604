"""The machine-readable report: findings, citations, sources, usage, flags and trust."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..verify.sentences import citation_ids
from .model import Report, sources_of
from .usage import usage_by_agent

if TYPE_CHECKING:
    from ..gather.items import Note
    from ..llm.ledger import CallRecord

JSON_SCHEMA_VERSION = 2  # 2: three verdicts (citations[].verdict, trust.contradicted)


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
        "claims": [asdict(verdict) for verdict in v.sentences],
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
            for s in sources_of(report.pack)
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
        "cut": sorted(
            {
                str(getattr(r, "task", None))
                for r in report.usage
                if getattr(r, "done_reason", None) == "length"
            }
        ),
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
            "factual": v.factual,
            "repaired": v.repaired,
            "contradicted": v.contradicted_by_class(),
            "not_confirmed": v.not_confirmed_by_class(),
            "not_claims": len(v.not_claims),
            "uncited_claims": len(v.uncited_claims),
            "removed_on_repair": list(v.removed),
            "review": v.review,
            "line": v.trust_line(),
        },
        "meta": report.meta,
    } | _preferences(report)


def _preferences(report: Report) -> dict[str, Any]:
    """What the reader's preferences did, when they did anything (a run with no ratings has
    the report it always had)."""
    used = getattr(report.pack, "preferences", None)
    return {"preferences": dict(used)} if used else {}


def _record_dict(rec: CallRecord) -> dict[str, Any]:
    if is_dataclass(rec) and not isinstance(rec, type):
        return asdict(rec)
    if isinstance(rec, dict):
        return dict(rec)
    return {k: v for k, v in vars(rec).items() if not k.startswith("_")}


def _note_dict(note: Note) -> dict[str, Any]:
    return {k: getattr(note, k, None) for k in ("kind", "source", "message", "level")}


def json_default(value: object) -> str | list[object]:
    """json.dumps's fallback for what JSON has no type for: dates, paths, sets."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)
