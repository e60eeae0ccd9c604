"""Check what the crew wrote before it is published: the claim check, an optional model judge,
and one bounded round of repair by the writer.

    sections, verification = review_sections(plan, pack, sections, runtime)

1. The deterministic check (verify/check.py, verify/claims.py) reads every sentence and gives
   each cited claim one of three verdicts: supported, contradicted, not confirmed.
2. With `verify: {judge: MODEL}` in the crew file, the not-confirmed sentences go to that model
   in one batched call; its answer is recorded beside the code's verdict and shown to the
   reader, but never replaces it (the judge is never the only check), and an answer out of
   format changes nothing.
3. Contradicted sentences go back to the model of the agent that wrote it, once per round
   (`verify: {repair: N}`, one by default), with their sources and what is wrong, asking for a
   corrected sentence or REMOVE; not-confirmed ones follow only with
   `verify: {repair_not_confirmed: true}`. The result is checked again; what still fails is
   published with an inline marker and its reason, never dropped.

Model calls go through the run's LLMRuntime, so their tokens are in the ledger and the run
record (tasks "judge" and "repair"). A failed judge or repair call never fails the run: the
report then says so and shows the flags as they are.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

from ..errors import LLMError, OutputFormatError
from .check import verify
from .claims import ClaimIndex
from .sentences import find_sentence
from .verdicts import CitedSentence, Verification

if TYPE_CHECKING:
    from ..config.plan import Plan, PlannedAgent
    from ..llm.runtime import LLMRuntime
    from ..select.pack import EvidencePack

log = logging.getLogger("scoutcrew")

BASE_MODEL = "embedded/default"
"""The bundled base model: it does not follow instructions, so it is not asked to repair."""
SOURCE_CHARS = 700
"""How much of each cited source a repair or judge prompt quotes."""
JUDGE_MAX_SENTENCES = 24
"""At most this many sentences go to the judge in its one call."""

_ANSWER_LINE = re.compile(r"^\s*(?:[-*]\s*)?(\d+)\s*[:.)]\s*(.+?)\s*$")


def review_sections(
    plan: Plan, pack: EvidencePack, sections: list[tuple[str, str]], runtime: LLMRuntime
) -> tuple[list[tuple[str, str]], Verification]:
    """Check the report's sections, ask the judge if configured, repair, check again."""
    settings = plan.config.verify
    index = ClaimIndex.from_pack(pack)
    prompts = task_prompts(plan)
    review: dict[str, Any] = {"judge": settings.judge, "repair_rounds": 0, "notes": []}
    v = verify(_body(sections), pack, index=index, prompts=prompts)
    judged: dict[str, dict[str, Any]] = {}
    if settings.judge and v.not_confirmed:
        judged = _judge(runtime, settings.judge, v, pack, review)
        if judged:
            v = verify(_body(sections), pack, index=index, judged=judged, prompts=prompts)

    originals: dict[str, str] = {}  # repaired sentence -> the sentence it replaced
    removed: list[str] = []
    for _ in range(settings.repair):
        failing = to_repair(v, settings.repair_not_confirmed)
        if not failing:
            break
        writer = _writer(plan)
        if writer is None:
            break
        skipped = _cannot_repair(runtime, runtime.resolve_chain(writer.llm)[0])
        if skipped:
            review["notes"].append(f"repair skipped: {skipped}")
            break
        fixes = _ask_writer(runtime, writer, failing, pack, review)
        if fixes is None:
            break
        review["repair_rounds"] += 1
        sections, changed = _apply(sections, failing, fixes, removed)
        for new, old in changed.items():
            originals[new] = originals.get(old, old)
        v = verify(_body(sections), pack, index=index, judged=judged, prompts=prompts)

    for cited in v.citations:
        if cited.sentence in originals:
            cited.repaired = True
            cited.original = originals[cited.sentence]
    v.removed = removed
    v.review = review
    v.notes += [f"claim check: {note}" for note in review["notes"]]
    return sections, v


def _cannot_repair(runtime: LLMRuntime, spec: str) -> str | None:
    """Why the writer is not asked to rewrite sentences, or None when it can be."""
    from ..llm.cited import SELECT
    from ..llm.writer import writer_mode

    if spec == BASE_MODEL or runtime.is_base_model(spec):
        return (
            "the writer is a small base model, which continues text and cannot follow a "
            "request to correct it"
        )
    if writer_mode(runtime, spec) == SELECT:
        return (
            f"the probe found that {spec} mixes up source ids (it writes by choosing cited "
            "facts), so it is not asked to rewrite sentences"
        )
    return None


