"""Bounds on one model call: the output cap, the room a prompt leaves, overflow answers.

Every call has an output cap (`num_predict`): the task's own (or the call's default), never
more than the context leaves after the prompt. A prompt that leaves no room is never sent.
Servers word a context overflow differently (Ollama, llama.cpp's server, OpenAI-compatible
proxies in front of either) and answer it with 400 or 500: `is_overflow` knows them all, so an
overflow is named as such and never retried.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..text.measure import estimate_tokens

# Chat framing a server adds around each message (role tags, template), and per call.
MESSAGE_FRAMING_TOKENS = 6
CALL_FRAMING_TOKENS = 24
# The fewest output tokens worth sending a call for; below this the prompt is too long.
MIN_OUTPUT_TOKENS = 32
# The cap of a call that names none (a crew task without `num_predict`): a long report
# section fits, a model that never stops does not run for ten minutes.
DEFAULT_OUTPUT_TOKENS = 1024

_OVERFLOW = re.compile(
    "|".join(
        [
            r"exceeds? the context length",  # Ollama: "the input length exceeds the context length"
            r"longer than the context length",
            r"exceeds? (?:the )?maximum context length",  # older Ollama
            r"exceeds? the available context size",  # llama.cpp's server
            r"exceed_context_size",  # llama.cpp's error type
            r"context size (?:has been )?exceeded",  # llama.cpp, generation ran into n_ctx
            r"input is too large to process",  # llama.cpp, prompt over the batch size
            r"maximum context length is \d+",  # OpenAI-compatible servers (vLLM, proxies)
            r"context_length_exceeded",
            r"prompt is too long",
        ]
    ),
    re.IGNORECASE,
)


def is_overflow(message: str) -> bool:
    """True when a server's error message says the prompt does not fit the context."""
    return bool(_OVERFLOW.search(message or ""))


def prompt_tokens(messages: Sequence[dict]) -> int:
    """Estimate what a chat prompt takes of the context, framing included."""
    return CALL_FRAMING_TOKENS + sum(
        estimate_tokens(str(m.get("content") or "")) + MESSAGE_FRAMING_TOKENS for m in messages
    )


def output_cap(num_ctx: int, prompt: int, wanted: int | None) -> int:
    """The output cap of one call: what it wants (or the default), within what the context
    leaves after the prompt. 0 when the prompt leaves less than MIN_OUTPUT_TOKENS."""
    room = num_ctx - prompt
    if room < MIN_OUTPUT_TOKENS:
        return 0
    return max(1, min(int(wanted or DEFAULT_OUTPUT_TOKENS), room))


_WORDS = re.compile(r"(\d[\d,]*)\s*(?:to|-|–)?\s*(\d[\d,]*)?\s*words", re.IGNORECASE)
_ITEMS = re.compile(
    r"(\d+)\s*(?:to|-|–)?\s*(\d+)?\s*(?:short\s+)?(bullets?|paragraphs?|sentences?|facts?)",
    re.IGNORECASE,
)
TOKENS_PER_WORD = 1.5
TOKENS_PER_ITEM = {"bullet": 60, "paragraph": 160, "sentence": 45, "fact": 60}


def task_output_cap(expected_output: str, floor: int = 256, ceiling: int = 2048) -> int:
    """An output cap sized from what a task asks for ("200 to 400 words", "5 to 12 bullets"),
    with room to spare (markup, citations); DEFAULT_OUTPUT_TOKENS when it names no size."""
    sizes: list[float] = []
    for match in _WORDS.finditer(expected_output):
        most = int((match.group(2) or match.group(1)).replace(",", ""))
        sizes.append(most * TOKENS_PER_WORD)
    for match in _ITEMS.finditer(expected_output):
        most = int(match.group(2) or match.group(1))
        kind = match.group(3).lower().rstrip("s")
        sizes.append(most * TOKENS_PER_ITEM[kind])
    if not sizes:
        return DEFAULT_OUTPUT_TOKENS
    return int(min(ceiling, max(floor, 1.4 * max(sizes))))
