"""What the loop hands on: the evidence pack of its notes, the outline the crew reads, and the
research trail (for `scoutcrew show` and the report's "How this was researched")."""

from __future__ import annotations

from typing import Any

from ..select.pack import EvidencePack, Source
from ..text.measure import estimate_tokens
from .state import STOP_REASONS


def noted_pages(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in state.get("pages") or [] if p.get("facts")]


def answered_by(state: dict[str, Any]) -> dict[str, list[str]]:
    """Each sub-question's answering sources, from the last reflection (else by provenance)."""
    reflections = state.get("reflections") or []
    if reflections:
        return dict(reflections[-1]["answered"])
    out: dict[str, list[str]] = {}
    for page in noted_pages(state):
        out.setdefault(page["question"], []).append(page["sid"])
    return out


def open_gaps(state: dict[str, Any]) -> list[dict[str, Any]]:
    reflections = state.get("reflections") or []
    return list(reflections[-1]["gaps"]) if reflections else []


def research_pack(state: dict[str, Any], degraded: list[str] | None = None) -> EvidencePack:
    """The evidence pack: one source per page that gave notes; its excerpt is the note."""
    from ..gather.items import Note

    sources = [
        Source(
            id=page["sid"],
            url=page["url"],
            links=[page["url"]],
            title=page["title"],
            feed_title=f"search: {page['query']}",
            published=None,
            excerpt="\n".join(page["facts"]),
            text=page.get("text") or "\n".join(page["facts"]),
        )
        for page in noted_pages(state)
    ]
    notes = [
        Note("page", p["url"], p["fetch_note"] or p["status"], "warning")
        for p in state.get("pages") or []
        if p["status"] != "read" and (p.get("fetch_note") or p["status"].startswith("not"))
    ]
    pack = EvidencePack(sources=sources, notes=notes, degraded=list(degraded or []))
    pack.used_tokens = estimate_tokens(pack.render())
    pack.budget_tokens = pack.used_tokens
    return pack


def outline_text(state: dict[str, Any]) -> str:
    """The sub-questions with the sources that answer them, and what stays open."""
    answered = answered_by(state)
    gaps = {g["question"]: g for g in open_gaps(state)}
    lines = ["RESEARCH OUTLINE (sub-questions and the sources that answer them)"]
    for q in state.get("questions") or []:
        ids = answered.get(q["id"]) or []
        if ids:
            lines.append(
                f"{q['id']}. {q['question']} - answered by {', '.join(f'[{i}]' for i in ids)}"
            )
        else:
            missing = gaps.get(q["id"], {}).get("missing") or "no source found"
            lines.append(f"{q['id']}. {q['question']} - still open: {missing}")
    return "\n".join(lines)


def evidence_text(state: dict[str, Any], pack: EvidencePack) -> str:
    """The crew's {evidence}: the outline, then the notes as quoted sources."""
    return f"{outline_text(state)}\n\n{pack.render()}"


def summary(state: dict[str, Any]) -> dict[str, Any]:
    searches = state.get("searches") or []
    pages = state.get("pages") or []
    rounds = max([s["round"] for s in searches] or [0])
    return {
        "rounds": rounds,
        "queries": len(searches),
        "pages_chosen": len(pages),
        "pages_noted": len(noted_pages(state)),
        "gaps_open": [g["question"] for g in open_gaps(state)],
        "stop": state.get("stop") or "",
        "spent": dict(state.get("spent") or {}),
        "plan": state.get("plan_source") or "",
    }


def report_section(state: dict[str, Any]) -> str:
    """The report's short "How this was researched" section (Markdown, written by code)."""
    info = summary(state)
    spent = info["spent"]
    lines = [
        f"{info['rounds']} rounds of search, {info['queries']} queries, "
        f"{info['pages_chosen']} pages read ({info['pages_noted']} gave notes); "
        f"{spent.get('calls', 0)} model calls, "
        f"{spent.get('prompt_tokens', 0) + spent.get('completion_tokens', 0)} tokens for the "
        "research. " + STOP_REASONS.get(info["stop"], "").capitalize() + ".",
        "",
    ]
    by_round: dict[int, list[str]] = {}
    for s in state.get("searches") or []:
        by_round.setdefault(s["round"], []).append(f"`{_tick(s['query'])}`")
    for rnd, queries in sorted(by_round.items()):
        lines.append(f"- Round {rnd}: {', '.join(queries)}")
    gaps = open_gaps(state)
    questions = {q["id"]: q["question"] for q in state.get("questions") or []}
    if gaps:
        lines.append("")
        lines.append("Gaps left open:")
        for gap in gaps:
            what = questions.get(gap["question"], gap["question"])
            missing = f" ({gap['missing']})" if gap.get("missing") else ""
            lines.append(f"- {what}{missing}")
    return "\n".join(lines)


def format_trail(state: dict[str, Any]) -> str:
    """The research trail for `scoutcrew show`: plan, then each round's decisions."""
    info = summary(state)
    lines = [
        f"research: {info['rounds']} rounds, {info['queries']} queries, "
        f"{info['pages_chosen']} pages ({info['pages_noted']} with notes), "
        f"stop: {info['stop'] or 'not finished'}, plan: {info['plan']}",
        "  sub-questions:",
    ]
    for q in state.get("questions") or []:
        lines.append(f"    {q['id']} {q['question']}")
    rounds = sorted({s["round"] for s in state.get("searches") or []})
    reflections = {r["round"]: r for r in state.get("reflections") or []}
    for rnd in rounds:
        lines.append(f"  round {rnd}:")
        for s in state["searches"]:
            if s["round"] == rnd:
                flag = " (failed)" if s["failed"] else " (cached)" if s["cached"] else ""
                lines.append(
                    f"    query {s['query']!r} for {s['question']}: {s['why']}; "
                    f"{s['results']} results{flag}"
                )
        for p in state.get("pages") or []:
            if p["round"] == rnd:
                sid = f"[{p['sid']}] " if p["sid"] else ""
                lines.append(
                    f"    page {sid}{p['url']}: {p['why']}; {p['status']}, {len(p['facts'])} facts"
                )
        reflection = reflections.get(rnd)
        if reflection:
            for gap in reflection["gaps"]:
                lines.append(
                    f"    gap {gap['question']}: {gap['missing'] or '-'} (by {reflection['by']})"
                )
            follow = ", ".join(repr(f["query"]) for f in reflection.get("follow_up") or [])
            lines.append(f"    next queries: {follow or 'none'}")
        spent = round_costs(state).get(rnd)
        if spent:
            lines.append(
                f"    cost: {spent['calls']} calls, {spent['prompt_tokens']} prompt + "
                f"{spent['completion_tokens']} output tokens"
            )
    for event in state.get("trail") or []:
        if event["step"] in {"plan", "review", "stop"} or "repair" in event["text"]:
            lines.append(f"  {event['step']}: {event['text']}")
    return "\n".join(lines)


def round_costs(state: dict[str, Any]) -> dict[int, dict[str, int]]:
    """Model calls and tokens per round (round 0 is the plan)."""
    out: dict[int, dict[str, int]] = {}
    for cost in state.get("costs") or []:
        row = out.setdefault(
            cost["round"], {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
        )
        for key in row:
            row[key] += int(cost.get(key, 0))
    return out


def _tick(text: str) -> str:
    return text.replace("`", "'")
