"""Answers a run was given, kept so that the same run never pays for the same call twice.

A run killed or interrupted in the middle of a step runs that step again when it is resumed;
every call it makes again with the same model chain, messages and options gets the kept
answer back (store/runs.py's RunAnswers keeps them, per run, until the run finishes).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any, Protocol

from .ollama import ChatResult


class AnswerReplay(Protocol):
    """Where a run's answers are kept: get(key) -> the answer or None; put(key, answer)."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, answer: dict[str, Any]) -> None: ...


def call_key(**call: object) -> str:
    """A stable hash of everything that decides a call's answer."""
    text = json.dumps(call, sort_keys=True, default=_plain, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def kept_answer(answer: dict[str, Any]) -> tuple[ChatResult, str]:
    return ChatResult(**answer["result"]), str(answer["spec"])


def keep_answer(result: ChatResult, spec: str) -> dict[str, Any]:
    return {"result": asdict(result), "spec": spec}


def _plain(value: object) -> object:
    if hasattr(value, "model_dump"):
        return value.model_dump(exclude_none=True)
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)
