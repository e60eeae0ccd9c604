"""A scripted fake Ollama server for tests: a real HTTP server on 127.0.0.1.

It speaks the parts of Ollama's native API that scoutcrew uses (/api/chat streamed and not,
/api/show, /api/tags, /api/ps, /api/version, GET /), with Ollama's response shapes and error
bodies ({"error": "..."}), records every request, and answers from a queue of scripted
replies. Token counts are deterministic (see `count_prompt_tokens`, `count_completion_tokens`)
so tests can compare what the project recorded with what the server reported.

    with FakeOllama() as server:
        server.enqueue("Final Answer: hello")
        ... point OLLAMA_HOST (or LLMRuntime(hosts=[server.url])) at server.url ...
        assert server.chat_requests[0]["json"]["options"]["num_ctx"] == 8192
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .scripts import follow_format

Reply = str | dict | Callable[[dict], "str | dict"]

# Ollama's own wording, so client code that matches on it is tested against the real text.
OVERFLOW_ERROR = "the input length exceeds the context length"
# llama.cpp's server (behind an Ollama-compatible proxy it comes back as a 500).
LLAMACPP_OVERFLOW_ERROR = (
    "request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it"
)
QUEUE_FULL_ERROR = "server busy, please try again.  maximum pending requests exceeded"
# The context Ollama uses when a request sets no num_ctx (recent versions, under 24 GiB VRAM).
SERVER_DEFAULT_NUM_CTX = 4096

DEFAULT_MODELS: dict[str, dict] = {
    "qwen3:8b": {
        "context_length": 40960,
        "capabilities": ["completion", "tools", "thinking"],
        "family": "qwen3",
    }
}


def count_prompt_tokens(messages: list[dict], tools: list | None = None) -> int:
    """Return the prompt_eval_count the fake reports for these messages (deterministic)."""
    total = 0
    for message in messages:
        content = message.get("content") or ""
        total += 4 + len(str(content)) // 4
    if tools:
        total += len(json.dumps(tools)) // 4
    return total + 2


def count_completion_tokens(text: str) -> int:
    """Return the eval_count the fake reports for a reply text (deterministic)."""
    return max(1, len(text) // 4)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _full_name(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


class FakeOllama:
    """Serve a scripted Ollama API on 127.0.0.1 and record every request."""

    def __init__(
        self,
        models: dict[str, dict] | None = None,
        delay: float = 0.0,
        *,
        default_reply: Reply = "Final Answer: This is the fake model's answer.",
        chunk_delay: float = 0.0,
        version: str = "0.13.0",
        follow_format: bool = True,
        overflow: tuple[int, str] = (400, OVERFLOW_ERROR),
    ):
        self.models = {_full_name(k): dict(v) for k, v in (models or DEFAULT_MODELS).items()}
        self.delay = delay
        self.chunk_delay = chunk_delay
        self.default_reply = default_reply
        self.version = version
        # Ollama constrains an answer to a JSON-schema `format` with a grammar: scripted free
        # text is given the shape asked for (see testing.scripts.follow_format); False hands
        # the script back as it is, like a server that ignores `format`.
        self.follow_format = follow_format
        self.overflow = overflow  # the status and message of a prompt over the context
        self.requests: list[dict] = []
        self.max_concurrent = 0
        self.loads = 0  # model (re)loads: a new model or a different num_ctx
        self._loaded: dict[str, dict] = {}
        self._replies: deque[Reply] = deque()
        self._failures: deque[tuple[str, int, str]] = deque()
        self._matching: list[tuple[Callable[[dict], bool], int, str]] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # Faults: a wedged server accepts connections and never answers (until stopped); a
        # dropping one closes the connection after this many streamed chunks of an answer.
        self.wedged: set[str] | bool = False  # True, or the paths that never answer
        self.drop_after_chunks: int | None = None
        self._released = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeOllama is not started; call start() or use it as a context")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> FakeOllama:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = QuietServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()  # a wedged handler returns, so shutdown does not wait on it
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting ---------------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        """Queue replies for the next /api/chat requests, in order.

        A reply is the content string, a message dict ({"content", "thinking", "tool_calls"}),
        or a callable taking the request JSON and returning either.
        """
        with self._lock:
            self._replies.extend(replies)

    def fail_next(
        self, status: int, error: str = QUEUE_FULL_ERROR, times: int = 1, path: str = "/api/chat"
    ) -> None:
        """Answer the next `times` requests to `path` with `status` and {"error": error}."""
        with self._lock:
            self._failures.extend([(path, status, error)] * times)

    def fail_matching(self, predicate: Callable[[dict], bool], status: int, error: str) -> None:
        """Answer every /api/chat request whose JSON body `predicate` accepts with `status` and
        {"error": error} (a prompt the server refuses, wherever it comes in a run)."""
        with self._lock:
            self._matching.append((predicate, status, error))

    def wedge(self, *paths: str) -> None:
        """Accept connections from now on and never answer (an Ollama stuck for good).

        With `paths`, only requests to those paths hang; the others are answered.
        """
        self.wedged = set(paths) if paths else True

    def drop_streams_after(self, chunks: int) -> None:
        """Close the connection after `chunks` streamed chunks of each chat answer."""
        self.drop_after_chunks = chunks

    def add_model(self, name: str, **info: object) -> None:
        self.models[_full_name(name)] = info

    def remove_model(self, name: str) -> None:
        self.models.pop(_full_name(name), None)

    @property
    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r["path"] == "/api/chat"]

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]

    # -- internals used by the handler -------------------------------------------------------

    def _record(self, method: str, path: str, body: object) -> dict:
        entry = {"path": path, "method": method, "json": body, "time": time.time()}
        with self._lock:
            self.requests.append(entry)
        return entry

    def _take_failure(self, path: str) -> tuple[int, str] | None:
        with self._lock:
            if self._failures and self._failures[0][0] == path:
                _, status, error = self._failures.popleft()
                return status, error
        return None

    def _next_reply(self, request: dict) -> dict:
        with self._lock:
            reply = self._replies.popleft() if self._replies else self.default_reply
        if callable(reply):
            reply = reply(request)
        if isinstance(reply, str):
            return {"role": "assistant", "content": reply}
        message = {"role": "assistant", "content": ""}
        message.update(reply)
        return message

    def _enter_chat(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self._in_flight)

    def _leave_chat(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _load(self, name: str, num_ctx: int) -> None:
        with self._lock:
            loaded = self._loaded.get(name)
            if loaded is None or loaded["context_length"] != num_ctx:
                self.loads += 1
            self._loaded[name] = {"context_length": num_ctx, "at": datetime.now(UTC)}

    def _model_summary(self, name: str) -> dict:
        info = self.models[name]
        family = info.get("family", "llama")
        return {
            "name": name,
            "model": name,
            "modified_at": "2026-01-01T00:00:00Z",
            "size": int(info.get("size", 5_000_000_000)),
            "digest": hashlib.sha256(name.encode()).hexdigest(),
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": family,
                "families": [family],
                "parameter_size": info.get("parameter_size", "8.2B"),
                "quantization_level": info.get("quantization_level", "Q4_K_M"),
            },
        }


class QuietServer(ThreadingHTTPServer):
    """A client hanging up mid-request (a test that stopped a run) is not an error here."""

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOllama
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    # -- plumbing ----------------------------------------------------------------------------

    def _body(self) -> object:
        """The request's JSON (any JSON value), or None when it has no body."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return {"_raw": raw.decode("utf-8", "replace")}

    def _send_json(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_text(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send_json(status, {"error": message})

    def _route(self) -> None:
        path = self.path.split("?", 1)[0]
        body = self._body() if self.command in ("POST", "PUT", "DELETE") else None
        self.fake._record(self.command, path, body)
        wedged = self.fake.wedged
        if wedged is True or (isinstance(wedged, set) and path in wedged):
            self.fake._released.wait(600)  # bounded: stop() releases it at once
            self.close_connection = True
            return
        failure = self.fake._take_failure(path)
        if failure is None and path == "/api/chat" and isinstance(body, dict):
            failure = next(
                ((status, error) for test, status, error in self.fake._matching if test(body)),
                None,
            )
        if failure is not None:
            self._error(*failure)
            return
        routes: dict[tuple[str, str], Callable[[Any], None]] = {
            ("GET", "/"): lambda _: self._send_text(200, "Ollama is running"),
            ("HEAD", "/"): lambda _: self._send_text(200, "Ollama is running"),
            ("GET", "/api/version"): lambda _: self._send_json(200, {"version": self.fake.version}),
            ("GET", "/api/tags"): self._tags,
            ("GET", "/api/ps"): self._ps,
            ("POST", "/api/show"): self._show,
            ("POST", "/api/chat"): self._chat,
        }
        handler = routes.get((self.command, path))
        if handler is None:
            # Ollama's router answers unknown routes (and here: every /v1 route) like this.
            self._send_text(404, "404 page not found")
            return
        handler(body)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _route

    # -- endpoints ---------------------------------------------------------------------------

    def _tags(self, _: object) -> None:
        fake = self.fake
        self._send_json(200, {"models": [fake._model_summary(n) for n in fake.models]})

    def _ps(self, _: object) -> None:
        fake = self.fake
        models = []
        for name, state in list(fake._loaded.items()):
            if name not in fake.models:
                continue
            entry = fake._model_summary(name)
            entry["expires_at"] = (state["at"] + timedelta(minutes=5)).isoformat()
            entry["size_vram"] = entry["size"]
            entry["context_length"] = state["context_length"]
            models.append(entry)
        self._send_json(200, {"models": models})

    def _show(self, body: dict[str, Any] | None) -> None:
        body = body or {}
        requested = body.get("model") or body.get("name") or ""
        name = _full_name(requested)
        info = self.fake.models.get(name)
        if info is None:
            self._error(404, f"model '{requested}' not found")
            return
        family = info.get("family", "llama")
        summary = self.fake._model_summary(name)
        self._send_json(
            200,
            {
                "license": "",
                "modelfile": f'# Modelfile generated by "ollama show"\nFROM {name}\n',
                "parameters": 'stop "<|im_end|>"',
                "template": "{{ .Prompt }}",
                "details": summary["details"],
                "model_info": {
                    "general.architecture": family,
                    "general.parameter_count": 8_190_735_360,
                    f"{family}.context_length": int(info.get("context_length", 8192)),
                    f"{family}.embedding_length": 4096,
                },
                "capabilities": list(info.get("capabilities", ["completion"])),
                "modified_at": summary["modified_at"],
            },
        )

    def _chat(self, body: object) -> None:
        fake = self.fake
        body = body if isinstance(body, dict) else {}
        requested = body.get("model") or ""
        name = _full_name(requested)
        info = fake.models.get(name)
        if info is None:
            self._error(404, f"model '{requested}' not found")
            return
        if body.get("tools") and "tools" not in info.get("capabilities", []):
            self._error(400, f"registry.ollama.ai/library/{name} does not support tools")
            return
        options = body.get("options") or {}
        num_ctx = int(options.get("num_ctx") or SERVER_DEFAULT_NUM_CTX)
        prompt_tokens = count_prompt_tokens(body.get("messages") or [], body.get("tools"))
        fake._enter_chat()
        try:
            if prompt_tokens > num_ctx:
                if body.get("truncate", True) is False:
                    self._error(*fake.overflow)
                    return
                # What Ollama does by default: drop the front, answer 200 as if all was well.
                prompt_tokens = num_ctx // 2
            fake._load(name, num_ctx)
            if fake.delay:
                time.sleep(fake.delay)
            message = fake._next_reply(body)
            fmt = body.get("format")
            if isinstance(fmt, dict) and fake.follow_format and not message.get("tool_calls"):
                message["content"] = follow_format(str(message.get("content") or ""), fmt)
            self._answer(body, requested, message, prompt_tokens)
        finally:
            fake._leave_chat()

    def _answer(self, body: dict, model: str, message: dict, prompt_tokens: int) -> None:
        content = message.get("content") or ""
        thinking = message.get("thinking") or ""
        done_reason = message.get("done_reason", "stop")
        cap = (body.get("options") or {}).get("num_predict")
        if cap and cap > 0 and count_completion_tokens(content + thinking) > cap:
            # Ollama stops at num_predict and says so: a model that runs away is cut here.
            content = content[: max(0, cap * 4 - len(thinking))]
            thinking = thinking[: cap * 4]
            done_reason = "length"
        eval_count = count_completion_tokens(content + thinking)
        final = {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": ""},
            "done_reason": done_reason,
            "done": True,
            "total_duration": 250_000_000,
            "load_duration": 10_000_000,
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": 40_000_000,
            "eval_count": eval_count,
            "eval_duration": 200_000_000,
        }
        if body.get("stream", True) is False:
            full = {"role": "assistant", "content": content}
            if thinking:
                full["thinking"] = thinking
            if message.get("tool_calls"):
                full["tool_calls"] = message["tool_calls"]
            final["message"] = full
            self._send_json(200, final)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        drop = self.fake.drop_after_chunks
        for sent, chunk in enumerate(
            _stream_chunks(model, content, thinking, message.get("tool_calls"))
        ):
            if drop is not None and sent >= drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)  # mid-answer, no final chunk
                return
            if self.fake.chunk_delay:
                time.sleep(self.fake.chunk_delay)
            self._write_chunk(json.dumps(chunk).encode() + b"\n")
        self._write_chunk(json.dumps(final).encode() + b"\n")
        self._write_chunk(b"")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _stream_chunks(
    model: str, content: str, thinking: str, tool_calls: list[dict[str, Any]] | None
) -> list[dict]:
    """Split a reply into NDJSON chunks the way Ollama streams it: thinking, then content."""

    def piece(**message: object) -> dict:
        return {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": "", **message},
            "done": False,
        }

    chunks = [piece(content="", thinking=part) for part in _split(thinking)]
    chunks += [piece(content=part) for part in _split(content)]
    if tool_calls:
        chunks.append(piece(content="", tool_calls=tool_calls))
    return chunks


def _split(text: str, size: int = 24) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]
