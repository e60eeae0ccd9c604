"""A writing task's call, cited by construction (see cited.py): each model of the chain is
asked in the shape its profile allows, with one repair turn; free text only as the declared
last resort, and then the record and the report's Models section say why.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..errors import ContextOverflow, LLMError, OutputFormatError, RunInterrupted
from .cited import (
    SELECT,
    TEXT,
    WRITE,
    Cited,
    CitedTask,
    fact_keys,
    parse_select,
    parse_write,
    repair_turn,
    select_instruction,
    select_schema,
    with_instruction,
    without_evidence,
    write_instruction,
    write_schema,
)
from .ollama import ChatResult
from .specs import Options

if TYPE_CHECKING:
    # Passed in, imported for its type only: runtime.py builds the crewai adapter, which
    # calls this module.
    from .runtime import LLMRuntime

log = logging.getLogger(__name__)

BASE_MODE = "extractive (base model; ids attached by code)"
MODE_NAMES = {
    WRITE: "cited sentences (JSON schema)",
    SELECT: "chosen facts (JSON schema)",
    TEXT: "free text",
}


def writer_mode(runtime: LLMRuntime, spec: str) -> str:
    """How a writing task asks this model: from its profile; sentences when not probed."""
    profile = runtime.profile(spec)
    return profile.writer if profile is not None else WRITE


def write_cited(
    runtime: LLMRuntime,
    chain: list[str],
    messages: list[dict],
    task: CitedTask,
    *,
    options: Options = None,
    model_options: dict[str, dict[str, Any]] | None = None,
    agent: str | None = None,
) -> tuple[ChatResult, str, str, Cited | None]:
    """Ask the chain for a cited answer; return (result, markdown, model, cited or None).

    Per model: its mode (write, or select for a model that cannot keep ids), one repair turn,
    then select if write failed, then the next model. When no model keeps the schema, the
    chain answers in free text (checked as any free text is), recorded as such.
    """
    facts = fact_keys(evidence_text(messages), task.ids, task.instructions)
    problems: list[str] = []
    for position, spec in enumerate(chain):
        opts = (model_options or {}).get(spec, options)
        if runtime.is_base_model(spec):
            # A base model's answers are cited by construction already (basemodel.py).
            try:
                result, value, used = runtime.complete(
                    [spec], messages, options=opts, agent=agent, task=task.name, mode=BASE_MODE
                )
            except (RunInterrupted, ContextOverflow):
                raise
            except LLMError as exc:
                problems.append(f"{spec}: {exc}")
                continue
            return result, str(value), used, None
        modes = [writer_mode(runtime, spec)]
        if modes[0] == WRITE and facts:
            modes.append(SELECT)
        for mode in modes:
            if mode == SELECT and not facts:
                problems.append(f"{spec}: no cited facts to choose from")
                continue
            try:
                return _ask(runtime, spec, messages, task, mode, facts, opts, agent)
            except OutputFormatError as exc:
                problems.append(f"{spec} ({MODE_NAMES[mode]}): {exc}")
            except (RunInterrupted, ContextOverflow):
                raise
            except LLMError as exc:
                problems.append(f"{spec}: {exc}")
                break  # the model itself failed: the next one, as the chain declares
        if position + 1 < len(chain):
            following = chain[position + 1]
            log.warning("%s gave no cited answer for %s; trying %s", spec, task.name, following)
    why = "; ".join(problems)[:400]
    log.warning("no model kept the cited JSON for %s (%s): writing free text", task.name, why)
    result, value, used = runtime.complete(
        chain,
        messages,
        options=options,
        agent=agent,
        task=task.name,
        model_options=model_options,
        mode=f"{MODE_NAMES[TEXT]}: no model kept the cited JSON schema ({why[:200]})",
    )
    return result, str(value), used, None


def evidence_text(messages: list[dict]) -> str:
    """What a task was given to write from: its user turns (crewai puts the agent's role,
    goal and backstory, with their examples, in the system turn)."""
    return "\n\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")


def _ask(
    runtime: LLMRuntime,
    spec: str,
    messages: list[dict],
    task: CitedTask,
    mode: str,
    facts: list[tuple[str, str, list[str]]],
    options: Options,
    agent: str | None,
) -> tuple[ChatResult, str, str, Cited]:
    prompt = evidence_text(messages)
    if mode == WRITE:
        schema = write_schema(task)
        turn = with_instruction(messages, write_instruction(task))

        def validate(text: str) -> Cited:
            return parse_write(text, task, prompt)
    else:
        schema = select_schema([key for key, _c, _i in facts], task.max_sentences)
        instruction = select_instruction(facts, task.max_sentences)
        turn = with_instruction(without_evidence(messages), instruction)

        def validate(text: str) -> Cited:
            return parse_select(text, task, facts)

    answer: list[str] = [""]

    def keep(text: str) -> Cited:
        answer[0] = text
        return validate(text)

    for attempt in (1, 2):
        try:
            result, cited, used = runtime.complete(
                [spec],
                turn,
                options=options,
                response_format=schema,
                validate=keep,
                agent=agent,
                task=task.name,
                mode=MODE_NAMES[mode] + (" after one repair" if attempt == 2 else ""),
            )
        except OutputFormatError as exc:
            if attempt == 2:
                raise
            turn = repair_turn(turn, answer[0], str(exc))
            continue
        return result, cited.markdown, used, cited
    raise AssertionError("unreachable")
