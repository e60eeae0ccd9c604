"""A scripted OpenAI-compatible chat server on 127.0.0.1 for the token benchmark.

It answers POST /v1/chat/completions (what crewai's `ollama/` provider calls) from a script
function, with native tool calls when the script asks for one, and reports usage.prompt_tokens
with scoutcrew.testing.fake_ollama.count_prompt_tokens, the same count the fake Ollama server
reports, so the two approaches are measured with one ruler.

    def script(body: dict) -> dict:  # {"content": str} or {"tool_call": (name, args_dict)}
        ...
    with FakeOpenAI(script) as server:
        LLM(model="ollama/qwen3:8b", base_url=server.url + "/v1")
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scoutcrew.testing.fake_ollama import count_completion_tokens, count_prompt_tokens

Script = Callable[[dict], dict]


class FakeOpenAI:
    """Serve /v1/chat/completions (non-streaming) and record every request."""

    def __init__(self, script: Script):
        self.script = script
        # {"path", "json", "prompt_tokens", "completion_tokens", "tool_call": (name, args)|None}
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeOpenAI:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    @property
    def prompt_tokens(self) -> int:
        return sum(r["prompt_tokens"] for r in self.chat_requests)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        with self.fake._lock:
            self.fake.requests.append({"path": path, "json": None, "prompt_tokens": 0})
        if path.endswith("/models"):
            self._send(200, {"object": "list", "data": [{"id": "qwen3:8b", "object": "model"}]})
        else:
            self._send(404, {"error": {"message": f"no route {path}", "type": "not_found"}})

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if not path.endswith("/chat/completions"):
            with self.fake._lock:
                self.fake.requests.append({"path": path, "json": body, "prompt_tokens": 0})
            self._send(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
            return
        if body.get("stream"):  # crewai 1.15's LLM does not stream unless asked to
            self._send(400, {"error": {"message": "this fake does not stream", "type": "bad"}})
            return
        prompt_tokens = count_prompt_tokens(body.get("messages") or [], body.get("tools"))
        reply = self.fake.script(body)
        message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
        finish = "stop"
        if "tool_call" in reply:
            name, args = reply["tool_call"]
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": "call_" + uuid.uuid4().hex[:12],
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
            ]
            finish = "tool_calls"
        completion_tokens = count_completion_tokens(
            (message["content"] or "") + json.dumps(message.get("tool_calls") or "")
        )
        with self.fake._lock:
            self.fake.requests.append(
                {
                    "path": path,
                    "json": body,
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "tool_call": reply.get("tool_call"),
                }
            )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        ident = "chatcmpl-" + uuid.uuid4().hex[:16]
        created = int(time.time())
        model = body.get("model", "qwen3:8b")
        self._send(
            200,
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage,
            },
        )
