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
import re
import shutil
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Reply = str | dict | Callable[[dict], "str | dict"]

# Ollama's own wording, so client code that matches on it is tested against the real text.
OVERFLOW_ERROR = "the input length exceeds the context length"
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
    ):
        self.models = {_full_name(k): dict(v) for k, v in (models or DEFAULT_MODELS).items()}
        self.delay = delay
        self.chunk_delay = chunk_delay
        self.default_reply = default_reply
        self.version = version
        self.requests: list[dict] = []
        self.max_concurrent = 0
        self.loads = 0  # model (re)loads: a new model or a different num_ctx
        self._loaded: dict[str, dict] = {}
        self._replies: deque[Reply] = deque()
        self._failures: deque[tuple[str, int, str]] = deque()
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
        self._server = _QuietServer(("127.0.0.1", 0), handler)
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

    def wedge(self, *paths: str) -> None:
        """Accept connections from now on and never answer (an Ollama stuck for good).

        With `paths`, only requests to those paths hang; the others are answered.
        """
        self.wedged = set(paths) if paths else True

    def drop_streams_after(self, chunks: int) -> None:
        """Close the connection after `chunks` streamed chunks of each chat answer."""
        self.drop_after_chunks = chunks

    def add_model(self, name: str, **info: Any) -> None:
        self.models[_full_name(name)] = info

    def remove_model(self, name: str) -> None:
        self.models.pop(_full_name(name), None)

    @property
    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r["path"] == "/api/chat"]

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]

    # -- internals used by the handler -------------------------------------------------------

    def _record(self, method: str, path: str, body: Any) -> dict:
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


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up mid-request (a test that stopped a run) is not an error here."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOllama
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    # -- plumbing ----------------------------------------------------------------------------

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return {"_raw": raw.decode("utf-8", "replace")}

    def _send_json(self, status: int, payload: Any) -> None:
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

    def _tags(self, _: Any) -> None:
        fake = self.fake
        self._send_json(200, {"models": [fake._model_summary(n) for n in fake.models]})

    def _ps(self, _: Any) -> None:
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

    def _show(self, body: Any) -> None:
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

    def _chat(self, body: Any) -> None:
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
                    self._error(400, OVERFLOW_ERROR)
                    return
                # What Ollama does by default: drop the front, answer 200 as if all was well.
                prompt_tokens = num_ctx // 2
            fake._load(name, num_ctx)
            if fake.delay:
                time.sleep(fake.delay)
            message = fake._next_reply(body)
            self._answer(body, requested, message, prompt_tokens)
        finally:
            fake._leave_chat()

    def _answer(self, body: dict, model: str, message: dict, prompt_tokens: int) -> None:
        content = message.get("content") or ""
        thinking = message.get("thinking") or ""
        eval_count = count_completion_tokens(content + thinking)
        final = {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": ""},
            "done_reason": message.get("done_reason", "stop"),
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


def _stream_chunks(model: str, content: str, thinking: str, tool_calls: Any) -> list[dict]:
    """Split a reply into NDJSON chunks the way Ollama streams it: thinking, then content."""

    def piece(**message: Any) -> dict:
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


class FakeSearxng:
    """A stand-in SearXNG on 127.0.0.1 that also serves the pages its results point at.

    `pages` maps a slug to (title, text); the page is served as HTML at /pages/<slug>, and
    GET /search?q=...&format=json answers like SearXNG's JSON API with the pages that share the
    most words with the query. Every query and page request is recorded.

        with FakeSearxng({"solid": ("Solid-state cells", "Solid-state cells store ...")}) as web:
            ... sources: {search_backend: searxng, searxng_url: web.url} ...
            assert web.queries == ["solid-state batteries"]
    """

    def __init__(self, pages: dict[str, tuple[str, str]], *, results: int = 5):
        self.pages = dict(pages)
        self.max_results = results
        self.queries: list[str] = []
        self.page_requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSearxng is not started; call start() or use it as a context")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def page_url(self, slug: str) -> str:
        return f"{self.url}/pages/{slug}"

    def start(self) -> FakeSearxng:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                from urllib.parse import parse_qs, urlsplit

                parts = urlsplit(self.path)
                if parts.path == "/search":
                    query = parse_qs(parts.query)
                    if query.get("format", [""])[0] != "json":
                        self._send(403, b"Forbidden", "text/plain")
                        return
                    text = query.get("q", [""])[0]
                    with fake._lock:
                        fake.queries.append(text)
                    body = json.dumps({"query": text, "results": fake.search(text)})
                    self._send(200, body.encode(), "application/json")
                    return
                slug = parts.path.removeprefix("/pages/")
                if parts.path.startswith("/pages/") and slug in fake.pages:
                    with fake._lock:
                        fake.page_requests.append(slug)
                    self._send(200, fake.html(slug).encode(), "text/html; charset=utf-8")
                    return
                self._send(404, b"not found", "text/plain")

            def _send(self, status: int, data: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSearxng:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def search(self, query: str) -> list[dict[str, Any]]:
        """The results for `query`: pages sharing its words, most shared first."""
        import re

        def words(text: str) -> set[str]:
            return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}

        wanted = words(query)
        scored = []
        for slug, (title, text) in self.pages.items():
            score = len(wanted & words(title)) * 2 + len(wanted & words(text))
            if score:
                scored.append((-score, slug))
        out = []
        for _score, slug in sorted(scored)[: self.max_results]:
            title, text = self.pages[slug]
            out.append(
                {
                    "url": self.page_url(slug),
                    "title": title,
                    "content": text[:160],
                    "engine": "fake",
                    "engines": ["fake"],
                    "score": -_score,
                }
            )
        return out

    def html(self, slug: str) -> str:
        from html import escape

        title, text = self.pages[slug]
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p.strip())
        return (
            f"<!doctype html><html><head><title>{escape(title)}</title></head><body>"
            f"<nav><a href='/'>Home</a></nav><article><h1>{escape(title)}</h1>{paragraphs}"
            "</article><footer>Fake web</footer></body></html>"
        )


