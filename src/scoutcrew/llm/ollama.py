"""A small client for Ollama's native API: /api/chat, /api/show, /api/tags, /api/ps.

It talks httpx directly (the official client has no `truncate` parameter), streams every chat
so a stalled model is caught by the per-chunk timeout, retries what is worth retrying
(connection errors, 5xx, 503 queue full, a stream dropped mid-answer) with exponential backoff
and jitter, and fails over between hosts. Every HTTP attempt is reported to an observer so the
caller can record it.

Three ways a server fails are told apart, because the fix differs: nothing accepts the
connection (not reachable), it accepts but never answers (wedged: a short timeout for the small
endpoints, a first-byte timeout for chat that is not the whole generation's), or it drops the
connection in the middle of an answer. A host that was not reachable or did not answer is
remembered for the life of the client (one run), so a wedged host costs one wait, not one per
request.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import RunInterrupted
from ..text.untrusted import one_line, strip_controls
from .limits import is_overflow

DEFAULT_HOST = "http://localhost:11434"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait: to connect, for a small endpoint's answer, for a chat's first byte
    (the model loads and reads the prompt first), between streamed chunks, for a whole call."""

    connect: float = 3.0
    answer: float = 15.0  # /api/version, /api/show, /api/tags, /api/ps never wait for a model
    first_byte: float = 300.0
    chunk: float = 120.0
    call: float = 1800.0
    notice: float = 5.0  # after this long without an answer, say that we are still waiting


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a transient failure."""

    attempts: int = 4  # tries in total, per call
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25  # +/- fraction of each delay, so parallel agents do not retry in step

    def delay(self, retry_number: int) -> float:
        raw = min(self.base_delay * (2 ** (retry_number - 1)), self.max_delay)
        return max(0.0, raw * (1 + random.uniform(-self.jitter, self.jitter)))


class OllamaAPIError(Exception):
    """Ollama answered with an error status and body."""

    def __init__(self, host: str, status: int, message: str, path: str = ""):
        self.host = host
        self.status_code = status
        self.message = message
        self.path = path
        super().__init__(f"Ollama at {host} answered {status}: {message}")

    @property
    def retryable(self) -> bool:
        # An overflow answered with a 500 (llama.cpp's server, some proxies) is the same
        # prompt failing the same way again: never retried.
        return self.status_code >= 500 and not self.is_overflow

    @property
    def is_overflow(self) -> bool:
        return is_overflow(self.message)

    @property
    def is_model_missing(self) -> bool:
        """Ollama's own answer for a model it does not have ("model 'x' not found")."""
        return self.status_code == 404 and bool(_MODEL_MISSING.search(self.message))

    @property
    def is_not_ollama(self) -> bool:
        """A server without Ollama's route (a proxy, an OpenAI-compatible server, a web
        server): 404 or 405 for the path itself, not for a model."""
        return self.status_code in (404, 405, 501) and not self.is_model_missing


_MODEL_MISSING = re.compile(r"model\s+['\"]?[^'\"]*['\"]?\s+not found", re.IGNORECASE)


class OllamaConnectionFailed(Exception):
    """No Ollama host accepted the connection."""

    def __init__(self, hosts: list[str], cause: Exception | None = None):
        self.hosts = hosts
        detail = f" ({type(cause).__name__}: {cause})" if cause else ""
        super().__init__(f"Ollama is not reachable at {', '.join(hosts)}{detail}")


class OllamaTimedOut(Exception):
    """Ollama answered, then stalled mid-answer or did not finish in time."""


class OllamaNotAnswering(Exception):
    """Ollama accepted the connection but sent no answer (wedged or overloaded)."""

    def __init__(self, host: str, detail: str):
        self.host = host
        super().__init__(f"Ollama at {host} accepted the connection but {detail}")


