"""An Ollama-compatible HTTP server on 127.0.0.1 over llama.cpp, for benchmarks on real models.

llama.cpp's server (here in process, through xllamacpp) answers the OpenAI-style chat API;
scoutcrew speaks Ollama's native one. This adapter serves the routes scoutcrew uses with
Ollama's shapes, and passes through what llama.cpp really does:

- /api/chat (NDJSON stream): messages, `options` (num_predict, temperature, seed, stop),
  `format` (a JSON schema, or "json") as llama.cpp's `json_schema`; the answer's real token
  counts and timings; `done_reason` from llama.cpp's finish reason ("length" at the cap);
- a prompt over the context comes back as llama.cpp words it, with a 500, as an
  Ollama-compatible proxy in front of llama-server returns it;
- `num_ctx` is not honoured: llama.cpp runs with the context it was started with, which
  /api/ps reports (what a probe reads as the real context length);
- /api/show, /api/tags (with a digest of the GGUF file), /api/version; no native tools.

    with LlamaOllama({"smollm2": Path("SmolLM2.gguf")}, n_ctx=4096) as server:
        ... OLLAMA_HOST=server.url, --model ollama/smollm2 ...
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from ..llm.embedded import Engine, gguf_metadata
from ..llm.probe import file_digest
from .fake_ollama import QuietServer

VERSION = "0.13.0-llama.cpp-adapter"


class LlamaOllama:
    """Serve GGUF models through llama.cpp behind Ollama's API on 127.0.0.1."""

    def __init__(self, models: dict[str, Path], *, n_ctx: int = 8192, threads: int | None = None):
        self.models = {_full(name): Path(path) for name, path in models.items()}
        self.n_ctx = n_ctx
        self.threads = threads or max(1, min(os.cpu_count() or 1, 8))
        self.requests: list[dict[str, Any]] = []
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()  # one generation at a time, as n_parallel 1
        self._server: QuietServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> LlamaOllama:
        handler = type("Handler", (_Handler,), {"adapter": self})
        self._server = QuietServer(("127.0.0.1", 0), handler)
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

    def __enter__(self) -> LlamaOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def engine(self, name: str) -> Engine:
        """Load a model once (llama.cpp, `n_ctx` context) and keep it."""
        import xllamacpp

        with self._lock:
            if name not in self._engines:
                params = xllamacpp.CommonParams()
                params.model.path = str(self.models[name])
                params.n_ctx = self.n_ctx
                params.n_parallel = 1
                params.warmup = False
                params.verbosity = -1
                params.cpuparams.n_threads = self.threads
                params.cpuparams_batch.n_threads = self.threads
                self._engines[name] = xllamacpp.Server(params)
            return self._engines[name]

    def summary(self, name: str) -> dict[str, Any]:
        path = self.models[name]
        meta = gguf_metadata(path)
        arch = str(meta.get("general.architecture") or "llama")
        return {
            "name": name,
            "model": name,
            "modified_at": "2026-01-01T00:00:00Z",
            "size": path.stat().st_size,
            "digest": file_digest(path),
            "details": {"format": "gguf", "family": arch, "families": [arch]},
        }


def _full(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class _Handler(BaseHTTPRequestHandler):
    adapter: LlamaOllama
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, payload: object, kind: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> None:
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length)) if length else {}
        except ValueError:
            body = {}
        self.adapter.requests.append({"path": path, "json": body, "time": time.time()})
        adapter = self.adapter
        if (self.command, path) == ("GET", "/"):
            self._send(200, b"Ollama is running", "text/plain")
        elif (self.command, path) == ("GET", "/api/version"):
            self._send(200, {"version": VERSION})
        elif (self.command, path) == ("GET", "/api/tags"):
            self._send(200, {"models": [adapter.summary(n) for n in adapter.models]})
        elif (self.command, path) == ("GET", "/api/ps"):
            loaded = [
                adapter.summary(n) | {"context_length": adapter.n_ctx} for n in adapter._engines
            ]
            self._send(200, {"models": loaded})
        elif (self.command, path) == ("POST", "/api/show"):
            self._show(body)
        elif (self.command, path) == ("POST", "/api/chat"):
            self._chat(body)
        else:
            self._send(404, b"404 page not found", "text/plain")

    do_GET = do_POST = _route

    def _model(self, body: dict) -> str | None:
        name = _full(str(body.get("model") or body.get("name") or ""))
        if name not in self.adapter.models:
            self._send(404, {"error": f"model '{body.get('model')}' not found"})
            return None
        return name

    def _show(self, body: dict) -> None:
        name = self._model(body)
        if name is None:
            return
        meta = gguf_metadata(self.adapter.models[name])
        arch = str(meta.get("general.architecture") or "llama")
        info = {k: v for k, v in meta.items() if isinstance(v, int | float | str)}
        info.pop("tokenizer.chat_template", None)
        self._send(
            200,
            {
                "details": self.adapter.summary(name)["details"],
                "model_info": {"general.architecture": arch, **info},
                "capabilities": ["completion"],
                "template": "",
            },
        )

    def _chat(self, body: dict) -> None:
        name = self._model(body)
        if name is None:
            return
        if body.get("tools"):
            self._send(400, {"error": f"{name} does not support tools"})
            return
        options = body.get("options") or {}
        request: dict[str, Any] = {
            "messages": [
                {"role": m.get("role", "user"), "content": str(m.get("content") or "")}
                for m in body.get("messages") or []
            ],
            "max_tokens": int(options.get("num_predict") or -1),
        }
        for key in ("temperature", "seed", "stop", "top_p", "top_k"):
            if options.get(key) is not None:
                request[key] = options[key]
        fmt = body.get("format")
        if isinstance(fmt, dict):
            request["json_schema"] = fmt
        elif fmt == "json":
            request["json_schema"] = {"type": "object"}
        engine = self.adapter.engine(name)
        with self.adapter._lock:
            answer = engine.handle_chat_completions(request)
        error = answer.get("error") if isinstance(answer, dict) else {"message": "no answer"}
        if error:
            message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
            self._send(500, {"error": message})  # as a proxy passes llama-server's error on
            return
        assert isinstance(answer, dict)  # a non-dict answer is an error, sent above
        self._stream(body, answer)

    def _stream(self, body: dict, answer: dict) -> None:
        choice = (answer.get("choices") or [{}])[0]
        content = str((choice.get("message") or {}).get("content") or "")
        usage, timings = answer.get("usage") or {}, answer.get("timings") or {}
        prompt_ms = float(timings.get("prompt_ms") or 0.0)
        eval_ms = float(timings.get("predicted_ms") or 0.0)
        model = body.get("model")
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(content), 64):
            piece = {
                "model": model,
                "created_at": _now(),
                "message": {"role": "assistant", "content": content[start : start + 64]},
                "done": False,
            }
            self._chunk(json.dumps(piece).encode() + b"\n")
        final = {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "length" if choice.get("finish_reason") == "length" else "stop",
            "total_duration": int((prompt_ms + eval_ms) * 1e6),
            "load_duration": 0,
            "prompt_eval_count": int(usage.get("prompt_tokens") or 0),
            "prompt_eval_duration": int(prompt_ms * 1e6),
            "eval_count": int(usage.get("completion_tokens") or 0),
            "eval_duration": int(eval_ms * 1e6),
        }
        self._chunk(json.dumps(final).encode() + b"\n")
        self._chunk(b"")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()
