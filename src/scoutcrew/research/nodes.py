"""The research loop's nodes: plan, review, search, read, reflect, outline.

Each node takes the loop's context and state and returns only what it changed (see state.py
for the state, loop.py for the graph that wires them).
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..errors import BudgetExhausted
from ..gather.urls import canonical_url
from ..notes.take import take_notes
from ..select.pack import Source, excerpt
from .answers import (
    PlanAnswer,
    ReflectAnswer,
    check_queries,
    checked_plan,
    from_answer,
    normalise_reflection,
    reflect_by_code,
    reflect_messages,
    salvage_plan,
    unique,
)
from .answers import follow_up as follow_up_queries
from .state import (
    NOTES_TASK,
    PAGE_TEXT_KEPT,
    PLAN_OUTPUT_TOKENS,
    PLAN_TASK,
    REFLECT_OUTPUT_TOKENS,
    REFLECT_TASK,
    STOP_REASONS,
    LoopContext,
    LoopReader,
    ResearchState,
    Spending,
    event,
)
from .structured import ask_structured

# -- nodes ---------------------------------------------------------------------------------------


def plan_node(ctx: LoopContext, state: ResearchState) -> dict[str, Any]:
    """Break the topic into sub-questions, each with search queries."""
    settings = ctx.settings
    spending = Spending(ctx, state)
    topic = state["topic"]
    rules = (
        "You plan web research. Answer with one JSON object only, in this shape: "
        '{"sub_questions": [{"question": "...", "queries": ["..."]'
        + (', "perspective": "..."' if settings.perspectives else "")
        + "}]}"
    )
    ask = (
        f"Topic: {topic}\n\nBreak the topic into at most {settings.sub_questions} sub-questions "
        "that a short cited brief must answer. Give each one or two web search queries that "
        "would find sources for it."
    )
    if settings.perspectives:
        ask += (
            f" First think of {settings.perspectives} different perspectives on the topic (a "
            "practitioner, a critic, a newcomer...) and ask the sub-questions from them; give "
            "each sub-question the perspective it comes from."
        )
    messages = [{"role": "system", "content": ctx.system(rules)}, {"role": "user", "content": ask}]

    def check(answer: PlanAnswer) -> None:
        if len(answer.sub_questions) > settings.sub_questions:
            raise ValueError(f"give at most {settings.sub_questions} sub-questions")
        if settings.perspectives and any(not q.perspective.strip() for q in answer.sub_questions):
            raise ValueError("give every sub-question its perspective")
        check_queries([x for q in answer.sub_questions for x in q.queries])

    trail: list[dict[str, Any]] = []
    try:
        asked = ask_structured(
            ctx.runtime,
            ctx.chain,
            messages,
            PlanAnswer,
            check=check,
            options=ctx.options(PLAN_OUTPUT_TOKENS),
            agent=ctx.agent.name,
            task=PLAN_TASK,
            before_call=lambda m: spending.check(m, PLAN_OUTPUT_TOKENS),
        )
    except BudgetExhausted as exc:
        asked = None
        trail.append(event(0, "plan", f"no plan from a model: {exc}"))
    questions: list[dict[str, Any]]
    if asked is not None and asked.value is not None:
        questions = [
            {
                "id": f"Q{i}",
                "question": " ".join(q.question.split()),
                "queries": unique([" ".join(x.split()) for x in q.queries if x.strip()]),
                "perspective": q.perspective.strip(),
            }
            for i, q in enumerate(asked.value.sub_questions, start=1)
        ]
        source = "model"
        how = f"{asked.model}" + (" after one repair" if asked.repaired else "")
        trail.append(event(0, "plan", f"{len(questions)} sub-questions from {how}"))
    elif asked is not None and (salvaged := salvage_plan(asked.last_text, settings.sub_questions)):
        # One repair did not fix the answer: code keeps what is usable of it.
        questions, source = salvaged, "model"
        reasons = "; ".join(asked.problems)[:200]
        trail.append(
            event(0, "plan", f"{len(questions)} sub-questions kept by code from the answer "
                  f"that did not fit ({reasons})")
        )  # fmt: skip
    else:
        if asked is not None:
            reasons = "; ".join(asked.problems)[:300]
            trail.append(event(0, "plan", f"no usable plan from any model ({reasons})"))
        queries = ctx.fallback_queries or [topic]
        questions = [{"id": "Q1", "question": topic, "queries": queries, "perspective": ""}]
        source = "fallback"
        trail.append(event(0, "plan", "planned by code: the topic and the crew's own queries"))
    return {
        "questions": questions,
        "plan_source": source,
        "trail": trail,
        "spent": spending.delta(),
        "costs": spending.cost(0, "plan"),
    }


def review_node(ctx: LoopContext, state: ResearchState) -> dict[str, Any]:
    """Pause for a person to edit the plan; continue with what they send back."""
    from langgraph.types import interrupt

    edited = interrupt({"topic": state["topic"], "questions": state["questions"]})
    questions = checked_plan(edited)
    changed = questions != state["questions"]
    text = "plan edited by hand" if changed else "plan reviewed, kept as it was"
    return {
        "questions": questions,
        "plan_source": "edited" if changed else state.get("plan_source", "model"),
        "trail": [event(0, "review", text)],
    }


def first_queries(ctx: LoopContext, state: ResearchState) -> dict[str, Any]:
    """Round 1's queries: the plan's, one sub-question after the other, up to the limit."""
    pending: list[dict[str, Any]] = []
    depth = max(len(q["queries"]) for q in state["questions"])
    for level in range(depth):
        for q in state["questions"]:
            if level < len(q["queries"]) and len(pending) < ctx.settings.queries_per_round:
                pending.append(
                    {"query": q["queries"][level], "question": q["id"], "why": "planned"}
                )
    return {"pending": pending, "round": 1}


def search_node(ctx: LoopContext, state: ResearchState) -> dict[str, Any]:
    """Run this round's queries (the store caches each per backend and day)."""
    from ..gather.items import Note
    from ..gather.search import run_searches

    rnd = state["round"]
    pending = list(state.get("pending") or [])
    if rnd == 1 and not pending:
        pending = first_queries(ctx, state)["pending"]
    notes: list[Note] = []
    degraded: list[str] = []
    searches, results = [], []
    for entry in pending:
        items, stats = asyncio.run(
            run_searches(
                [entry["query"]], ctx.sources, ctx.store, ctx.search_backend, notes, degraded
            )
        )
        failed = bool(stats.get("searches_failed"))
        searches.append(
            {
                "round": rnd,
                "query": entry["query"],
                "question": entry["question"],
                "why": entry["why"],
                "results": len(items),
                "cached": bool(stats.get("searches_cached")),
                "failed": failed,
            }
        )
        for position, item in enumerate(items, start=1):
            results.append(
                {
                    "url": item.url,
                    "title": item.title,
                    "snippet": item.text,
                    "query": entry["query"],
                    "question": entry["question"],
                    "position": position,
                }
            )
    problems = [str(n) for n in notes if n.level == "error"]
    text = f"searched {len(pending)} queries, {len(results)} results"
    trail = [event(rnd, "search", text)]
    trail += [event(rnd, "search", f"degraded: {p}") for p in problems]
    ctx.say(f"research round {rnd}: {text}")
    return {
        "round": rnd,
        "pending": pending,
        "searches": searches,
        "results": results,
        "trail": trail,
    }