class OllamaStreamDropped(Exception):
    """Ollama dropped the connection in the middle of a streamed answer."""

    def __init__(self, host: str, chunks: int, cause: Exception | None = None):
        self.host = host
        detail = f" ({type(cause).__name__}: {cause})" if cause else ""
        super().__init__(
            f"Ollama at {host} dropped the connection in the middle of the answer, after "
            f"{chunks} streamed chunk{'s' if chunks != 1 else ''}{detail}"
        )


@dataclass
class ChatResult:
    """One finished chat answer with the server's own counts and durations (ms)."""

    content: str
    thinking: str = ""
    tool_calls: list[dict] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_ms: float = 0.0
    load_ms: float = 0.0
    prompt_eval_ms: float = 0.0
    eval_ms: float = 0.0
    done_reason: str | None = None
    host: str | None = None


@dataclass
class Attempt:
    """What one HTTP attempt did, for the usage ledger."""

    host: str
    wall_ms: float
    result: ChatResult | None = None
    error: Exception | None = None


def parse_hosts(value: str | None) -> list[str]:
    """Turn OLLAMA_HOST (one host or a comma-separated list) into base URLs."""
    raw = value if value is not None else os.environ.get("OLLAMA_HOST", "")
    hosts = [normalize_host(part) for part in raw.split(",") if part.strip()]
    return hosts or [DEFAULT_HOST]


def normalize_host(value: str) -> str:
    """Accept what Ollama accepts in OLLAMA_HOST: 'host', 'host:port', or a full URL."""
    value = value.strip().rstrip("/")
    if "://" not in value:
        value = f"http://{value}"
    parts = urlsplit(value)
    host = parts.hostname or "localhost"
    if host == "0.0.0.0":  # a bind address, not somewhere to connect to
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or (443 if parts.scheme == "https" else 11434)
    return f"{parts.scheme}://{host}:{port}{parts.path}"


def _ns_to_ms(value: float | None) -> float:
    return float(value or 0) / 1e6


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        # A proxy in front of Ollama answers with a whole HTML page (nginx's 502): one line.
        return one_line(response.text, 200) or response.reason_phrase
    if isinstance(body, dict) and "error" in body:
        return strip_controls(str(body["error"]))
    return one_line(response.text, 200)


