"""Tell someone a run finished: a webhook (JSON POST) and/or a local command.

Delivery never fails a report. Every attempt is logged, failed attempts are retried with
backoff, and `deliver` returns what happened instead of raising.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..text.untrusted import one_line

if TYPE_CHECKING:
    from ..config.schema import DeliveryConfig

log = logging.getLogger("scoutcrew.delivery")

WEBHOOK_TIMEOUT = 10.0  # seconds per attempt
COMMAND_TIMEOUT = 60.0
BACKOFF = 2.0  # seconds before the first retry; doubles each time
MAX_BACKOFF = 60.0
# Success covers a run that found nothing new: the digest reader still wants to know.
# "success" is accepted as a status too, for callers that pass the event name.
SUCCESS_STATUSES = {"ok", "success", "nothing-new"}
ENV_VALUE_LIMIT = 8000  # characters; long summaries are truncated in the environment only


@dataclass
class DeliveryOutcome:
    """One delivery channel's result."""

    kind: str  # "webhook" | "command"
    target: str  # the webhook's scheme://host (never its path: it often holds a token)
    ok: bool
    attempts: int
    error: str | None = None


def event_of(status: str) -> str:
    """Map a run status to the delivery event that `on:` names."""
    return "success" if status in SUCCESS_STATUSES else "failure"


def build_payload(
    crew: str,
    status: str,
    *,
    report: str | os.PathLike[str] | None = None,
    summary: str = "",
    run_id: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The JSON document every channel receives."""
    return {
        "crew": crew,
        "status": status,
        "event": event_of(status),
        "report": str(report) if report else None,
        "summary": summary or "",
        "run_id": run_id,
        "error": error,
    }


def deliver(
    crew: str,
    delivery_config: DeliveryConfig,
    payload: dict[str, Any],
    *,
    cwd: str | os.PathLike[str] | None = None,
    backoff: float = BACKOFF,
    webhook_timeout: float = WEBHOOK_TIMEOUT,
    command_timeout: float = COMMAND_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> list[DeliveryOutcome]:
    """Send the payload to the crew's webhook and command, as configured. Never raises."""
    if delivery_config is None:
        return []
    outcomes: list[DeliveryOutcome] = []
    try:
        payload = {"crew": crew, **payload}
        payload.setdefault("status", "failed")
        payload.setdefault("event", event_of(str(payload["status"])))
        if payload["event"] not in delivery_config.on:
            log.debug(
                "delivery for %s skipped: %s is not in on: %s",
                crew,
                payload["event"],
                delivery_config.on,
            )
            return []
        attempts = 1 + max(0, int(delivery_config.retries))
        webhook, command = delivery_config.webhook, delivery_config.command
        if webhook:
            outcomes.append(
                _with_retries(
                    "webhook",
                    _safe_target(webhook),
                    lambda: _post(webhook, payload, webhook_timeout),
                    crew,
                    attempts,
                    backoff,
                    sleep,
                )
            )
        if command:
            outcomes.append(
                _with_retries(
                    "command",
                    command,
                    lambda: _run_command(command, payload, cwd, command_timeout),
                    crew,
                    attempts,
                    backoff,
                    sleep,
                )
            )
    except Exception as exc:  # a delivery bug must never fail the report
        log.error("delivery for %s failed: %s: %s", crew, type(exc).__name__, exc)
        outcomes.append(DeliveryOutcome("internal", "-", False, 0, f"{type(exc).__name__}: {exc}"))
    return outcomes


class _Retryable(Exception):
    """An attempt failed in a way another attempt may fix."""


class _Permanent(Exception):
    """An attempt failed in a way retrying cannot fix (e.g. HTTP 404)."""


def _with_retries(
    kind: str,
    target: str,
    attempt: Callable[[], None],
    crew: str,
    attempts: int,
    backoff: float,
    sleep: Callable[[float], None],
) -> DeliveryOutcome:
    error = ""
    for number in range(1, attempts + 1):
        try:
            attempt()
        except _Permanent as exc:
            log.error("delivery %s to %s for %s failed (not retried): %s", kind, target, crew, exc)
            return DeliveryOutcome(kind, target, False, number, str(exc))
        except Exception as exc:
            error = str(exc) or type(exc).__name__
            if number < attempts:
                wait = min(MAX_BACKOFF, backoff * 2 ** (number - 1))
                log.warning(
                    "delivery %s to %s for %s failed (attempt %d of %d): %s; retrying in %.1f s",
                    kind,
                    target,
                    crew,
                    number,
                    attempts,
                    error,
                    wait,
                )
                sleep(wait)
            continue
        log.info("delivered %s to %s for %s", kind, target, crew)
        return DeliveryOutcome(kind, target, True, number)
    log.error(
        "delivery %s to %s for %s failed after %d attempt(s): %s; the report itself is fine",
        kind,
        target,
        crew,
        attempts,
        error,
    )
    return DeliveryOutcome(kind, target, False, attempts, error)


def _safe_target(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


def _post(url: str, payload: dict[str, Any], timeout: float) -> None:
    import httpx

    from .. import __version__

    try:
        response = httpx.post(
            url,
            json=payload,
            timeout=timeout,
            headers={"User-Agent": f"scoutcrew/{__version__}"},
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code < 300:
        return
    message = f"HTTP {response.status_code}: {one_line(response.text)}"
    # Server errors, rate limits and timeouts may pass; any other client error will not.
    if response.status_code >= 500 or response.status_code in {408, 425, 429}:
        raise _Retryable(message)
    raise _Permanent(message)


def command_env(payload: dict[str, Any]) -> dict[str, str]:
    """The SCOUTCREW_* variables a delivery command sees."""
    values = {
        "SCOUTCREW_CREW": payload.get("crew"),
        "SCOUTCREW_STATUS": payload.get("status"),
        "SCOUTCREW_EVENT": payload.get("event"),
        "SCOUTCREW_REPORT": payload.get("report"),
        "SCOUTCREW_RUN_ID": payload.get("run_id"),
        "SCOUTCREW_ERROR": payload.get("error"),
        "SCOUTCREW_SUMMARY": payload.get("summary"),
    }
    return {k: str(v)[:ENV_VALUE_LIMIT] for k, v in values.items() if v is not None}


def _run_command(
    command: str, payload: dict[str, Any], cwd: str | os.PathLike[str] | None, timeout: float
) -> None:
    # A shell, because the command is the user's own line from their crew file (pipes,
    # redirections). Run data only ever reaches it as environment values and stdin, never
    # as command text, so a report cannot inject shell syntax.
    proc = subprocess.Popen(
        command,
        shell=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=Path(cwd) if cwd else None,
        env={**os.environ, **command_env(payload)},
        start_new_session=True,  # so a timeout can stop the whole pipeline, not just the shell
    )
    try:
        output, _ = proc.communicate(json.dumps(payload).encode(), timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        _kill_group(proc)
        raise _Retryable(f"timed out after {timeout:g} s") from exc
    if proc.returncode != 0:
        tail = output.decode(errors="replace").strip()[-300:]
        raise _Retryable(f"exit status {proc.returncode}" + (f": {tail}" if tail else ""))


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.communicate()
