"""A person reviews the evidence before the crew writes (`--review-evidence`): the run stops,
writes the stories and sources it would hand to the crew to a YAML file, and `scoutcrew
resume RUN` goes on with what is left in the file (stories or sources deleted are dropped)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .state import RunState

if TYPE_CHECKING:
    from ..stories.group import Story
    from .context import RunContext

_SID = re.compile(r"^\s*(S\d+)\b", re.IGNORECASE)


def review_file(data_dir: Path, run_id: str) -> Path:
    return data_dir / "reviews" / f"{run_id}.yaml"


def for_crew(state: RunState) -> list[Story]:
    """The stories the crew reads: not unchanged, not dropped, without dropped sources."""
    dropped = state.get("reviewed") or {}
    gone_stories = set(dropped.get("stories") or [])
    gone_sources = set(dropped.get("sources") or [])
    kept = []
    for story in state.get("stories") or []:
        if story.status == "unchanged" or story.id in gone_stories:
            continue
        notes = [n for n in story.notes if n.source_id not in gone_sources]
        if notes:
            kept.append(replace(story, notes=notes) if len(notes) < len(story.notes) else story)
    return kept


def offer(state: RunState) -> dict[str, Any]:
    """What the person is shown: the stories with their sources, or the sources alone."""
    titles = {s.id: f"{s.id} {s.title}" for s in state["pack"].sources}
    if state.get("stories") is not None and state.get("notes") is not None:
        return {
            "kind": "evidence",
            "stories": [
                {
                    "id": story.id,
                    "title": story.title,
                    "status": story.status,
                    "sources": [titles.get(n.source_id, n.source_id) for n in story.notes],
                }
                for story in for_crew(state)
            ],
        }
    return {"kind": "evidence", "sources": [titles[s.id] for s in state["pack"].sources]}


def dropped(offered: dict[str, Any], kept: dict[str, Any]) -> dict[str, list[str]]:
    """What the person deleted from the offer."""

    def ids(lines: list[Any]) -> set[str]:
        return {m.group(1).upper() for line in lines if (m := _SID.match(str(line)))}

    if "stories" in offered:
        kept_stories = {
            str(s.get("id")): s for s in kept.get("stories") or [] if isinstance(s, dict)
        }
        gone_stories = [s["id"] for s in offered["stories"] if s["id"] not in kept_stories]
        gone_sources: list[str] = []
        for story in offered["stories"]:
            if story["id"] in kept_stories:
                left = ids(kept_stories[story["id"]].get("sources") or [])
                gone_sources += sorted(ids(story["sources"]) - left)
        return {"stories": gone_stories, "sources": gone_sources}
    left = ids(kept.get("sources") or [])
    return {"stories": [], "sources": sorted(ids(offered["sources"]) - left)}


def write_review(path: Path, offered: dict[str, Any], run_id: str) -> Path:
    """Write the evidence for review, as YAML a person can edit."""
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    body = {k: v for k, v in offered.items() if k != "kind"}
    header = (
        f"# The evidence of run {run_id}, before the crew writes. Delete the stories (or the\n"
        "# source lines) the crew should not use, save, then run "
        f"`scoutcrew resume {run_id}`.\n"
    )
    path.write_text(header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def read_review(path: Path, offered: dict[str, Any]) -> dict[str, Any]:
    """Read a reviewed file back; a missing file means the evidence as it was."""
    import yaml

    if not path.is_file():
        return offered
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
        if not isinstance(data, dict) or set(data) - {"stories", "sources"}:
            raise ValueError("the file must be a mapping with stories or sources")
        for key in ("stories", "sources"):
            if data.get(key) is not None and not isinstance(data[key], list):
                raise ValueError(f"{key} must be a list")
        return data
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError([f"{path}: {exc}; fix it, then resume again"]) from exc


def describe(offered: dict[str, Any]) -> str:
    """The evidence as a person reads it in the terminal."""
    lines = []
    for story in offered.get("stories") or []:
        lines.append(f"  {story['title']} ({story['status']})")
        lines += [f"      {s}" for s in story["sources"]]
    lines += [f"  {s}" for s in offered.get("sources") or []]
    return "\n".join(lines)


# -- the node -------------------------------------------------------------------------------


def review_evidence_node(ctx: RunContext, state: RunState) -> RunState:
    """Pause for a person to drop stories or sources; continue with what they kept."""
    from langgraph.types import interrupt

    offered = offer(state)
    kept = interrupt(offered)
    gone = dropped(offered, kept if isinstance(kept, dict) else offered)
    n_stories, n_sources = len(gone["stories"]), len(gone["sources"])
    ctx.say(f"evidence reviewed: {n_stories} stories and {n_sources} sources dropped")
    update: RunState = {"reviewed": gone}
    research = state.get("research")
    if research and gone["sources"]:  # a research crew: its outline is made again
        from ..research.result import evidence_text

        drop = set(gone["sources"])
        pages = [p for p in research.get("pages") or [] if p.get("sid") not in drop]
        research = {**research, "pages": pages}
        pack = replace(
            state["pack"], sources=[s for s in state["pack"].sources if s.id not in drop]
        )
        update.update(
            {"research": research, "pack": pack, "evidence": evidence_text(research, pack)}
        )
    return update
