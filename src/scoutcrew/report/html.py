"""Render a report as one self-contained HTML page.

Nothing in the page runs or loads: no script, no external asset, a Content-Security-Policy
that forbids both, links only to evidence URLs, every piece of model or feed text escaped, and
small inline SVG charts (tokens per agent, evidence items per source).
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from ..text.links import IMAGE_MARKER, LINK_MARKER, is_evidence_link
from ..verify.verdicts import marker_note
from .model import (
    Report,
    agent_of,
    also_in_news,
    also_in_news_note,
    aside_line,
    is_linkable,
    moved_up_line,
    own_text_parts,
    source_day,
    source_title,
    sources_of,
    story_outlets,
    uncited_line,
)

if TYPE_CHECKING:
    from ..select.pack import Source

_CSS = """
body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;
color:#1d1d1f}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem}
.note{background:#fff6d6;border-left:4px solid #e0b000;padding:.4rem .8rem;margin:.5rem 0}
.cite{font-size:.85em;vertical-align:super}.cite a{text-decoration:none}
.removed{color:#a00;font-size:.85em}.flag{color:#a00}
.claim-flag a{color:#a00;text-decoration:none}.claim-notes{color:#a00;font-size:.9em}
.claim-flag.not-confirmed a{color:#8a6100}.claim-flag.uncited a{color:#555}
.refs li{margin:.25rem 0;word-break:break-word}
.disagree{color:#8a4b00}
.trust{margin-top:2rem;padding-top:.6rem;border-top:1px solid #ccc;font-weight:600}
pre{background:#f4f4f4;padding:.6rem;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .4rem}
svg text{font:12px system-ui,sans-serif}
"""
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)


def render_html(report: Report) -> str:
    """Return a self-contained HTML page: no script, no external asset, model text escaped."""
    e = _h
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(report.title)}</h1>",
    ]
    parts += [
        f'<p class="note"><strong>Note:</strong> {_own_html(n)}</p>' for n in report.model_notes
    ]
    known = {s.id for s in sources_of(report.pack)}
    marked = [f for f in report.flags if f.marker is not None]
    notes = {int(f.marker): marker_note(f) for f in marked if f.marker is not None}
    for heading, body in report.sections:
        if heading:
            parts.append(f"<h2>{e(heading)}</h2>")
        parts.append(markdown_to_html(body, report.allowed, known, notes))
    if marked:
        parts.append('<ol class="claim-notes">')
        for n, note in notes.items():
            parts.append(f'<li id="claim-{n}" value="{n}">{e(note)}</li>')
        parts.append("</ol>")

    parts += _stories_html(report, known)
    parts += _also_in_news_html(report, known)
    parts.append("<h2>References</h2>")
    cited = report.cited
    if cited:
        parts.append('<ul class="refs">')
        for s in cited:
            parts.append(f'<li id="src-{e(s.id)}">[{e(s.id)}] {_source_html(s)}</li>')
        parts.append("</ul>")
    else:
        parts.append("<p>No source was cited.</p>")
    if report.uncited_count:
        parts.append(f"<p>{uncited_line(report.uncited_count, len(cited))}</p>")
        parts.append("<h2>Also in the evidence</h2><ul>")
        for s in report.uncited:
            parts.append(f"<li>{_source_html(s)}</li>")
        parts.append("</ul>")

    parts.append("<h2>Sources &amp; notes</h2><ul>")
    for line in [report.info_line, *report.evidence_notes]:
        parts.append(f"<li>{e(_unmd(line))}</li>")
    parts.append("</ul>")
    if report.models:
        parts.append("<h2>Models</h2><ul>")
        parts += [f"<li>{_own_html(line)}</li>" for line in report.models]
        parts.append("</ul>")
    parts.append(_charts_html(report))

    if report.flags:
        parts.append("<h2>Flags</h2><ul>")
        for f in report.flags:
            where = f" - in: \u201c{e(_plain_sentence(f.sentence))}\u201d" if f.sentence else ""
            kind = f.kind.replace("-", " ")
            if f.claim_class and f.kind in {"contradicted", "not-confirmed"}:
                kind += f" ({f.claim_class})"
            parts.append(f'<li><span class="flag">{e(kind)}</span>: {e(f.detail)}{where}</li>')
        parts.append("</ul>")
    parts.append(f'<p class="trust">{e(report.verification.trust_line())}</p>')
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _stories_html(report: Report, known: set[str]) -> list[str]:
    """The stories, as in the Markdown: best sources, other outlets, disagreements, status."""
    stories = getattr(report.pack, "stories", None) or []
    if not stories:
        return []
    e = _h
    parts = ['<h2>Stories</h2><ul class="stories">']
    for story in stories:
        status = str(story.get("status") or "new")
        when = str(story.get("last_reported") or "")[:10]
        label = {"updated": f"updated since {when}", "again": "reported before"}.get(status, status)
        ids = [str(i) for i in story.get("best") or story.get("sources") or []][:3]
        cites = _link_citations(e("".join(f"[{i}]" for i in ids)).replace("][", ", "), known)
        parts.append(f"<li><strong>{e(label)}</strong>: {e(story.get('title', ''))} {cites}")
        extra = []
        if story.get("why"):
            extra.append(f'<li class="moved-up">{e(moved_up_line(story))}</li>')
        if story_outlets(story):
            extra.append(f"<li>{e(story_outlets(story))}</li>")
        for entry in story.get("disagreements") or []:
            extra.append(f'<li class="disagree"><strong>{e(entry.get("line", ""))}</strong></li>')
        if status == "updated":
            extra += [
                f"<li>new: {e(_no_ids(str(line)))}</li>" for line in story.get("changed") or []
            ]
        if extra:
            parts.append("<ul>" + "".join(extra) + "</ul>")
        parts.append("</li>")
    parts.append("</ul>")
    return parts


def _also_in_news_html(report: Report, known: set[str]) -> list[str]:
    """What the preferences moved aside: one line each (a click opens it in full: its notes
    and links, or the article for a source that was not read)."""
    entries = also_in_news(report.pack)
    if not entries:
        return []
    e = _h
    parts = [
        f'<h2>Also in the news</h2><p class="aside-note">{e(also_in_news_note(report.crew))}</p>',
        '<ul class="also-news">',
    ]
    for entry in entries:
        url = str(entry.get("url") or "")
        link = (
            f'<a href="{e(url)}" rel="noopener noreferrer nofollow">{e(url)}</a>'
            if is_linkable(url)
            else ""
        )
        inside = [
            f"<li>{_link_citations(e(str(fact)), known)}</li>" for fact in entry.get("facts") or []
        ]
        body = f'<ul class="facts">{"".join(inside)}</ul>' if inside else ""
        if not entry.get("read"):
            body += "<p>Not read by a model.</p>"
        body += f"<p>{link}</p>" if link else ""
        parts.append(
            f'<li id="aside-{e(str(entry.get("id") or ""))}"><details><summary>'
            f"<strong>{e(str(entry.get('title') or ''))}</strong> ({e(aside_line(entry))})"
            f"</summary>{body}</details></li>"
        )
    parts.append("</ul>")
    return parts


def _no_ids(text: str) -> str:
    return re.sub(r"\s*\[S\d+\]", "", text).strip()


def markdown_to_html(
    text: str, allowed: set[str], known_ids: set[str], notes: dict[int, str] | None = None
) -> str:
    """Render a safe Markdown subset: no raw HTML, no images, links only to evidence URLs.

    notes: the claim check's footnotes by number; their "[^cN]" markers become superscript
    links with the reason as a tooltip. Other "[^cN]" text is left as it is.
    """
    claim_notes = notes or {}
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML

    class SafeRenderer(RendererHTML):
        def link_open(self, tokens, idx, options, env):  # type: ignore[no-untyped-def]
            href = tokens[idx].attrGet("href") or ""
            ok = is_evidence_link(str(href), allowed)
            env.setdefault("links", []).append(ok)
            if not ok:
                return ""
            return f'<a href="{_h(str(href))}" rel="noopener noreferrer nofollow">'

        def link_close(self, tokens, idx, options, env):  # type: ignore[no-untyped-def]
            ok = env.get("links", [True]).pop() if env.get("links") else True
            return "</a>" if ok else f' <span class="removed">{_h(LINK_MARKER)}</span>'

        def image(self, tokens, idx, options, env):  # type: ignore[no-untyped-def]
            alt = self.renderInlineAsText(tokens[idx].children or [], options, env)
            return f'{_h(alt)} <span class="removed">{_h(IMAGE_MARKER)}</span>'

        def text(self, tokens, idx, options, env):  # type: ignore[no-untyped-def]
            linked = _link_citations(_h(tokens[idx].content), known_ids)
            return _link_markers(linked, claim_notes)

        def html_block(self, tokens, idx, options, env):  # type: ignore[no-untyped-def]
            return f"<p>{_h(tokens[idx].content)}</p>"

        def html_inline(self, tokens, idx, options, env):  # type: ignore[no-untyped-def]
            return _h(tokens[idx].content)

    md = MarkdownIt("commonmark", {"html": False, "linkify": False}, renderer_cls=SafeRenderer)
    md.enable("table")
    md.validateLink = lambda url: True  # type: ignore[method-assign]  # SafeRenderer decides
    rendered: str = md.render(text, {})  # markdown-it types its output as Any
    return rendered


def _link_markers(escaped: str, notes: dict[int, str]) -> str:
    def marker(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n not in notes:
            return m.group(0)
        verdict = (
            "contradicted"
            if notes[n].startswith("contradicted")
            else "not-confirmed"
            if notes[n].startswith("not confirmed")
            else "uncited"
        )
        return (
            f'<sup class="claim-flag {verdict}"><a href="#claim-{n}" title="{_h(notes[n])}">'
            f"[{n}]</a></sup>"
        )

    return re.sub(r"\[\^c(\d+)\]", marker, escaped)


def _link_citations(escaped: str, known: set[str]) -> str:
    def group(m: re.Match[str]) -> str:
        ids = [f"S{int(n)}" for n in re.findall(r"\d+", m.group(0))]
        if not ids or any(i not in known for i in ids):
            return m.group(0)
        links = ", ".join(f'<a href="#src-{i}">{i}</a>' for i in ids)
        return f'<span class="cite">[{links}]</span>'

    return re.sub(r"\[S\d+(?:, S\d+)*\]", group, escaped)


def _charts_html(report: Report) -> str:
    agents: dict[str, list[int]] = {}
    for rec in report.usage:
        row = agents.setdefault(agent_of(rec), [0, 0])
        row[0] += int(getattr(rec, "prompt_tokens", 0) or 0)
        row[1] += int(getattr(rec, "completion_tokens", 0) or 0)
    feeds: dict[str, int] = {}
    for s in sources_of(report.pack):
        name = str(getattr(s, "feed_title", "") or "") or _host(str(getattr(s, "url", "")))
        feeds[name] = feeds.get(name, 0) + 1
    charts = []
    if agents and not any(sum(row) for row in agents.values()):
        # A chart of zeros says nothing: say why no token was spent.
        cached = not any(getattr(rec, "task", None) == "notes" for rec in report.usage)
        why = "all notes cached, and" if cached else "no model call read or wrote anything:"
        charts.append(f'<p class="tokens">0 tokens: {why} nothing else needed a model</p>')
    elif agents:
        ranked = sorted(agents.items(), key=lambda kv: -sum(kv[1]))
        rows = [(name, [prompt, completion]) for name, (prompt, completion) in ranked]
        charts.append(bar_chart("Tokens per agent (prompt, completion)", rows))
    if feeds:
        rows = [(name, [n]) for name, n in sorted(feeds.items(), key=lambda kv: -kv[1])]
        charts.append(bar_chart("Evidence items per source", rows))
    return "\n".join(f"<figure>{c}</figure>" for c in charts)


def bar_chart(title: str, rows: list[tuple[str, list[int]]], width: int = 560) -> str:
    """Return an inline SVG horizontal (stacked) bar chart; labels are escaped."""
    colors = ("#3b6fb6", "#e3963e")
    label_w, row_h, top = 170, 22, 24
    rows = rows[:15]
    peak = max((sum(v) for _, v in rows), default=0) or 1
    bar_space = width - label_w - 70
    height = top + row_h * len(rows) + 6
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_h(title)}">',
        f"<title>{_h(title)}</title>",
        f'<text x="0" y="14" font-weight="bold">{_h(title)}</text>',
    ]
    for n, (label, values) in enumerate(rows):
        y = top + n * row_h
        short = label if len(label) <= 24 else label[:23] + "\u2026"
        out.append(f'<text x="0" y="{y + 14}">{_h(short)}</text>')
        x = float(label_w)
        for k, value in enumerate(values):
            w = bar_space * value / peak
            out.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" '
                f'fill="{colors[k % len(colors)]}"/>'
            )
            x += w
        out.append(f'<text x="{x + 6:.1f}" y="{y + 14}">{sum(values):,}</text>')
    out.append("</svg>")
    return "".join(out)


def _h(text: str) -> str:
    return html.escape(str(text), quote=True)


def _host(url: str) -> str:
    m = re.match(r"^[a-z]+://([^/?#]+)", url, re.IGNORECASE)
    return m.group(1).lower() if m else "unknown"


def _plain_sentence(sentence: str) -> str:
    # The sentence is cleaned Markdown: show its "&lt;" as "<" (the page escapes it again).
    return re.sub(r"\s+", " ", sentence).replace("&lt;", "<").strip()


def _own_html(text: str) -> str:
    """scoutcrew's own text (a note, a model line), escaped, its `code` and URLs as <code>."""
    return "".join(
        f"<code>{_h(part)}</code>" if code else _h(part) for part, code in own_text_parts(text)
    )


def _unmd(text: str) -> str:
    """Undo _md_text's escapes and code marks for the HTML (which escapes on its own)."""
    return re.sub(r"\\([\\`*_\[\]<>|~])", r"\1", text).replace("`", "")


def _source_html(s: Source) -> str:
    """Title, link, feed and date of one source, escaped."""
    e = _h
    url = str(getattr(s, "url", "") or "")
    link = (
        f'<a href="{e(url)}" rel="noopener noreferrer nofollow">{e(url)}</a>'
        if is_linkable(url)
        else f"<code>{e(url)}</code>"
    )
    suffix = ", ".join(b for b in (str(getattr(s, "feed_title", "") or ""), source_day(s)) if b)
    return f"{e(source_title(s))} - {link}" + (f" ({e(suffix)})" if suffix else "")