# The files that make a scoutcrew project (everything a crew run reads).
PROJECT_FILES = ("pyproject.toml", "agents.yaml", "tasks.yaml", "crews", "examples")


def copy_project(source: Path, dest: Path) -> Path:
    """Copy a project's YAML, crews and sample feeds into `dest`, for a test or a benchmark."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


# -- scripted readers -------------------------------------------------------------------------

_SOURCE_BLOCK = re.compile(r"^\[(S\d+)\][^\n]*\n((?:>[^\n]*(?:\n|$))+)", re.MULTILINE)


def sources_in_prompt(text: str) -> list[tuple[str, str, str]]:
    """The (id, title, text) of every source rendered between BEGIN and END SOURCES."""
    start, end = text.find("BEGIN SOURCES"), text.rfind("END SOURCES")
    if start < 0 or end < start:
        return []
    out = []
    for match in _SOURCE_BLOCK.finditer(text[start:end]):
        lines = [line[1:].strip() for line in match.group(2).splitlines()]
        title, body = (lines[0], " ".join(lines[1:])) if lines else ("", "")
        out.append((match.group(1), title, body))
    return out


def first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(?:\s|$)", text.strip())
    return (match.group(1) if match else text.strip())[:300]


def scripted_notes(request: dict) -> str:
    """A FakeOllama reply for note prompts: each source's first sentence, with its id.

    Extractive like a careful note taker: figures and names are copied as they stand.
    """
    messages = request.get("messages") or []
    text = "\n".join(str(m.get("content") or "") for m in messages)
    lines = []
    for sid, title, body in sources_in_prompt(text):
        fact = first_sentence(body) or title
        lines.append(f"- {fact} [{sid}]")
    return "\n".join(lines) or "Final Answer: nothing to note."


def scripted_summary(request: dict) -> str:
    """A FakeOllama reply for reduce prompts: per story the first ten words of its first fact,
    with every id of the story, neighbouring stories merged into one line until the answer has
    no more lines than the prompt asks for."""
    messages = request.get("messages") or []
    text = "\n".join(str(m.get("content") or "") for m in messages)
    start, end = text.find("BEGIN NOTES"), text.rfind("END NOTES")
    body = text[start + len("BEGIN NOTES") : end] if 0 <= start < end else text
    groups: list[list[str]] = []
    for line in (ln.strip() for ln in body.splitlines()):
        if not line:
            continue
        if line.startswith("Story") or not groups or not groups[-1][0].startswith("Story"):
            groups.append([line])
        else:
            groups[-1].append(line)
    cited = [g for g in groups if any(re.search(r"\[S\d+\]", ln) for ln in g)]
    asked = re.search(r"at most (\d+) lines", text)
    most = int(asked.group(1)) if asked else max(1, len(cited) // 2)
    if len(cited) > most:  # merge neighbouring stories until the answer has `most` lines
        size = -(-len(cited) // most)
        cited = [sum(cited[i : i + size], []) for i in range(0, len(cited), size)]
    out = []
    for group in cited:
        ids = [sid for ln in group for sid in re.findall(r"\[(S\d+)\]", ln)]
        first = next(ln for ln in group if re.search(r"\[S\d+\]", ln))
        words_ = re.sub(r"\[S\d+\]", "", first).split()[:10]
        out.append(f"{' '.join(words_)} {''.join(f'[{i}]' for i in dict.fromkeys(ids))}")
    return "\n".join(out)


NOTE_MARK = "You take notes"
REDUCE_MARK = "You merge research notes"


def scripted_reader(crew_reply: Callable[[dict], str | dict]) -> Callable[[dict], str | dict]:
    """A FakeOllama reply that answers note and reduce prompts as above and hands every other
    request (the crew's tasks) to `crew_reply`."""

    def reply(request: dict) -> str | dict:
        messages = request.get("messages") or []
        system = str(messages[0].get("content") or "") if messages else ""
        if system.startswith(NOTE_MARK):
            return scripted_notes(request)
        if system.startswith(REDUCE_MARK):
            return scripted_summary(request)
        return crew_reply(request)

    return reply


# -- generated news ---------------------------------------------------------------------------

_VOCAB = (
    "model lab release weights benchmark laptop context window quantised agent tool server "
    "cache prompt latency memory accuracy dataset licence parameter runtime kernel compiler "
    "vision audio speech translation search retrieval index embedding vector summary report "
    "schedule cluster node driver firmware battery energy cooling chip board camera phone "
    "browser plugin editor notebook library framework protocol schema format parser token "
    "decoder encoder layer adapter expert router gateway queue worker thread socket stream "
    "archive mirror registry package install update patch security audit policy review "
    "student teacher hospital court council newsroom museum farm factory harbour airport"
).split()
_NAMES = (
    "Northwind Kestrel Heron Osprey Falcon Marten Lynx Otter Badger Wren Finch Plover Tern "
    "Alder Birch Cedar Larch Rowan Hazel Juniper Maple Aspen Willow Linden Spruce"
).split()


def news_item(feed: int, index: int) -> tuple[str, str, str]:
    """One generated news item (title, link, html), varied enough that no two are duplicates.

    Figures, names and dates differ per item, so extractive notes can be checked exactly.
    """
    import random

    rng = random.Random(feed * 100_003 + index)
    name = f"{rng.choice(_NAMES)}-{rng.randint(2, 99)}B"
    org = f"{rng.choice(_NAMES)} {rng.choice(['Labs', 'AI', 'Research', 'Systems'])}"
    topic = " ".join(rng.sample(_VOCAB, 3))
    title = f"{org} ships {name} with faster {topic}"
    figures = f"{rng.randint(5, 95)} percent"

    def filler() -> str:
        return " ".join(rng.choice(_VOCAB) for _ in range(rng.randint(10, 16))).capitalize() + "."

    sentences = [
        f"{org} released {name} on 2026-11-{rng.randint(1, 28):02d} and reports {figures} "
        f"better {rng.choice(_VOCAB)} {rng.choice(_VOCAB)} than its last release.",
        filler(),
        filler(),
        f"It costs {rng.randint(1, 400)} dollars to run for a month on "
        f"{rng.randint(1, 64)} {rng.choice(_VOCAB)} nodes.",
        filler(),
        filler(),
        filler(),
        filler(),
    ]
    link = f"https://feed{feed}.example/{index}/{name.lower()}"
    return title, link, "<p>" + " ".join(sentences) + "</p>"


def near_duplicate(item: tuple[str, str, str], feed: int) -> tuple[str, str, str]:
    """The same story as `item`, syndicated by another feed: another link, a little more text."""
    title, link, html = item
    return (
        title,
        link.replace("https://", f"https://mirror{feed}.").rstrip("/") + "-copy",
        (html.replace("</p>", f" Reported by feed {feed}.</p>")),
    )