def choose_pages(
    results: list[dict[str, Any]], already: set[str], limit: int
) -> list[dict[str, Any]]:
    """Pick up to `limit` new pages, taking each query's best result in turn."""
    by_query: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        by_query.setdefault(result["query"], []).append(result)
    chosen: list[dict[str, Any]] = []
    seen = set(already)
    queues = list(by_query.values())
    while len(chosen) < limit and any(queues):
        for queue in queues:
            while queue:
                result = queue.pop(0)
                url = canonical_url(result["url"])
                if url in seen:
                    continue
                seen.add(url)
                chosen.append({**result, "url": url})
                break
            if len(chosen) >= limit:
                break
    return chosen


def read_node(ctx: LoopContext, state: ResearchState) -> dict[str, Any]:
    """Fetch the round's chosen pages and take a note of each."""
    rnd = state["round"]
    spending = Spending(ctx, state)
    already = {p["url"] for p in state.get("pages") or []}
    chosen = choose_pages(state.get("results") or [], already, ctx.settings.pages_per_round)
    next_id = 1 + sum(1 for p in state.get("pages") or [] if p.get("sid"))
    texts, fetch_notes = _fetch_pages(ctx, chosen, state.get("started_at") or "")
    sources: list[Source] = []
    pages: list[dict[str, Any]] = []
    for page in chosen:
        text = texts.get(page["url"]) or ""
        status = "read" if text else "snippet only"
        body = text or page["snippet"]
        why = f"result {page['position']} of {page['query']!r} (for {page['question']})"
        entry = {
            "round": rnd,
            "url": page["url"],
            "title": page["title"],
            "question": page["question"],
            "query": page["query"],
            "why": why,
            "status": status,
            "fetch_note": fetch_notes.get(page["url"], ""),
            "sid": "",
            "facts": [],
            "text": text[:PAGE_TEXT_KEPT],
        }
        if body.strip():
            entry["sid"] = f"S{next_id}"
            next_id += 1
            sources.append(
                Source(
                    id=entry["sid"],
                    url=page["url"],
                    links=[page["url"]],
                    title=page["title"],
                    feed_title=f"search: {page['query']}",
                    published=None,
                    excerpt=excerpt(body, ctx.settings.page_tokens),
                    text=body,
                )
            )
        pages.append(entry)
    trail: list[dict[str, Any]] = []
    budget_hit = bool(state.get("budget_hit"))
    if sources:
        notes = take_notes(sources, reader=LoopReader(ctx, spending, NOTES_TASK), store=ctx.store)
        by_id = {n.source_id: n for n in notes}
        for entry in pages:
            note = by_id.get(entry["sid"])
            if note is not None:
                entry["facts"] = list(note.facts)
        for source, reason in notes.unread:
            for entry in pages:
                if entry["sid"] == source.id:
                    entry["status"] = f"not noted: {reason}"
            if "budget" in reason:
                budget_hit = True
    read = sum(1 for p in pages if p["facts"])
    trail.append(event(rnd, "read", f"{len(pages)} pages chosen, {read} gave notes"))
    ctx.say(f"research round {rnd}: read {len(pages)} pages, {read} with notes")
    return {
        "pages": pages,
        "trail": trail,
        "spent": spending.delta(),
        "costs": spending.cost(rnd, "notes"),
        "budget_hit": budget_hit,
    }


