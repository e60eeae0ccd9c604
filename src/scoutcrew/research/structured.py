"""Structured answers: JSON a model must give in a pydantic shape, asked with Ollama's `format`.

Each model of the chain gets the schema as `format`; an answer that is not valid JSON of that
shape gets one repair turn (the model sees its answer and the error), then the next model of
the chain is tried. When every model fails, the caller gets None and the reasons: a small
model that breaks the format never stops a run, the caller falls back to code.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import LLMError, OutputFormatError
from ..llm.cited import repair_turn

if TYPE_CHECKING:
    from ..llm.runtime import LLMRuntime
    from ..llm.specs import Options

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


@dataclass
class Asked(Generic[T]):
    """What asking for a structured answer came to."""

    value: T | None = None  # the validated model instance, or None when every model failed
    model: str | None = None
    problems: list[str] = field(default_factory=list)
    repaired: bool = False
    last_text: str = ""  # the last answer that did not fit, for the caller's code to salvage


def parse_as(model: type[T], text: str, check: Callable[[T], None] | None = None) -> T:
    """Parse `text` as JSON of `model`'s shape; raise OutputFormatError saying what is wrong."""
    match = _FENCE.match(text)
    raw = match.group(1) if match else text.strip()
    try:
        value = model.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()
        )
        raise OutputFormatError(f"the answer is not the JSON asked for ({problems[:400]})") from exc
    if check is not None:
        try:
            check(value)
        except ValueError as exc:
            raise OutputFormatError(f"the answer does not fit: {exc}") from exc
    return value


def ask_structured(
    runtime: LLMRuntime,
    chain: list[str],
    messages: list[dict[str, str]],
    model: type[T],
    *,
    check: Callable[[T], None] | None = None,
    options: Options = None,
    agent: str | None = None,
    task: str | None = None,
    before_call: Callable[[list[dict[str, str]]], None] | None = None,
) -> Asked[T]:
    """Ask each model of `chain` in turn for JSON of `model`'s shape, one repair turn each.

    `before_call(messages)` runs before every request (a budget check may raise there: that
    propagates, as do interrupts). Model errors and format errors only move on.
    """
    from ..errors import RunInterrupted

    schema = model.model_json_schema()
    asked: Asked[T] = Asked()

    last: list[str] = [""]

    def validate(text: str) -> T:
        last[0] = text
        asked.last_text = text
        return parse_as(model, text, check)

    for position, spec in enumerate(chain):
        if runtime.is_base_model(spec):
            # A base model continues text and takes no schema: asking costs minutes and
            # cannot succeed, so the caller's code fallback goes first. (An embedded model
            # with a chat template is asked: llama.cpp enforces the schema with a grammar.)
            asked.problems.append(f"{spec}: a base model cannot answer in a JSON schema")
            continue
        turn = list(messages)
        for attempt in (1, 2):
            if before_call is not None:
                before_call(turn)
            try:
                result, value, used = runtime.complete(
                    [spec],
                    turn,
                    options=options,
                    response_format=schema,
                    validate=validate,
                    agent=agent,
                    task=task,
                )
            except RunInterrupted:
                raise
            except OutputFormatError as exc:
                asked.problems.append(f"{spec}: {exc}")
                if attempt == 1:
                    turn = repair_turn(messages, last[0], str(exc))
                    continue
                break
            except LLMError as exc:
                asked.problems.append(f"{spec}: {exc}")
                break
            asked.value, asked.model, asked.repaired = value, used, attempt == 2
            return asked
        if position + 1 < len(chain):
            log.warning(
                "%s gave no usable %s answer; trying %s, the next model of the chain",
                spec,
                task,
                chain[position + 1],
            )
        else:
            log.warning("%s gave no usable %s answer; code takes over", spec, task)
    return asked
