"""A small fake web and a scripted research model for the research loop's tests.

The web: pages about solid-state batteries served by a stand-in SearXNG on 127.0.0.1. The
model: answers the plan, note and reflect prompts from what the request really contains (the
JSON schema it was sent, the sources in the prompt, the notes it is shown), so the loop's
behaviour, not a fixed script, decides what happens.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

TOPIC = "solid-state batteries"

PAGES: dict[str, tuple[str, str]] = {
    "basics": (
        "What a solid-state battery is",
        "A solid-state battery uses a solid electrolyte instead of the liquid one in "
        "lithium-ion cells. The solid electrolyte is usually a ceramic, a sulfide or a polymer."
        "\n\nBecause the electrolyte cannot leak or burn, the cells are considered safer, and a "
        "lithium metal anode becomes possible, which raises the energy density.",
    ),
    "makers": (
        "Who makes solid-state batteries",
        "Toyota plans to sell cars with solid-state batteries from 2027. QuantumScape ships "
        "B-sample cells to Volkswagen's PowerCo.\n\nSamsung SDI runs a pilot line in Suwon "
        "and targets mass production of solid-state battery cells in 2027.",
    ),
    "cost": (
        "Solid-state battery cost per kWh",
        "Analysts put solid-state battery cell cost near 400 dollars per kWh in 2025, against "
        "about 115 dollars per kWh for lithium-ion cells.\n\nThe cost gap comes from sulfide "
        "electrolyte materials and dry-room manufacturing of the solid-state cells.",
    ),
    "recipes": (
        "Weeknight pasta recipes",
        "Boil the pasta in salted water for nine minutes and toss it with olive oil, garlic "
        "and chili. This page is about cooking, not about batteries at all.",
    ),
}

# What the scripted planner asks, and the word that shows a note answers each question.
QUESTIONS = [
    ("What is a solid-state battery?", "solid-state battery electrolyte basics", "electrolyte"),
    ("Who makes solid-state batteries?", "solid-state battery makers Toyota", "toyota"),
    ("What do solid-state batteries cost?", "solid-state battery cells", "kwh"),
]
FOLLOW_UP = {"Q3": "solid-state battery cost per kWh", "Q2": "who makes solid-state batteries"}


def text_of(body: dict) -> str:
    return "\n".join(str(m.get("content") or "") for m in body.get("messages") or [])


def schema_keys(body: dict) -> set[str]:
    fmt = body.get("format")
    return set((fmt or {}).get("properties", {})) if isinstance(fmt, dict) else set()


def plan_json(questions: list[tuple[str, str, str]] = QUESTIONS) -> str:
    return json.dumps(
        {"sub_questions": [{"question": q, "queries": [query]} for q, query, _w in questions]}
    )


def notes_answer(body: dict) -> str:
    """One fact per source in the prompt: its first sentence, with its id."""
    text = text_of(body)
    lines = []
    for sid, quoted in re.findall(r"\[(S\d+)\] [^\n]*\n((?:>[^\n]*\n?)+)", text):
        body_lines = [ln.lstrip("> ").strip() for ln in quoted.splitlines()][1:]
        sentence = " ".join(body_lines).split(". ")[0].strip().rstrip(".")
        if "cooking" in quoted or "pasta" in quoted:
            continue  # off topic: no fact worth keeping
        if sentence:
            lines.append(f"- {sentence}. [{sid}]")
    return "\n".join(lines) or "- nothing relevant"


def reflect_answer(body: dict, questions=QUESTIONS, follow_up=FOLLOW_UP) -> str:
    """Answered: questions whose marker word is in a note; gaps: the rest, with new queries."""
    text = text_of(body)
    notes = text.split("Notes (quoted facts", 1)[-1].split("Already searched:", 1)[0]
    answered, gaps = [], []
    for index, (_q, _query, word) in enumerate(questions, start=1):
        qid = f"Q{index}"
        ids = sorted(
            {
                sid
                for line in notes.splitlines()
                if word in line.lower()
                for sid in re.findall(r"\[(S\d+)\]", line)
            }
        )
        if ids:
            answered.append({"question": qid, "sources": ids})
        else:
            query = follow_up.get(qid, f"{_q} details")
            gaps.append({"question": qid, "missing": f"nothing on {word}", "queries": [query]})
    return json.dumps({"answered": answered, "gaps": gaps})


def crew_answer(body: dict) -> str:
    text = text_of(body)
    ids = sorted(set(re.findall(r"\[(S\d+)\]", text)), key=lambda s: int(s[1:]))
    if "Write the outline of a brief" in text:
        return "Final Answer: ## Basics\n- A solid electrolyte replaces the liquid one [S1]."
    cite = ids[0] if ids else "S1"
    return (
        f"Final Answer: A solid-state battery uses a solid electrolyte [{cite}]. "
        "Makers plan cars for 2027 [S2]."
    )


def brain(
    *,
    plan: Callable[[dict], str] | str | None = None,
    reflect: Callable[[dict], str] | None = None,
    log: list[str] | None = None,
) -> Callable[[dict], str]:
    """The scripted model: routes each request by what it asks for."""

    def answer(body: dict) -> str:
        keys = schema_keys(body)
        if "sub_questions" in keys:
            kind = "plan"
            reply = plan(body) if callable(plan) else (plan or plan_json())
        elif "gaps" in keys:
            kind = "reflect"
            reply = (reflect or reflect_answer)(body)
        elif "You take notes for a research crew" in text_of(body):
            kind = "notes"
            reply = notes_answer(body)
        else:
            kind = "crew"
            reply = crew_answer(body)
        if log is not None:
            log.append(kind)
        return reply

    return answer


def research_crew(
    project: Path, web_url: str, *, name: str = "brief", research: dict | None = None
) -> str:
    """Write a research crew that searches the stand-in SearXNG; return its name."""
    settings = {"rounds": 3, "sub_questions": 3, "queries_per_round": 2, "pages_per_round": 2}
    settings.update(research or {})
    crew = {
        "description": "A researched brief",
        "agents": ["researcher", "analyst", "writer"],
        "tasks": ["outline", "write_research_brief"],
        "process": "research",
        "research": settings,
        "sources": {
            "search": ["{topic}"],
            "search_backend": "searxng",
            "searxng_url": web_url,
            "allow_private_hosts": True,
            "search_results": 3,
        },
        "output": {"title": "Brief: {topic}"},
    }
    (project / "crews" / f"{name}.yaml").write_text(yaml.safe_dump(crew), "utf-8")
    return name


def kinds(server: Any) -> list[str]:
    """What each chat request the fake model got was for."""
    out = []
    for request in server.chat_requests:
        body = request["json"]
        keys = schema_keys(body)
        if "sub_questions" in keys:
            out.append("plan")
        elif "gaps" in keys:
            out.append("reflect")
        elif "You take notes for a research crew" in text_of(body):
            out.append("notes")
        else:
            out.append("crew")
    return out
