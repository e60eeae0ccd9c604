"""Progress of a run: a live status line on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

from ..text.untrusted import strip_controls

if TYPE_CHECKING:
    from rich.status import Status
    from rich.text import Text

    from ..llm.ledger import CallRecord


class Progress:
    """Show the stage, the task, tokens so far and elapsed time while a crew runs.

    Call it with a message for each stage; `on_call` receives every model call's record.
    """

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.started = time.monotonic()
        self.stage = "starting"
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.calls = 0
        self._lock = threading.Lock()
        self._status: Status | None = None
        self._failures: dict[str, int] = {}  # each failure's text -> the call that said it

    def __call__(self, message: str) -> None:
        message = strip_controls(message)  # the last guard before the terminal
        with self._lock:
            self.stage = message
        if self.live:
            self._ensure_live().console.log(message, markup=False, emoji=False, highlight=False)
            self._refresh()
        else:
            print(f"[scoutcrew {self._elapsed()}] {message}", file=self.stream, flush=True)

    def on_call(self, record: CallRecord) -> None:
        with self._lock:
            self.calls += 1
            self.prompt_tokens += int(getattr(record, "prompt_tokens", 0) or 0)
            self.completion_tokens += int(getattr(record, "completion_tokens", 0) or 0)
        if self.live:
            self._refresh()
        else:
            state = "ok" if getattr(record, "ok", True) else f"failed ({record.error})"
            if not getattr(record, "ok", True):
                # The same failure (Ollama down, before each task falls back) is said once.
                with self._lock:
                    first = self._failures.setdefault(str(record.error), self.calls)
                if first != self.calls:
                    state = f"failed, as call {first} did"
            line = (
                f"[scoutcrew {self._elapsed()}]   call {self.calls}: {record.agent or '-'}/"
                f"{record.task or '-'} on {record.spec}: {record.prompt_tokens} prompt + "
                f"{record.completion_tokens} output tokens, {state}"
            )
            print(
                strip_controls(line),
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _elapsed(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 60:02d}:{seconds % 60:02d}"

    def _line(self) -> str:
        return (
            f"{self.stage}  |  {self.calls} calls, {self.prompt_tokens} prompt + "
            f"{self.completion_tokens} output tokens  |  {self._elapsed()}"
        )

    def _ensure_live(self) -> Status:
        if self._status is None:
            from rich.console import Console

            console = Console(file=self.stream)
            self._status = console.status(self._text())
            self._status.start()
        return self._status

    def _refresh(self) -> None:
        if self._status is not None:
            self._status.update(self._text())

    def _text(self) -> Text:
        from rich.text import Text

        return Text(self._line())  # plain text: a feed title is never read as rich markup