def to_repair(v: Verification, not_confirmed: bool) -> list[CitedSentence]:
    """The sentences a repair round sends back: contradicted first, then (if the crew asks for
    it) the not-confirmed ones."""
    contradicted = [c for c in v.citations if c.verdict == "contradicted"]
    if not not_confirmed:
        return contradicted
    return contradicted + [c for c in v.citations if c.verdict == "not-confirmed"]


def task_prompts(plan: Plan) -> list[str]:
    """What the crew's tasks asked for: a sentence that only echoes it is no claim."""
    return [
        text
        for task in getattr(plan, "tasks", None) or []
        for text in (getattr(task, "description", ""), getattr(task, "expected_output", ""))
        if text
    ]


def _body(sections: list[tuple[str, str]]) -> str:
    return "\n\n".join(f"## {heading}\n\n{text}" for heading, text in sections)


def _writer(plan: Plan) -> PlannedAgent | None:
    """The agent that wrote the report's sections (the last in-report task's agent)."""
    for task in reversed(plan.tasks):
        if task.in_report and task.agent in plan.agents:
            return plan.agents[task.agent]
    return None


def _sources_text(pack: EvidencePack, ids: list[str]) -> str:
    lines = []
    for sid in ids:
        source = pack.get(sid)
        if source is None:
            continue
        text = " ".join(f"{source.title}. {source.text or source.excerpt}".split())
        if len(text) > SOURCE_CHARS:
            text = text[: SOURCE_CHARS - 3] + "..."
        lines.append(f"   [{sid}] {text}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Repair


REPAIR_SYSTEM = (
    "You correct sentences of a report so that each says only what its sources say. "
    "You never add facts, names or figures that the sources do not contain."
)


def repair_prompt(failing: list[CitedSentence], pack: EvidencePack) -> str:
    """The one repair request for a round: each sentence, what is wrong, its sources."""
    parts = [
        "Each numbered sentence below failed a fact check against the sources it cites. For "
        "each one, write a corrected sentence that says only what its sources say and keeps "
        "its [S#] citation, or write REMOVE if the sources do not support it at all.",
        "",
    ]
    for n, cited in enumerate(failing, start=1):
        verdict = "contradicted by" if cited.verdict == "contradicted" else "not confirmed by"
        problem = f"{verdict} its sources: " + (cited.reason or "they do not say it")
        if cited.matches:
            problem += f" (it matches [{cited.matches}]: cite that source if it is right)"
        ids = list(dict.fromkeys([*cited.ids, *([cited.matches] if cited.matches else [])]))
        parts += [
            f"{n}. Sentence: {cited.sentence}",
            f"   Problem: {problem}",
            "   Sources:",
            _sources_text(pack, ids),
            "",
        ]
    parts.append(
        "Answer with one line per sentence, in the same order and nothing else: "
        "`1: corrected sentence [S#]` or `1: REMOVE`."
    )
    return "\n".join(parts)


def _ask_writer(
    runtime: LLMRuntime,
    writer: PlannedAgent,
    failing: list[CitedSentence],
    pack: EvidencePack,
    review: dict[str, Any],
) -> dict[int, str] | None:
    messages = [
        {"role": "system", "content": REPAIR_SYSTEM},
        {"role": "user", "content": repair_prompt(failing, pack)},
    ]
    try:
        _, text, spec = runtime.complete(
            runtime.resolve_chain(writer.llm),
            messages,
            options=writer.options,
            agent=writer.name,
            task="repair",
        )
    except LLMError as exc:  # a failed repair leaves the flags visible; it never fails the run
        log.warning("repair call failed: %s", exc)
        review["notes"].append(f"repair call failed: {type(exc).__name__}: {exc}")
        return None
    review.setdefault("repair_models", []).append(spec)
    return parse_numbered(str(text), len(failing))


def parse_numbered(text: str, count: int) -> dict[int, str]:
    """Read "1: answer" lines (a "Final Answer:" prefix or code fence around them is fine)."""
    answers: dict[int, str] = {}
    for line in text.replace("Final Answer:", "\n").split("\n"):
        m = _ANSWER_LINE.match(line.strip().strip("`"))
        if m and 1 <= int(m.group(1)) <= count and int(m.group(1)) not in answers:
            answers[int(m.group(1))] = m.group(2).strip().strip("`").strip()
    return answers


def _apply(
    sections: list[tuple[str, str]],
    failing: list[CitedSentence],
    fixes: dict[int, str],
    removed: list[str],
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Put the writer's corrections into the sections; return them and {new: old} sentences."""
    changed: dict[str, str] = {}
    out = [list(pair) for pair in sections]
    for n, cited in enumerate(failing, start=1):
        answer = fixes.get(n)
        if not answer:
            continue
        for pair in out:
            m = find_sentence(pair[1], cited.sentence)
            if m is None:
                continue
            if answer.strip(" .*").upper() == "REMOVE":
                pair[1] = pair[1][: m.start()] + pair[1][m.end() :].lstrip(" ")
                removed.append(cited.sentence)
            else:
                pair[1] = pair[1][: m.start()] + answer + pair[1][m.end() :]
                changed[" ".join(answer.split())] = cited.sentence
            break
    return [(h, t) for h, t in out], changed


# --------------------------------------------------------------------------------------------
# Judge


JUDGE_SYSTEM = (
    "You are a strict fact checker. You compare each claim with the sources it cites and say "
    "whether the sources support it. You answer in JSON only."
)


def judge_prompt(cited: list[CitedSentence], pack: EvidencePack) -> str:
    """The one judge request of a report: each not-confirmed claim with its sources."""
    parts = [
        "For each numbered claim, decide whether its sources support everything it says: "
        "every figure, name and negation must match. Answer with a JSON list, one object per "
        'claim: {"n": 1, "verdict": "supported" or "unsupported", "kind": "figure", "entity", '
        '"polarity", "invented" or "wrong-source", "reason": "what is wrong"}.',
        "",
    ]
    for n, c in enumerate(cited, start=1):
        parts += [f"{n}. Claim: {c.sentence}", "   Sources:", _sources_text(pack, c.ids), ""]
    return "\n".join(parts)


def parse_judge(text: str) -> list[dict[str, Any]]:
    """The judge's JSON list (alone or inside other text); OutputFormatError if there is none."""
    start, end = text.find("["), text.rfind("]")
    try:
        data = json.loads(text[start : end + 1]) if 0 <= start < end else None
    except json.JSONDecodeError as exc:
        raise OutputFormatError(f"the judge's answer is not a JSON list: {exc}") from exc
    if not isinstance(data, list):
        raise OutputFormatError("the judge did not answer with a JSON list of verdicts")
    return [item for item in data if isinstance(item, dict)]


def _judge(
    runtime: LLMRuntime, spec: str, v: Verification, pack: EvidencePack, review: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    undecided = [c for c in v.citations if c.verdict == "not-confirmed"]
    undecided = undecided[:JUDGE_MAX_SENTENCES]
    review["judged"] = len(undecided)
    if not undecided:
        return {}
    messages = [
        {"role": "system", "content": JUDGE_SYSTEM},
        {"role": "user", "content": judge_prompt(undecided, pack)},
    ]
    try:
        _, items, used = runtime.complete(
            runtime.resolve_chain([spec]),
            messages,
            agent="judge",
            task="judge",
            validate=parse_judge,
        )
    except LLMError as exc:  # the judge is an extra opinion; without it the code's verdicts stand
        log.warning("judge call failed: %s", exc)
        review["notes"].append(f"judge call failed: {type(exc).__name__}: {exc}")
        return {}
    verdicts: dict[str, dict[str, Any]] = {}
    for item in items:
        try:
            n = int(item.get("n", 0))
        except (TypeError, ValueError):
            continue
        verdict = str(item.get("verdict", "")).strip().lower()
        if not 1 <= n <= len(undecided) or verdict not in {"supported", "unsupported"}:
            continue  # an answer out of format changes nothing
        verdicts[undecided[n - 1].sentence] = {
            "model": used,
            "verdict": verdict,
            "kind": item.get("kind") if verdict == "unsupported" else None,
            "reason": str(item.get("reason") or ""),
        }
    if items and not verdicts:
        review["notes"].append("the judge's answer was out of format; the code's verdicts stand")
    return verdicts