class OllamaClient:
    """Call Ollama's native API on a list of hosts, with retries and failover."""

    def __init__(
        self,
        hosts: list[str] | None = None,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.hosts = list(hosts) if hosts else parse_hosts(None)
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        timeout = httpx.Timeout(self.timeouts.answer, connect=self.timeouts.connect)
        self._http = httpx.Client(timeout=timeout, trust_env=False)
        self.aborted = False
        self._failed: dict[str, Exception] = {}  # host -> why it is out for this run
        self._failed_lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def abort(self) -> None:
        """Stop at once: the answer in flight fails now, and nothing is retried."""
        self.aborted = True
        # Closing a socket does not wake a thread blocked reading it; shutting it down does.
        # httpcore keeps its sockets private (httpx is pinned <0.29 for this), so look them up
        # defensively: without them the call still ends, just at its next chunk or timeout.
        pool = getattr(getattr(self._http, "_transport", None), "_pool", None)
        for connection in list(getattr(pool, "connections", None) or []):
            inner = getattr(connection, "_connection", None)
            stream = getattr(inner, "_network_stream", None)
            sock = getattr(stream, "_sock", None)
            if isinstance(sock, socket.socket):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self._http.close()

    # -- hosts that failed this run ----------------------------------------------------------

    def failure(self, host: str) -> Exception | None:
        """Why `host` is out for this run (not reachable, or did not answer), if it is."""
        with self._failed_lock:
            return self._failed.get(host)

    def _remember(self, host: str, exc: Exception) -> None:
        if isinstance(exc, OllamaConnectionFailed | OllamaNotAnswering):
            with self._failed_lock:
                self._failed.setdefault(host, exc)

    def _check(self, host: str) -> None:
        remembered = self.failure(host)
        if remembered is not None:
            raise remembered

    # -- small endpoints ---------------------------------------------------------------------

    def version(self, host: str, timeout: float | None = None) -> str:
        """Return the server's version; raises OllamaConnectionFailed when it is down."""
        self._check(host)
        wait = timeout or self.timeouts.answer
        try:
            with _waiting(host, "/api/version", self.timeouts.notice, wait):
                response = self._http.get(
                    f"{host}/api/version",
                    timeout=httpx.Timeout(wait, connect=min(wait, self.timeouts.connect)),
                )
        except httpx.TransportError as exc:
            failure = _transport_failure(host, exc, wait, "/api/version")
            self._remember(host, failure)
            raise failure from exc
        if response.status_code != 200:
            raise OllamaAPIError(
                host, response.status_code, _error_message(response), "/api/version"
            )
        try:
            return str(response.json().get("version", "unknown"))
        except (ValueError, AttributeError) as exc:  # a web server's page, not Ollama's JSON
            raise OllamaAPIError(host, 404, "not Ollama's JSON", "/api/version") from exc

    def show(self, model: str, host: str) -> dict:
        return self._json("POST", host, "/api/show", {"model": model})

    def tags(self, host: str) -> list[dict]:
        return list(self._json("GET", host, "/api/tags").get("models", []))

    def ps(self, host: str) -> list[dict]:
        return list(self._json("GET", host, "/api/ps").get("models", []))

    def _json(self, method: str, host: str, path: str, body: dict | None = None) -> dict:
        """Call a small endpoint; retry 5xx, but let the caller fail over when a host is down."""
        self._check(host)
        last: OllamaAPIError | None = None
        for attempt in range(1, self.retry.attempts + 1):
            try:
                with _waiting(host, path, self.timeouts.notice, self.timeouts.answer):
                    response = self._http.request(method, f"{host}{path}", json=body)
            except httpx.TransportError as exc:
                failure = _transport_failure(host, exc, self.timeouts.answer, path)
                self._remember(host, failure)
                raise failure from exc
            if response.status_code == 200:
                return dict(response.json())
            last = OllamaAPIError(host, response.status_code, _error_message(response), path)
            if not last.retryable:
                raise last
            if attempt < self.retry.attempts:
                self._sleep(self.retry.delay(attempt))
        assert last is not None
        raise last

    # -- chat --------------------------------------------------------------------------------

    def chat(
        self,
        payload: dict,
        *,
        hosts: list[str] | None = None,
        observe: Callable[[Attempt], None] | None = None,
    ) -> ChatResult:
        """POST /api/chat (streamed) with retries and host failover; return the answer.

        `observe` sees every HTTP attempt, failed ones included, so usage and failures
        can be recorded per attempt. Hosts that failed earlier in the run are skipped.
        """
        order = list(hosts or self.hosts)
        live = [h for h in order if self.failure(h) is None]
        if not live:
            raise self._all_failed(order)
        order = live
        down: set[str] = set()
        last: Exception | None = None
        for attempt in range(1, self.retry.attempts + 1):
            candidates = [h for h in order if h not in down] or order
            host = candidates[0]
            started = time.perf_counter()
            if self.aborted:
                raise RunInterrupted("the run was interrupted before this model call")
            try:
                result = self._chat_once(host, payload)
            except Exception as exc:
                if self.aborted:  # our own abort closed the connection under the call
                    raise RunInterrupted("the run was interrupted during a model call") from exc
                if not isinstance(
                    exc,
                    OllamaConnectionFailed
                    | OllamaAPIError
                    | OllamaTimedOut
                    | OllamaNotAnswering
                    | OllamaStreamDropped,
                ):
                    raise
                wall = (time.perf_counter() - started) * 1000
                if observe:
                    observe(Attempt(host=host, wall_ms=wall, error=exc))
                last = exc
                if isinstance(exc, OllamaNotAnswering):
                    # Waiting again on a wedged host costs the whole first-byte timeout.
                    self._remember(host, exc)
                    order = [h for h in order if h != host]
                    if not order:
                        raise
                    continue
                if isinstance(exc, OllamaConnectionFailed):
                    down.add(host)
                    if len(down) < len(order):
                        continue  # another host may be up: fail over at once
                    down.clear()
                elif isinstance(exc, OllamaStreamDropped) or (
                    isinstance(exc, OllamaAPIError) and exc.retryable
                ):
                    # The queue is full or the host is sick: try the next host first.
                    order = order[1:] + order[:1] if len(order) > 1 else order
                else:
                    raise
                if attempt < self.retry.attempts:
                    self._sleep(self.retry.delay(attempt))
                continue
            if observe:
                wall = (time.perf_counter() - started) * 1000
                observe(Attempt(host=host, wall_ms=wall, result=result))
            return result
        assert last is not None
        if isinstance(last, OllamaConnectionFailed):
            cause = last.__cause__ if isinstance(last.__cause__, Exception) else None
            failure = OllamaConnectionFailed(order, cause)
            for host in order:
                self._remember(host, failure)
            raise failure from last
        raise last

    def _all_failed(self, hosts: list[str]) -> Exception:
        failures = [self.failure(h) for h in hosts]
        if len(failures) == 1 and failures[0] is not None:
            return failures[0]
        if all(isinstance(f, OllamaConnectionFailed) for f in failures):
            return OllamaConnectionFailed(hosts)
        return next(f for f in failures if isinstance(f, OllamaNotAnswering))

    def _chat_once(self, host: str, payload: dict) -> ChatResult:
        body = {**payload, "stream": True}
        deadline = time.monotonic() + self.timeouts.call
        content: list[str] = []
        thinking: list[str] = []
        tool_calls: list[dict] = []
        chunks = 0
        answered = False  # the status line and headers arrived
        timeout = httpx.Timeout(self.timeouts.first_byte, connect=self.timeouts.connect)
        try:
            with _waiting(host, "/api/chat", 30.0, self.timeouts.first_byte, first_byte=True):
                opened = self._http.stream("POST", f"{host}/api/chat", json=body, timeout=timeout)
                response = opened.__enter__()
            try:
                answered = True
                _set_read_timeout(response, self.timeouts.chunk)
                if response.status_code != 200:
                    response.read()
                    raise OllamaAPIError(
                        host, response.status_code, _error_message(response), "/api/chat"
                    )
                for line in response.iter_lines():
                    if time.monotonic() > deadline:
                        raise OllamaTimedOut(
                            f"Ollama at {host} did not finish within {self.timeouts.call:.0f}s"
                        )
                    if not line.strip():
                        continue
                    chunks += 1
                    chunk = json.loads(line)
                    if "error" in chunk:  # an error after streaming began
                        raise OllamaAPIError(host, 500, str(chunk["error"]))
                    message = chunk.get("message") or {}
                    content.append(message.get("content") or "")
                    thinking.append(message.get("thinking") or "")
                    tool_calls.extend(message.get("tool_calls") or [])
                    if chunk.get("done"):
                        return ChatResult(
                            content="".join(content),
                            thinking="".join(thinking),
                            tool_calls=tool_calls,
                            prompt_tokens=int(chunk.get("prompt_eval_count") or 0),
                            completion_tokens=int(chunk.get("eval_count") or 0),
                            total_ms=_ns_to_ms(chunk.get("total_duration")),
                            load_ms=_ns_to_ms(chunk.get("load_duration")),
                            prompt_eval_ms=_ns_to_ms(chunk.get("prompt_eval_duration")),
                            eval_ms=_ns_to_ms(chunk.get("eval_duration")),
                            done_reason=chunk.get("done_reason"),
                            host=host,
                        )
            finally:
                opened.__exit__(None, None, None)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise OllamaConnectionFailed([host], exc) from exc
        except httpx.TimeoutException as exc:
            if not answered:
                raise OllamaNotAnswering(
                    host,
                    f"sent no answer to /api/chat within {self.timeouts.first_byte:g}s: it "
                    "may be stuck loading the model; check `ollama ps` or restart `ollama serve`",
                ) from exc
            raise OllamaTimedOut(
                f"Ollama at {host} sent nothing for {self.timeouts.chunk:g}s in the middle "
                "of the answer"
            ) from exc
        except httpx.TransportError as exc:
            if not answered:
                raise OllamaNotAnswering(
                    host, f"closed it without answering ({type(exc).__name__}: {exc})"
                ) from exc
            raise OllamaStreamDropped(host, chunks, exc) from exc
        except ValueError as exc:
            raise OllamaAPIError(host, 502, f"unreadable stream from Ollama: {exc}") from exc
        raise OllamaStreamDropped(host, chunks)


def _transport_failure(host: str, exc: httpx.TransportError, waited: float, path: str) -> Exception:
    """Name what a transport error on a small endpoint means: down, or up but not answering."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return OllamaConnectionFailed([host], exc)
    if isinstance(exc, httpx.TimeoutException):
        return OllamaNotAnswering(
            host,
            f"did not answer {path} within {waited:.0f}s: it is wedged or overloaded; restart "
            "it (`ollama serve`) or check `ollama ps`",
        )
    return OllamaNotAnswering(host, f"closed it without answering {path} ({type(exc).__name__})")


def _set_read_timeout(response: httpx.Response, seconds: float) -> None:
    """After the first byte, wait at most `seconds` for each further chunk.

    httpcore reads the timeout from the request's extensions at every read, so changing it
    here applies to the rest of the stream; without it the first-byte timeout stays in force.
    """
    timeouts = response.request.extensions.get("timeout")
    if isinstance(timeouts, dict):
        timeouts["read"] = seconds


class _waiting:
    """Say so, every `every` seconds, while a request to `host` has had no answer."""

    def __init__(
        self, host: str, what: str, every: float, limit: float, *, first_byte: bool = False
    ):
        self.host, self.what, self.every, self.limit = host, what, every, limit
        self.first_byte = first_byte
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _waiting:
        if self.every > 0 and self.every < self.limit:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()

    def _run(self) -> None:
        started = time.monotonic()
        while not self._done.wait(self.every):
            waited = time.monotonic() - started
            why = " (the model may be loading or reading the prompt)" if self.first_byte else ""
            log.info(
                "still waiting for Ollama at %s to answer %s: %.0fs of %.0fs%s",
                self.host,
                self.what,
                waited,
                self.limit,
                why,
            )


def message_text(content: object) -> str:
    """Return the text of a message's content (a string, or a list of content blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks: keep the text parts
        return "".join(
            block.get("text", "") if isinstance(block, dict) else str(block) for block in content
        )
    return "" if content is None else str(content)


def to_ollama_messages(messages: list[dict]) -> list[dict]:
    """Convert crewai's OpenAI-style messages to Ollama's chat messages."""
    out: list[dict] = []
    tool_names: dict[str, str] = {}
    for message in messages:
        role = message.get("role", "user")
        converted: dict[str, Any] = {"role": role, "content": message_text(message.get("content"))}
        if message.get("tool_calls"):
            calls = []
            for call in message["tool_calls"]:
                function = call.get("function", {}) if isinstance(call, dict) else {}
                arguments = function.get("arguments", {})
                if isinstance(arguments, str):
                    try:
                        arguments = json.loads(arguments or "{}")
                    except ValueError:
                        arguments = {"input": arguments}
                name = function.get("name", "")
                if isinstance(call, dict) and call.get("id"):
                    tool_names[call["id"]] = name
                calls.append({"function": {"name": name, "arguments": arguments}})
            converted["tool_calls"] = calls
        if role == "tool":
            name = message.get("name") or tool_names.get(message.get("tool_call_id", ""))
            if name:
                converted["tool_name"] = name
        out.append(converted)
    return out
