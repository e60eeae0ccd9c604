"""Gather and select, no model: the crew's feeds, searches and pages, then the [S#] sources
a run should read (duplicates merged, what is new, ranked against the crew's topic)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import RunFailed
from ..gather.items import Gathered
from ..select.pack import EvidencePack
from ..store.db import utcnow
from .state import RunState

if TYPE_CHECKING:
    from ..config.plan import Plan
    from ..gather.search import Searcher, SearchFn
    from ..store.db import Store
    from .context import RunContext


def ranking_query(plan: Plan) -> str:
    """What the evidence is ranked against: the crew's topic and keywords (else its description)."""
    parts = [plan.inputs.get("topic", ""), *plan.sources.keywords]
    return " ".join(p for p in parts if p) or plan.config.description


def gather_sources(
    plan: Plan, store: Store, search_backend: Searcher | SearchFn | None = None
) -> Gathered:
    """Fetch the crew's feeds, searches and pages (no model); failures become notes."""
    from ..gather.feeds import gather

    return gather(
        plan.sources, store=store, project_root=plan.project.root, search_backend=search_backend
    )


def select_sources(
    plan: Plan, store: Store, gathered: Gathered, *, all_items: bool, carried_before: str
) -> EvidencePack:
    """Keep every gathered source this run should read, with its [S#] id (no model)."""
    from ..select.pack import collect_sources

    return collect_sources(
        gathered,
        crew=plan.crew,
        query=ranking_query(plan),
        store=store,
        new_only=not (all_items or plan.sources.all_items),
        max_items=plan.sources.max_items,
        keywords=plan.sources.keywords if plan.sources.require_keywords else None,
        carried_before=carried_before,
    )


def gather_evidence(
    plan: Plan,
    store: Store,
    all_items: bool,
    search_backend: Searcher | SearchFn | None = None,
    carried_before: str | None = None,
) -> tuple[Gathered, EvidencePack]:
    """Gather and select in one go (what `scoutcrew plan` and the benchmarks use)."""
    gathered = gather_sources(plan, store, search_backend)
    pack = select_sources(
        plan, store, gathered, all_items=all_items, carried_before=carried_before or utcnow()
    )
    return gathered, pack


# -- the nodes ------------------------------------------------------------------------------


def gather_node(ctx: RunContext, state: RunState) -> RunState:
    """Fetch every feed, search and page of the crew, concurrently; no model."""
    ctx.say("gathering sources")
    started = state.get("started_at") or utcnow()
    return {
        "started_at": started,
        "gathered": gather_sources(ctx.plan, ctx.store, ctx.search_backend),
    }


def select_node(ctx: RunContext, state: RunState) -> RunState:
    """Merge duplicates, keep what is new, rank: the sources a model will read; no model."""
    gathered = state["gathered"]
    assert gathered is not None
    pack = select_sources(
        ctx.plan,
        ctx.store,
        gathered,
        all_items=ctx.all_items,
        carried_before=state.get("started_at") or utcnow(),
    )
    ctx.recorder.save_evidence(
        pack_record(pack, gathered), [str(n) for n in pack.notes], list(pack.degraded)
    )
    ctx.say(f"evidence: {len(pack.sources)} new sources, ~{pack.used_tokens} tokens")
    if not pack.sources:
        failed, total = failed_sources(gathered)
        if total and failed == total:
            reasons = "; ".join(str(n) for n in gathered.notes if n.level == "error")
            crew = ctx.plan.crew
            raise RunFailed(
                f"every source of {crew} failed ({failed} of {total}), so there is nothing "
                f"to report on. Check the network and the URLs in crews/{crew}.yaml "
                f"(`scoutcrew plan {crew}` lists each source). {clip(reasons, 400)}"
            )
    return {"pack": pack}


def pack_record(pack: EvidencePack, gathered: Gathered | None) -> dict[str, Any]:
    """The evidence pack as the run record keeps it (JSON): what the crew was given."""
    from dataclasses import asdict

    data = asdict(pack)
    for source in data["sources"]:
        if source.get("published") is not None:
            source["published"] = source["published"].isoformat()
    data["gathered_items"] = len(gathered.items) if gathered is not None else None
    return data


def nothing_new_node(ctx: RunContext, state: RunState) -> RunState:
    """End a run that has nothing new to read: no model was called, no report is written."""
    return {
        "status": "nothing-new",
        "message": nothing_new_message(ctx.plan.crew, state.get("gathered")),
    }


def nothing_new_message(crew: str, gathered: Gathered | None) -> str:
    """Say why a run called no model, and how to get a report from the same items anyway."""
    message = f"nothing new for {crew} since its last successful run; no model was called"
    if gathered is not None and failed_sources(gathered)[0]:
        failed, total = failed_sources(gathered)
        message += f" ({failed} of {total} sources failed; `scoutcrew plan {crew}` says why)"
    return (
        f"{message}. For a report from every item anyway: `scoutcrew run {crew} --all-items` "
        "(or `all_items: true` under sources: in its crew file)"
    )


def failed_sources(gathered: Gathered) -> tuple[int, int]:
    """How many of the crew's feeds and searches failed, out of how many."""
    stats = gathered.stats or {}
    total = int(stats.get("feeds", 0)) + int(stats.get("searches", 0))
    failed = int(stats.get("feeds_failed", 0)) + int(stats.get("searches_failed", 0))
    return failed, total


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
