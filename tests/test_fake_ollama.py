"""The fake Ollama server answers like Ollama's documented API."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from scoutcrew.testing.fake_ollama import (
    OVERFLOW_ERROR,
    QUEUE_FULL_ERROR,
    FakeOllama,
    count_completion_tokens,
    count_prompt_tokens,
)

MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi?"}]


@pytest.fixture
def server():
    with FakeOllama(
        models={
            "qwen3:8b": {
                "context_length": 40960,
                "capabilities": ["completion", "tools"],
                "family": "qwen3",
            },
            "gemma3:270m": {
                "context_length": 32768,
                "capabilities": ["completion"],
                "family": "gemma3",
            },
        }
    ) as fake:
        yield fake


def chat(server, **body):
    payload = {"model": "qwen3:8b", "messages": MESSAGES, "stream": False, **body}
    return httpx.post(f"{server.url}/api/chat", json=payload, timeout=10)


def test_root_version_tags_and_ps(server):
    assert httpx.get(server.url).text == "Ollama is running"
    assert httpx.get(f"{server.url}/api/version").json() == {"version": "0.13.0"}
    names = [m["name"] for m in httpx.get(f"{server.url}/api/tags").json()["models"]]
    assert names == ["qwen3:8b", "gemma3:270m"]
    assert httpx.get(f"{server.url}/api/ps").json() == {"models": []}
    chat(server, options={"num_ctx": 8192})
    loaded = httpx.get(f"{server.url}/api/ps").json()["models"]
    assert [(m["name"], m["context_length"]) for m in loaded] == [("qwen3:8b", 8192)]


def test_show_reports_architecture_context_and_capabilities(server):
    shown = httpx.post(f"{server.url}/api/show", json={"model": "qwen3:8b"}).json()
    assert shown["model_info"]["general.architecture"] == "qwen3"
    assert shown["model_info"]["qwen3.context_length"] == 40960
    assert shown["capabilities"] == ["completion", "tools"]
    assert shown["details"]["family"] == "qwen3"


def test_show_unknown_model_is_404_with_error_body(server):
    response = httpx.post(f"{server.url}/api/show", json={"model": "nope:1b"})
    assert response.status_code == 404
    assert response.json() == {"error": "model 'nope:1b' not found"}


def test_chat_unknown_model_is_404(server):
    response = chat(server, model="missing")
    assert response.status_code == 404
    assert "not found" in response.json()["error"]


def test_non_streaming_chat_returns_scripted_reply_with_counts(server):
    server.enqueue("first", {"content": "second", "thinking": "hmm"})
    one = chat(server).json()
    two = chat(server).json()
    three = chat(server).json()
    assert one["message"] == {"role": "assistant", "content": "first"}
    assert one["done"] is True and one["done_reason"] == "stop"
    assert one["prompt_eval_count"] == count_prompt_tokens(MESSAGES)
    assert one["eval_count"] == count_completion_tokens("first")
    assert two["message"]["thinking"] == "hmm"
    assert three["message"]["content"] == server.default_reply
    for key in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert isinstance(one[key], int)


def test_callable_reply_sees_the_request(server):
    server.enqueue(lambda request: f"you said {request['messages'][-1]['content']}")
    assert chat(server).json()["message"]["content"] == "you said Hi?"


def test_streaming_chat_is_ndjson_ending_with_done(server):
    reply = "A longer answer that is split over several streamed chunks."
    server.enqueue({"content": reply, "thinking": "let me think about it"})
    with httpx.stream(
        "POST", f"{server.url}/api/chat", json={"model": "qwen3:8b", "messages": MESSAGES}
    ) as response:
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert len(lines) > 3
    assert all(not line["done"] for line in lines[:-1]) and lines[-1]["done"]
    content = "".join(line["message"]["content"] for line in lines)
    thinking = "".join(line["message"].get("thinking", "") for line in lines)
    assert content == reply and thinking == "let me think about it"
    assert lines[-1]["eval_count"] == count_completion_tokens(reply + "let me think about it")


def test_streamed_tool_calls(server):
    call = {"function": {"name": "search", "arguments": {"query": "x"}}}
    server.enqueue({"content": "", "tool_calls": [call]})
    with httpx.stream(
        "POST",
        f"{server.url}/api/chat",
        json={"model": "qwen3:8b", "messages": MESSAGES, "tools": [{"type": "function"}]},
    ) as response:
        lines = [json.loads(line) for line in response.iter_lines() if line]
    calls = [c for line in lines for c in line["message"].get("tool_calls", [])]
    assert calls == [call]


def test_tools_to_a_model_without_the_capability_is_400(server):
    response = chat(server, model="gemma3:270m", tools=[{"type": "function"}])
    assert response.status_code == 400
    assert response.json()["error"].endswith("does not support tools")


def test_overflow_with_truncate_false_is_ollamas_error(server):
    long = [{"role": "user", "content": "word " * 400}]
    response = chat(server, messages=long, options={"num_ctx": 64}, truncate=False)
    assert response.status_code == 400
    assert response.json() == {"error": OVERFLOW_ERROR}


def test_overflow_without_truncate_false_is_silently_cut(server):
    long = [{"role": "user", "content": "word " * 400}]
    response = chat(server, messages=long, options={"num_ctx": 64})
    assert response.status_code == 200
    assert response.json()["prompt_eval_count"] == 32


def test_fail_next_then_recovers(server):
    server.fail_next(503, times=2)
    first, second, third = chat(server), chat(server), chat(server)
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.json() == {"error": QUEUE_FULL_ERROR}


def test_v1_routes_are_404_and_recorded(server):
    response = httpx.post(f"{server.url}/v1/chat/completions", json={"model": "qwen3:8b"})
    assert response.status_code == 404
    assert "/v1/chat/completions" in server.paths()


def test_records_requests_and_model_reloads(server):
    chat(server, options={"num_ctx": 8192})
    chat(server, options={"num_ctx": 8192})
    chat(server, options={"num_ctx": 4096})
    assert [r["json"]["options"]["num_ctx"] for r in server.chat_requests] == [8192, 8192, 4096]
    assert server.loads == 2


def test_max_concurrent_counts_in_flight_chats():
    with FakeOllama(delay=0.2) as server:
        threads = [threading.Thread(target=chat, args=(server,)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert server.max_concurrent == 3
        assert len(server.chat_requests) == 3


def test_the_scripted_note_taker_copies_whole_first_sentences() -> None:
    # An initial or a title is not a sentence's end: a two-word note would be refused.
    from scoutcrew.testing.scripts import first_sentence

    assert first_sentence("W. Mark Felt, the FBI official, died at 95. He was") == (
        "W. Mark Felt, the FBI official, died at 95."
    )
    assert first_sentence("The Rev. Larry Kroon said no one was hurt. More.") == (
        "The Rev. Larry Kroon said no one was hurt."
    )
    assert first_sentence("Kestrel-7B reads 128k tokens. Then.") == "Kestrel-7B reads 128k tokens."
