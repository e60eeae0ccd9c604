"""Model servers that fail in the ways real ones do: wedged, or dropping a stream mid-answer.

Each runs on 127.0.0.1 (scoutcrew.testing.fake_ollama.FakeOllama with a fault switched on);
the timeouts are shortened so the tests stay fast, the behaviour is the same as with the defaults.
"""

from __future__ import annotations

import logging
import time

import pytest

from scoutcrew.errors import OllamaNotResponding, StreamDropped
from scoutcrew.llm.ledger import UsageLedger
from scoutcrew.llm.ollama import RetryPolicy, Timeouts
from scoutcrew.llm.runtime import LLMRuntime
from scoutcrew.testing.fake_ollama import FakeOllama

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
SHORT = Timeouts(connect=1.0, answer=0.6, first_byte=0.8, chunk=0.5, call=10.0, notice=0.2)
MESSAGES = [{"role": "user", "content": "Summarise the evidence."}]
LONG_REPLY = "Final Answer: " + "local models keep getting faster " * 20


def runtime(*urls: str) -> LLMRuntime:
    return LLMRuntime(
        ledger=UsageLedger(), hosts=list(urls), backend="auto", timeouts=SHORT, retry=FAST
    )


def test_a_wedged_host_fails_once_with_what_happened_and_is_remembered(caplog):
    with FakeOllama() as server:
        server.wedge()
        rt = runtime(server.url)
        started = time.monotonic()
        with caplog.at_level(logging.INFO), pytest.raises(OllamaNotResponding) as caught:
            rt.complete(["ollama/qwen3:8b"], MESSAGES)
        first = time.monotonic() - started
        message = str(caught.value)
        assert "accepted the connection but did not answer /api/show" in message
        assert "not reachable" not in message
        assert "--model ollama/qwen3:8b,embedded/default" in message
        assert "still waiting for Ollama" in caplog.text  # progress while it waits
        # Every later request of the run fails at once: the host is remembered as wedged.
        started = time.monotonic()
        for _ in range(3):
            with pytest.raises(OllamaNotResponding):
                rt.complete(["ollama/qwen3:8b"], MESSAGES)
        assert not rt.supports_tools("ollama/qwen3:8b")
        assert rt.num_ctx("ollama/qwen3:8b") == 8192  # an estimate, no new wait
        again = time.monotonic() - started
        assert server.paths() == ["/api/show"]  # one wait in all, not one per request
    assert SHORT.answer <= first < SHORT.answer + 2
    assert again < SHORT.answer


def test_a_host_that_answers_show_but_not_chat_fails_after_the_first_byte_timeout():
    with FakeOllama() as server:
        server.wedge("/api/chat")
        rt = runtime(server.url)
        started = time.monotonic()
        with pytest.raises(OllamaNotResponding, match="sent no answer to /api/chat within 0.8s"):
            rt.complete(["ollama/qwen3:8b"], MESSAGES)
        elapsed = time.monotonic() - started
        assert len(server.chat_requests) == 1  # a wedged host is not asked again
        with pytest.raises(OllamaNotResponding):
            rt.complete(["ollama/qwen3:8b"], MESSAGES)
        assert len(server.chat_requests) == 1
    assert SHORT.first_byte <= elapsed < SHORT.first_byte + 2


def test_a_wedged_host_fails_over_to_the_next_one():
    with FakeOllama() as stuck, FakeOllama() as good:
        stuck.wedge()
        good.enqueue("Final Answer: one", "Final Answer: two")
        rt = runtime(stuck.url, good.url)
        for expected in ("one", "two"):
            result, _, _ = rt.complete(["ollama/qwen3:8b"], MESSAGES)
            assert result.host == good.url and expected in result.content
        assert stuck.paths() == ["/api/version"]  # tried once for the whole run


def test_a_stream_dropped_mid_answer_is_named_as_such_and_retried():
    with FakeOllama(default_reply=LONG_REPLY) as server:
        server.drop_streams_after(2)
        rt = runtime(server.url)
        with pytest.raises(StreamDropped) as caught:
            rt.complete(["ollama/qwen3:8b"], MESSAGES)
        message = str(caught.value)
        assert "dropped the connection in the middle of the answer, after 2 streamed chunks" in (
            message
        )
        assert "not reachable" not in message
        assert len(server.chat_requests) == FAST.attempts  # worth retrying: it may recover
        failed = [r for r in rt.ledger.records if not r.ok]
        assert len(failed) == FAST.attempts
        server.drop_after_chunks = None  # the server recovers: the same runtime carries on
        result, _, _ = rt.complete(["ollama/qwen3:8b"], MESSAGES)
        assert result.content.startswith("Final Answer: local models")


def test_a_stream_that_stalls_mid_answer_times_out_on_the_chunk_timeout():
    with FakeOllama(default_reply=LONG_REPLY, chunk_delay=1.0) as server:
        rt = runtime(server.url)
        with pytest.raises(Exception, match="sent nothing for 0.5s in the middle of the answer"):
            rt.complete(["ollama/qwen3:8b"], MESSAGES)
