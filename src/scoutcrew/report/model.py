"""The report model the renderers share: a run's sections, sources, flags and notes, cleaned.

The model writes the body only. The title block, the references (from the evidence pack, never
from the model), the notes on failed feeds or degraded search, the flags and the trust line are
written by scoutcrew. Everything the model wrote is treated as untrusted text: links that are
not evidence URLs are neutralised (links.py) and every renderer escapes it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ..text.links import BARE_URL_RE, allowed_urls, defang_urls
from ..verify.clean import REFERENCE_HEADINGS, sanitize_markdown
from ..verify.sentences import citation_ids
from ..verify.verdicts import Flag, Verification, mark_claims

if TYPE_CHECKING:
    from ..llm.ledger import CallRecord
    from ..select.pack import EvidencePack, Source


@dataclass
class Report:
    """Everything the renderers need, already cleaned."""

    crew: str
    title: str
    generated_at: datetime
    sections: list[tuple[str, str]]
    pack: EvidencePack
    verification: Verification
    flags: list[Flag]
    usage: list[CallRecord]
    model_notes: list[str]
    evidence_notes: list[str]  # human lines for "Sources & notes"
    meta: dict[str, Any]
    allowed: set[str]

    @property
    def cited(self) -> list[Source]:
        ids = list(self.verification.cited_ids)
        for _, body in self.sections:  # sections may carry citations verify did not see
            ids += [i for i in citation_ids(body) if i not in ids]
        cited = set(ids)
        # In pack order (S1, S2, ...): the ids are the pack's, so the list reads in order.
        return [s for s in sources_of(self.pack) if s.id in cited]

    @property
    def info_line(self) -> str:
        return (
            f"info: {len(sources_of(self.pack))} sources in the evidence; crew "
            f"`{code_text(self.crew)}`, generated {self.generated_at:%Y-%m-%d %H:%M} UTC"
        )

    @property
    def models(self) -> list[str]:
        """One line per task: the model that wrote it and any fallback on the way; then what
        the capability probe measured of each model."""
        return model_lines(self.usage) + [str(p) for p in self.meta.get("model_profiles") or []]

    @property
    def uncited(self) -> list[Source]:
        """Sources the crew read but the report does not cite, in evidence order (those of a
        story in "Also in the news" are listed there)."""
        cited = {s.id for s in self.cited}
        aside = {
            str(sid) for entry in also_in_news(self.pack) for sid in entry.get("sources") or []
        }
        return [s for s in sources_of(self.pack) if s.id not in cited and s.id not in aside]

    @property
    def uncited_count(self) -> int:
        return len(self.uncited)


def build_report(
    crew: str,
    *,
    title: str,
    body_sections: Sequence[tuple[str, str]] | None,
    pack: EvidencePack,
    verification: Verification,
    usage: Sequence[CallRecord],
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
    marker = 1
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
        clean, marker = mark_claims(clean, flags, marker)  # what failed stays visible inline
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


def _evidence_notes(pack: EvidencePack) -> list[str]:
    lines = []
    for note in getattr(pack, "notes", None) or []:
        level = getattr(note, "level", "warning")
        kind = getattr(note, "kind", "evidence")
        lines.append(
            f"{level}: {kind} `{code_text(getattr(note, 'source', ''))}`: "
            f"{md_text(getattr(note, 'message', ''))}"
        )
    for what in getattr(pack, "degraded", None) or []:
        lines.append(f"degraded: {md_text(str(what))}")
    left_out = getattr(pack, "left_out", None) or {}
    dropped = getattr(pack, "dropped", None) or []
    if left_out:
        detail = ", ".join(f"{n} {reason}" for reason, n in left_out.items())
        total = plural(sum(left_out.values()), "item")
        lines.append(f"info: {total} left out on purpose: {detail}")
    elif dropped:
        lines.append(f"info: {plural(len(dropped), 'item')} left out of the evidence")
    unread = getattr(pack, "unread", None) or []
    if unread:
        reasons: dict[str, int] = {}
        for _title, reason in unread:
            key = reason.split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
        detail = ", ".join(f"{n} {reason}" for reason, n in reasons.items())
        lines.append(
            f"partial: {plural(len(unread), 'new item')} not read by a model ({md_text(detail)}); "
            "they stay new and the next run reads them first"
        )
    return lines


# -- helpers the renderers share ------------------------------------------------------------


def sources_of(pack: EvidencePack | None) -> list[Source]:
    return list(getattr(pack, "sources", None) or [])


def model_lines(usage: Sequence[CallRecord]) -> list[str]:
    """Which model wrote each task, and every fallback on the way, one line per task.

    "collect (researcher): embedded/default, after ollama/qwen3:8b failed: <why>". Read from
    the run's call records (spec, agent, task, ok, error, fallback_from).
    """
    order: list[tuple[str, str]] = []
    wrote: dict[tuple[str, str], list[str]] = {}
    failed: dict[tuple[str, str], dict[str, str]] = {}
    how: dict[tuple[str, str], list[str]] = {}  # the writing mode, answers cut at their cap
    for rec in usage:
        key = (str(getattr(rec, "task", None) or "-"), agent_of(rec))
        if key not in wrote:
            order.append(key)
            wrote[key], failed[key] = [], {}
        spec = str(getattr(rec, "spec", "") or "?")
        if getattr(rec, "ok", True):
            if spec not in wrote[key]:
                wrote[key].append(spec)
            said = how.setdefault(key, [])
            mode = getattr(rec, "mode", None)
            if mode and f"as {mode}" not in said:
                said.append(f"as {mode}")
            if getattr(rec, "done_reason", None) == "length":
                cut = f"answer cut at its output cap of {getattr(rec, 'num_predict', '?')} tokens"
                if cut not in said:
                    said.append(cut)
        else:
            failed[key].setdefault(spec, str(getattr(rec, "error", None) or "failed"))
    lines = []
    for key in order:
        task, agent = key
        misses = {s: why for s, why in failed[key].items() if s not in wrote[key]}
        who = ", ".join(wrote[key]) or "no model (every model of the chain failed)"
        line = f"{task} ({agent}): {who}"
        if misses:
            line += ", after " + "; ".join(
                f"{s} failed: {_clip(why, 160)}" for s, why in misses.items()
            )
        if how.get(key):
            line += "; written " + "; ".join(how[key])
        lines.append(line)
    return lines


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def agent_of(rec: CallRecord) -> str:
    return str(getattr(rec, "agent", None) or "-")


def source_title(source: Source) -> str:
    """A source's title as shown to the reader: feed text, so any URL in it is defanged."""
    return defang_urls(str(getattr(source, "title", "") or "")) or "(untitled)"