def _fetch_pages(
    ctx: LoopContext, chosen: list[dict[str, Any]], started_at: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Main text of each chosen page; pages this run already fetched come from the store."""
    from ..gather.fetch import Fetcher, FetchLimits
    from ..gather.items import Item, Note
    from ..gather.pages import enrich_with_pages
    from ..gather.safety import AddressPolicy

    texts: dict[str, str] = {}
    todo: list[Item] = []
    for page in chosen:
        cached = ctx.store.cached_page(page["url"])
        if cached is not None and started_at and cached.fetched >= started_at:
            texts[page["url"]] = cached.text  # fetched before a crash: not fetched again
            continue
        todo.append(
            Item(
                url=page["url"],
                links=[page["url"]],
                title=page["title"],
                text="",
                published=None,
                feed_url=f"search:{page['query']}",
                feed_title=f"search: {page['query']}",
                content_hash="",
            )
        )
    notes: list[Note] = []
    if todo:
        policy = AddressPolicy.from_settings(getattr(ctx.sources, "allow_private_hosts", False))

        async def fetch_all() -> None:
            async with Fetcher(FetchLimits(), policy, ctx.project_root) as fetcher:
                await enrich_with_pages(todo, len(todo), [], fetcher, ctx.store, notes)

        asyncio.run(fetch_all())
    for item in todo:
        if item.text:
            texts[item.url] = item.text
    return texts, {n.source: n.message for n in notes}


def reflect_node(ctx: LoopContext, state: ResearchState) -> dict[str, Any]:
    """Say which sub-questions the notes answer, which not, and what to search next."""
    rnd = state["round"]
    spending = Spending(ctx, state)
    questions = state["questions"]
    noted = [p for p in state.get("pages") or [] if p["facts"]]
    searched = [s["query"] for s in state.get("searches") or []]
    ids = {q["id"] for q in questions}
    sids = {p["sid"] for p in noted}
    limit = ctx.settings.queries_per_round
    reflection: dict[str, Any] | None = None
    trail: list[dict[str, Any]] = []
    budget_hit = bool(state.get("budget_hit"))
    if not budget_hit:
        messages = reflect_messages(ctx.system, state["topic"], questions, noted, searched, limit)

        def check(answer: ReflectAnswer) -> None:
            normalise_reflection(answer, questions)
            named = [a.question for a in answer.answered] + [g.question for g in answer.gaps]
            bad_q = set(named) - ids
            if bad_q:
                known = ", ".join(f"{q['id']} ({q['question'][:40]})" for q in questions)
                raise ValueError(
                    f"no sub-question {', '.join(sorted(bad_q))}: name each by its id, one of "
                    f"{known}"
                )
            bad_s = {s for a in answer.answered for s in a.sources} - sids
            if bad_s:
                raise ValueError(f"no source {', '.join(sorted(bad_s))} in the notes")

        try:
            asked = ask_structured(
                ctx.runtime,
                ctx.chain,
                messages,
                ReflectAnswer,
                check=check,
                options=ctx.options(REFLECT_OUTPUT_TOKENS),
                agent=ctx.agent.name,
                task=REFLECT_TASK,
                before_call=lambda m: spending.check(m, REFLECT_OUTPUT_TOKENS),
            )
        except BudgetExhausted as exc:
            budget_hit = True
            trail.append(event(rnd, "reflect", f"not reflected: {exc}"))
        else:
            if asked.value is not None:
                reflection = from_answer(asked.value, rnd, asked.model or "")
                if asked.repaired:
                    trail.append(event(rnd, "reflect", f"{asked.model} answered after a repair"))
            else:
                reasons = "; ".join(asked.problems)[:300]
                trail.append(event(rnd, "reflect", f"no usable reflection ({reasons})"))
    if reflection is None:
        reflection = reflect_by_code(questions, noted, rnd)
        trail.append(event(rnd, "reflect", "gaps found by code: sub-questions without notes"))
    follow_up = follow_up_queries(reflection, searched, limit)
    reflection["follow_up"] = follow_up
    open_ids = [g["question"] for g in reflection["gaps"]]
    trail.append(
        event(
            rnd,
            "reflect",
            f"open: {', '.join(open_ids) or 'none'}; next queries: "
            + (", ".join(repr(f["query"]) for f in follow_up) or "none"),
        )
    )
    stop = ""
    if budget_hit:
        stop = "budget"
    elif not reflection["gaps"]:
        stop = "no gaps"
    elif rnd >= ctx.settings.rounds:
        stop = "rounds"
    elif not follow_up:
        stop = "no new queries"
    if stop:
        trail.append(event(rnd, "stop", STOP_REASONS[stop]))
    return {
        "reflections": [reflection],
        "pending": follow_up if not stop else [],
        "round": rnd + 1 if not stop else rnd,
        "trail": trail,
        "spent": spending.delta(),
        "costs": spending.cost(rnd, "reflect"),
        "budget_hit": budget_hit,
        "stop": stop,
    }


def after_reflect(state: ResearchState) -> str:
    return "outline" if state.get("stop") else "search"


def outline_node(ctx: LoopContext, state: ResearchState) -> dict[str, Any]:
    """Close the loop: the trail's last line says what the crew gets."""
    noted = [p for p in state.get("pages") or [] if p["facts"]]
    text = f"outline: {len(state['questions'])} sub-questions, {len(noted)} sources with notes"
    return {"trail": [event(state.get("round", 1), "outline", text)]}
