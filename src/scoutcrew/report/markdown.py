"""The report as Markdown: title, model notes, body, references, notes, flags, trust line."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..verify.verdicts import Flag, marker_note
from .model import (
    Report,
    also_in_news,
    also_in_news_note,
    aside_line,
    code_text,
    is_linkable,
    md_own_text,
    md_text,
    moved_up_line,
    source_day,
    source_title,
    story_outlets,
    uncited_line,
)

if TYPE_CHECKING:
    from ..select.pack import Source


def render_markdown(report: Report) -> str:
    """Return the report as Markdown: title, model notes, body, references, notes, trust."""
    out = [f"# {md_text(report.title)}", ""]
    for note in report.model_notes:  # scoutcrew's own text, not the model's: kept as written
        out += [f"> **Note:** {note}", ""]
    for heading, body in report.sections:
        if heading:
            out += [f"## {md_text(heading)}", ""]
        out += [body, ""]
    marked = [f for f in report.flags if f.marker is not None]
    if marked:  # footnotes for the inline markers: GitHub renders them, plain text reads them
        out += [f"[^c{f.marker}]: {md_text(marker_note(f))}" for f in marked]
        out.append("")

    out += _stories_md(report)
    out += _also_in_news_md(report)
    out += ["## References", ""]
    cited = report.cited
    for source in cited:
        out.append(f"- {_reference_md(source)}")
    if not cited:
        out.append("No source was cited.")
    if report.uncited_count:
        out += ["", uncited_line(report.uncited_count, len(cited))]
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

    if report.models:
        out += ["## Models", ""]
        out += [f"- {md_own_text(line)}" for line in report.models]
        out.append("")

    if report.flags:
        out += ["## Flags", ""]
        out += [f"- {_flag_md(flag)}" for flag in report.flags]
        out.append("")
    out += ["---", "", report.verification.trust_line(), ""]
    return "\n".join(out)


def _stories_md(report: Report) -> list[str]:
    """The stories this report tells, most widely reported first: each once, with its best
    sources, the outlets that also report it, any "sources disagree" line, and whether it is
    new or updated (with what changed) since last time."""
    stories = getattr(report.pack, "stories", None) or []
    if not stories:
        return []
    out = ["## Stories", ""]
    for story in stories:
        title = md_text(story.get("title", "")) + _best_md(story)
        status = story.get("status")
        when = str(story.get("last_reported") or "")[:10]
        if status == "updated":
            out.append(f"- **updated** since {when}: {title}")
        elif status == "again":
            out.append(f"- **reported before**{f' ({when})' if when else ''}: {title}")
        else:
            out.append(f"- **new**: {title}")
        if story.get("why"):
            out.append(f"  - {md_text(moved_up_line(story))}")
        if story_outlets(story):
            out.append(f"  - {md_text(story_outlets(story))}")
        for entry in story.get("disagreements") or []:
            out.append(f"  - **{md_text(str(entry.get('line', '')))}**")
        if status == "updated":
            for line in story.get("changed") or []:
                out.append(f"  - new: {md_text(_no_ids(line))}")
    out.append("")
    return out


def _also_in_news_md(report: Report) -> list[str]:
    """What the reader's preferences moved aside: one line each, with its link and its rule."""
    entries = also_in_news(report.pack)
    if not entries:
        return []
    out = ["## Also in the news", "", md_text(also_in_news_note(report.crew)), ""]
    for entry in entries:
        url = str(entry.get("url") or "")
        link = f" <{url}>" if is_linkable(url) else ""
        out.append(
            f"- {md_text(str(entry.get('title') or ''))} -{link} ({md_text(aside_line(entry))})"
        )
    out.append("")
    return out


def _best_md(story: dict[str, Any]) -> str:
    ids = [str(i) for i in story.get("best") or story.get("sources") or []][:3]
    return " " + "".join(f"[{i}]" for i in ids) if ids else ""


def _no_ids(text: str) -> str:
    return re.sub(r"\s*\[S\d+\]", "", text).strip()


def _reference_md(source: Source) -> str:
    url = str(getattr(source, "url", "") or "")
    shown = f"<{url}>" if is_linkable(url) else f"`{code_text(url)}`"
    return f"[{source.id}] {md_text(source_title(source))} - {shown}{_ref_suffix(source)}"


def _uncited_md(source: Source) -> str:
    url = str(getattr(source, "url", "") or "")
    shown = f"<{url}>" if is_linkable(url) else f"`{code_text(url)}`"
    return f"{md_text(source_title(source))} - {shown}{_ref_suffix(source)}"


def _ref_suffix(source: Source) -> str:
    bits = [md_text(str(getattr(source, "feed_title", "") or "")), source_day(source)]
    bits = [b for b in bits if b]
    return f" ({', '.join(bits)})" if bits else ""


def _flag_md(flag: Flag) -> str:
    kind = flag.kind.replace("-", " ")
    if flag.claim_class and flag.kind in {"contradicted", "not-confirmed"}:
        kind += f" ({flag.claim_class})"
    text = f"**{kind}**: {md_text(flag.detail)}"
    if flag.sentence:
        # the cleaned sentence keeps its "&lt;" escapes here: no raw tag even in a code span
        text += " - in: " + _code_span(" ".join(flag.sentence.split()))
    return text


def _code_span(text: str) -> str:
    """Quote text as a Markdown code span: shown as is, never a link or markup."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