def source_day(source: Source) -> str:
    published = getattr(source, "published", None)
    if isinstance(published, datetime | date):
        return published.strftime("%Y-%m-%d")
    return str(published)[:10] if published else ""


def is_linkable(url: str) -> bool:
    return bool(re.match(r"^https?://[^\s<>\"'`]+$", url, re.IGNORECASE))


def story_outlets(story: dict[str, Any]) -> str:
    """ "also reported by 3: Outlet B, Outlet C, Outlet D" for a story dict (stories.group)."""
    outlets = [str(o) for o in story.get("outlets") or []]
    if len(outlets) < 2:
        return ""
    shown = ", ".join(outlets[1:9]) + (", ..." if len(outlets) > 9 else "")
    return f"also reported by {len(outlets) - 1}: {shown}"


def also_in_news(pack: EvidencePack) -> list[dict[str, Any]]:
    """The stories and sources the reader's preferences moved aside, each with its rule."""
    entries = (getattr(pack, "preferences", None) or {}).get("also_in_news") or []
    return [e for e in entries if isinstance(e, dict)]


def also_in_news_note(crew: str) -> str:
    return (
        "Stories your ratings say you usually skip: one line each, with the rule that moved it "
        f"here (scoutcrew prefs {crew} lists the rules; --all-items tells them in full)."
    )


def moved_up_line(story: dict[str, Any]) -> str:
    """Why the reader's preferences moved a story up, for a story dict with a "why"."""
    why = str(story.get("why") or "")
    return f"moved up by your ratings: {why.removeprefix('up: ')}"


def aside_line(entry: dict[str, Any]) -> str:
    """How a story moved aside is told in one line, after its title: outlets, then its rule."""
    outlets = [str(o) for o in entry.get("outlets") or []][:4]
    where = ", ".join(outlets)
    how = "moved here by" if entry.get("read") else "not read: left out by"
    rule = str(entry.get("rule") or "your ratings")
    return f"{where}; {how} {rule}" if where else f"{how} {rule}"


def story_disagreements(stories: Sequence[dict[str, Any]]) -> list[str]:
    """Every "sources disagree" line of the stories, with the story's title."""
    return [
        f"{story.get('title', '')}: {entry.get('line', '')}"
        for story in stories
        for entry in story.get("disagreements") or []
        if isinstance(entry, dict)
    ]


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def uncited_line(n: int, cited: int) -> str:
    """Say how many sources of the evidence went uncited, next to the `cited` ones listed."""
    if cited == 0:
        if n == 1:
            return "The one source in the evidence was not cited."
        return f"None of the {n} sources in the evidence was cited."
    verb = "was" if n == 1 else "were"
    return f"{plural(n, 'more source')} in the evidence {verb} not cited."


def code_text(text: str) -> str:
    return str(text).replace("`", "'").replace("\n", " ")


# scoutcrew's own lines (the model notes, the Models section): `code` spans and URLs.
_OWN_TOKEN = re.compile(r"`[^`\n]+`|" + BARE_URL_RE.pattern, re.IGNORECASE)


def md_own_text(text: str) -> str:
    """scoutcrew's own text (a model's failure, its host) for Markdown, as the HTML page shows
    it: a URL or a `code` span stays as written, in a code span, so no renderer links it;
    everything else is escaped."""
    text = re.sub(r"\s+", " ", str(text)).strip()
    return "".join(
        f"`{part.replace('`', chr(39))}`" if code else _md_escape(part)
        for part, code in own_text_parts(text)
    )


def own_text_parts(text: str) -> list[tuple[str, bool]]:
    """scoutcrew's own text in (text, is_code) parts: its `code` spans and URLs, for HTML."""
    out, last = [], 0
    for match in _OWN_TOKEN.finditer(text):
        token, tail = match.group(0), ""
        if token.startswith("`"):
            token = token.strip("`")
        else:  # "at http://host:11434: start it": the colon belongs to the sentence
            while token and token[-1] in _TRAILING:
                token, tail = token[:-1], token[-1] + tail
        out += [(text[last : match.start()], False), (token, True), (tail, False)]
        last = match.end()
    out.append((text[last:], False))
    return [(part, code) for part, code in out if part]


_TRAILING = ".,;:!?*_~)"


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>|~])", r"\\\1", text)


def md_text(text: str) -> str:
    """Escape evidence or config text for Markdown; URLs in it are defanged, not linked."""
    text = re.sub(r"\s+", " ", str(text)).strip()
    return _md_escape(defang_urls(text))  # with [] escaped, () cannot link
