"""Reduce in levels: when a run's stories do not fit the crew's window, summarise, never cut.

Level 0 is every story with its notes (stories.render_stories). If that is longer than the
evidence budget of the agent that reads it, stories are put in groups that fit the summarising
model's window, each group is summarised (keeping every [S#] id of the facts it keeps), and the
summaries become the evidence; if they are still too long, groups of summaries are summarised
again. Nothing is dropped by code: every story is in some group at every level.

The model call is passed in (`summarise(text, max_tokens) -> str`), as for notes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import RunFailed
from ..text.measure import estimate_tokens
from .group import Story
from .render import compact_story, fence, render_story

MAX_LEVELS = 6
REDUCE_SYSTEM = (
    "You merge research notes for a report. Rewrite the notes below in fewer lines: one line "
    "per fact that matters, similar facts merged, repeats dropped. Copy figures, names and "
    "dates exactly. End every line with the [S#] ids of the sources it comes from, like [S3] "
    "or [S3][S8]. Keep each story's title as a line starting with 'Story:' and say whether it "
    "is new or updated. Keep every 'Sources disagree' line as it is. Write nothing else."
)
REDUCE_CUE = (
    "Merge the notes above into at most {lines} lines. Keep the [S#] ids at the end of every line."
)
# The answer may take at most this share of its group's size; less when the notes are far
# over the crew's budget, so one level is usually enough.
SHRINK = 0.3
MIN_SHRINK = 0.08
TOKENS_PER_LINE = 20
MIN_SUMMARY_TOKENS = 96

Summarise = Callable[[list[dict[str, str]], int], str]
_IDS = re.compile(r"\[(S\d+)\]", re.IGNORECASE)


@dataclass
class Reduced:
    """The crew's evidence text and how it was obtained."""

    text: str
    levels: int = 0
    calls: int = 0
    tokens: int = 0
    groups: list[int] = field(default_factory=list)  # groups summarised at each level


def reduce_messages(text: str, lines: int) -> list[dict[str, str]]:
    cue = REDUCE_CUE.format(lines=lines)
    user = f"BEGIN NOTES\n{text}\nEND NOTES\n\n{cue}"
    return [{"role": "system", "content": REDUCE_SYSTEM}, {"role": "user", "content": user}]


def fit_evidence(
    stories: Sequence[Story],
    *,
    budget_tokens: int,
    window_tokens: int,
    summarise: Summarise | None,
    parallel: int = 1,
) -> Reduced:
    """Return evidence text for the crew that fits `budget_tokens`, reducing in levels."""
    shown = [s for s in stories if s.status != "unchanged"]
    blocks = [render_story(s, i) for i, s in enumerate(shown, 1)]
    text = fence("\n\n".join(blocks))
    result = Reduced(text=text, tokens=estimate_tokens(text))
    overhead = estimate_tokens(REDUCE_SYSTEM + REDUCE_CUE) + 40
    while result.tokens > budget_tokens:
        if summarise is None:
            raise RunFailed(
                f"the notes of this run (~{result.tokens} tokens) do not fit the crew's "
                f"evidence budget ({budget_tokens}) and no model may summarise them"
            )
        if result.levels >= MAX_LEVELS:
            raise RunFailed(
                f"after {MAX_LEVELS} levels of summaries the notes still take ~{result.tokens} "
                f"tokens, more than the crew's evidence budget ({budget_tokens}): give the "
                "reading agents a larger num_ctx or a model with a longer context"
            )
        room = max(256, int((window_tokens - overhead) / (1 + SHRINK)))
        if result.levels == 0:  # the summariser reads the notes as compact lines
            blocks = [compact_story(s) for s in shown]
        groups = _groups(blocks, room)
        before = sum(estimate_tokens(b) for b in blocks)
        # Aim the whole level at the budget (with room for the fence), within bounds.
        share = min(SHRINK, max(MIN_SHRINK, 0.85 * budget_tokens / max(1, before)))

        def run(group: list[str], share: float = share) -> str:
            body = "\n\n".join(group)
            allowed = {i.upper() for i in _IDS.findall(body)}
            target = max(TOKENS_PER_LINE, int(estimate_tokens(body) * share))
            lines = max(1, target // TOKENS_PER_LINE)
            limit = max(MIN_SUMMARY_TOKENS, int(target * 1.5))
            answer = summarise(reduce_messages(body, lines), limit)
            return _keep_cited(answer, allowed) or body

        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            summaries = list(pool.map(run, groups))
        result.calls += len(groups)
        result.groups.append(len(groups))
        result.levels += 1
        after = sum(estimate_tokens(s) for s in summaries)
        if after >= before:
            raise RunFailed(
                f"summarising the notes did not make them shorter (~{before} tokens before, "
                f"~{after} after); the crew's evidence budget is {budget_tokens} tokens"
            )
        blocks = summaries
        result.text = fence("\n\n".join(blocks))
        result.tokens = estimate_tokens(result.text)
    return result


def _groups(blocks: list[str], room: int) -> list[list[str]]:
    groups: list[list[str]] = []
    current: list[str] = []
    used = 0
    for block in blocks:
        size = estimate_tokens(block) + 1
        if current and used + size > room:
            groups.append(current)
            current, used = [], 0
        current.append(block)
        used += size
    if current:
        groups.append(current)
    return groups


def _keep_cited(answer: str, allowed: set[str]) -> str:
    """Keep story headers and the lines whose ids all belong to the group."""
    kept = []
    for line in answer.splitlines():
        line = line.strip()
        if not line:
            continue
        ids = {i.upper() for i in _IDS.findall(line)}
        if line.lower().startswith("story") and not ids:
            kept.append(line)
        elif ids and ids <= allowed:
            kept.append(line)
    return "\n".join(kept) if any(_IDS.search(line) for line in kept) else ""
