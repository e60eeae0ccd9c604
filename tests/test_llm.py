"""The native Ollama backend, against the fake Ollama server on 127.0.0.1."""

from __future__ import annotations

import logging
import socket

import pytest

from scoutcrew.errors import (
    ContextOverflow,
    EmptyResponse,
    InvalidModelSpec,
    LLMError,
    LLMTimeout,
    ModelNotFound,
    OllamaUnreachable,
)
from scoutcrew.llm.doctor import format_doctor, run_doctor
from scoutcrew.llm.ledger import UsageLedger
from scoutcrew.llm.ollama import RetryPolicy, Timeouts, parse_hosts
from scoutcrew.llm.runtime import LLMRuntime
from scoutcrew.llm.specs import parse_spec, strip_thinking
from scoutcrew.testing.fake_ollama import FakeOllama, count_completion_tokens, count_prompt_tokens

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
MODELS = {
    "qwen3:8b": {
        "context_length": 40960,
        "capabilities": ["completion", "tools", "thinking"],
        "family": "qwen3",
    },
    "small:1b": {"context_length": 2048, "capabilities": ["completion"], "family": "llama"},
    "big:14b": {"context_length": 131072, "capabilities": ["completion"], "family": "qwen2"},
}
MESSAGES = [
    {"role": "system", "content": "You are a careful analyst."},
    {"role": "user", "content": "Summarise the evidence."},
]


@pytest.fixture
def fake():
    with FakeOllama(models=MODELS) as server:
        yield server


def runtime(server: FakeOllama, **kwargs) -> LLMRuntime:
    kwargs.setdefault("retry", FAST)
    return LLMRuntime(ledger=UsageLedger(), hosts=[server.url], backend="ollama", **kwargs)


def dead_host() -> str:
    """A 127.0.0.1 URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- request shape ---------------------------------------------------------------------------


def test_every_chat_sends_num_ctx_and_truncate_false(fake):
    rt = runtime(fake)
    for _ in range(2):
        rt.complete(["ollama/qwen3:8b"], MESSAGES, options={"temperature": 0.2, "seed": 7})
    rt.complete(["ollama/small:1b"], MESSAGES, options={"keep_alive": "10m"})
    bodies = [r["json"] for r in fake.chat_requests]
    assert len(bodies) == 3
    assert all(b["truncate"] is False for b in bodies)
    # qwen3 is capped by the default 8192; small:1b by its own 2048-token context.
    assert [b["options"]["num_ctx"] for b in bodies] == [8192, 8192, 2048]
    assert bodies[0]["options"]["temperature"] == 0.2 and bodies[0]["options"]["seed"] == 7
    assert bodies[2]["keep_alive"] == "10m"
    assert not [p for p in fake.paths() if p.startswith("/v1")]


def test_num_ctx_override_is_fixed_once_per_model(fake, caplog):
    rt = runtime(fake)
    rt.llm_for(["ollama/qwen3:8b"], {"num_ctx": 16384}, agent="researcher")
    with caplog.at_level(logging.WARNING):
        rt.llm_for(["ollama/qwen3:8b"], {"num_ctx": 4096}, agent="writer")
    assert "already uses 16384" in caplog.text
    assert rt.num_ctx("ollama/qwen3:8b") == 16384
    rt.complete(["ollama/qwen3:8b"], MESSAGES, options={"num_ctx": 4096})
    assert fake.chat_requests[-1]["json"]["options"]["num_ctx"] == 16384
    assert fake.loads == 1


def test_thinking_model_is_asked_not_to_think_and_thinking_is_stripped(fake):
    rt = runtime(fake)
    fake.enqueue({"content": "<think>hidden plan</think>The result.", "thinking": "more"})
    _, text, _ = rt.complete(["ollama/qwen3:8b"], MESSAGES)
    assert text == "The result."
    assert fake.chat_requests[0]["json"]["think"] is False
    rt.complete(["ollama/small:1b"], MESSAGES)
    assert "think" not in fake.chat_requests[1]["json"]


def test_strip_thinking_handles_dangling_close_tag():
    assert strip_thinking("reasoning here</think>\nAnswer") == "Answer"
    assert strip_thinking("plain") == "plain"


# -- usage -----------------------------------------------------------------------------------


def test_ledger_holds_the_servers_own_counts(fake):
    rt = runtime(fake)
    seen = []
    rt.ledger.subscribe(seen.append)
    fake.enqueue("A fairly short answer for counting.")
    rt.complete(["ollama/qwen3:8b"], MESSAGES, agent="analyst", task="analyse")
    (record,) = rt.ledger.records
    assert record.prompt_tokens == count_prompt_tokens(MESSAGES)
    assert record.completion_tokens == count_completion_tokens(
        "A fairly short answer for counting."
    )
    assert (record.agent, record.task, record.backend, record.host) == (
        "analyst",
        "analyse",
        "ollama",
        fake.url,
    )
    assert record.ok and record.total_ms == 250.0 and record.eval_ms == 200.0
    assert seen == [record]


# -- retries, failover, errors ---------------------------------------------------------------


def test_503_then_success_is_retried_and_recorded(fake):
    rt = runtime(fake)
    fake.fail_next(503, times=2)
    _, text, spec = rt.complete(["ollama/qwen3:8b"], MESSAGES)
    assert text == fake.default_reply and spec == "ollama/qwen3:8b"
    assert len(fake.chat_requests) == 3
    assert [r.ok for r in rt.ledger.records] == [False, False, True]
    assert "503" in rt.ledger.records[0].error


def test_other_4xx_is_not_retried(fake):
    rt = runtime(fake)
    fake.fail_next(400, error="invalid options", times=1)
    with pytest.raises(LLMError, match="invalid options"):
        rt.complete(["ollama/qwen3:8b"], MESSAGES)
    assert len(fake.chat_requests) == 1


def test_500_until_retries_run_out_fails(fake):
    rt = runtime(fake)
    fake.fail_next(500, error="llama runner process has terminated", times=5)
    with pytest.raises(LLMError, match="runner process has terminated"):
        rt.complete(["ollama/qwen3:8b"], MESSAGES)
    assert len(fake.chat_requests) == FAST.attempts


def test_fails_over_to_the_next_host(fake):
    rt = LLMRuntime(
        ledger=UsageLedger(), hosts=[dead_host(), fake.url], retry=FAST, backend="ollama"
    )
    _, text, _ = rt.complete(["ollama/qwen3:8b"], MESSAGES)
    assert text == fake.default_reply
    assert rt.ledger.records[-1].host == fake.url


def test_ollama_host_may_list_several_hosts(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "gpu1:11434, http://gpu2:8080 ,0.0.0.0")
    assert parse_hosts(None) == [
        "http://gpu1:11434",
        "http://gpu2:8080",
        "http://127.0.0.1:11434",
    ]


def test_unreachable_ollama_names_the_fix():
    rt = LLMRuntime(ledger=UsageLedger(), hosts=[dead_host()], retry=FAST, backend="ollama")
    with pytest.raises(OllamaUnreachable, match="ollama serve"):
        rt.complete(["ollama/qwen3:8b"], MESSAGES)


def test_missing_model_falls_to_the_next_in_the_chain(fake):
    rt = runtime(fake)
    _, _, spec = rt.complete(["ollama/absent:7b", "ollama/qwen3:8b"], MESSAGES, task="write")
    assert spec == "ollama/qwen3:8b"
    missing, served = rt.ledger.records
    assert not missing.ok and "ollama pull absent:7b" in missing.error
    assert served.ok and served.fallback_from == "ollama/absent:7b"
    assert [r["json"]["model"] for r in fake.chat_requests] == ["qwen3:8b"]


def test_missing_model_alone_says_how_to_pull_it(fake):
    with pytest.raises(ModelNotFound, match="run `ollama pull absent:7b`"):
        runtime(fake).complete(["ollama/absent:7b"], MESSAGES)


def test_overflow_escalates_to_a_longer_context_model(fake):
    rt = runtime(fake, default_num_ctx=32768)
    long = [{"role": "user", "content": "evidence " * 2000}]  # ~4500 tokens > 2048
    _, _, spec = rt.complete(["ollama/small:1b", "ollama/big:14b"], long, task="analyse")
    assert spec == "ollama/big:14b"
    # A prompt that would overflow is never sent: the small model saw no request.
    (sent,) = fake.chat_requests
    assert sent["json"]["model"] == "big:14b" and sent["json"]["options"]["num_ctx"] == 32768
    failed, ok = rt.ledger.records
    assert not failed.ok and failed.error.startswith("not sent: ")
    assert "does not fit small:1b with num_ctx 2048" in failed.error
    assert ok.ok and ok.fallback_from == "ollama/small:1b"


@pytest.mark.parametrize(
    "status, wording",
    [
        (400, "the input length exceeds the context length"),  # Ollama
        (500, "request (5000 tokens) exceeds the available context size (4096 tokens), try "
         "increasing it"),  # llama.cpp's server behind a proxy
        (500, "This model's maximum context length is 4096 tokens"),  # OpenAI-compatible
    ],
)  # fmt: skip
def test_an_overflow_in_any_wording_is_named_and_never_retried(fake, status, wording):
    # Fits by scoutcrew's estimate, not by the server's tokenizer: the server refuses it.
    fake.fail_next(status, wording, times=4)
    rt = runtime(fake)
    with pytest.raises(ContextOverflow) as caught:
        rt.complete(["ollama/small:1b"], MESSAGES, task="write")
    assert len(fake.chat_requests) == 1  # not retried
    assert "does not fit small:1b" in str(caught.value) and wording in str(caught.value)


def test_overflow_at_the_end_of_the_chain_fails_clearly(fake):
    rt = runtime(fake)
    long = [{"role": "user", "content": "evidence " * 2000}]
    with pytest.raises(ContextOverflow) as caught:
        rt.complete(["ollama/small:1b"], long, task="analyse")
    message = str(caught.value)
    assert "'analyse'" in message and "num_ctx 2048" in message and "tokens" in message
    # crewai would summarise (cut) the prompt on its own if the message looked like its
    # context errors; it must not.
    from crewai.utilities.agent_utils import is_context_length_exceeded

    assert not is_context_length_exceeded(caught.value)


def test_empty_answer_escalates(fake):
    rt = runtime(fake)
    fake.enqueue({"content": "<think>only thoughts</think>"}, "Real text.")
    _, text, spec = rt.complete(["ollama/qwen3:8b", "ollama/small:1b"], MESSAGES)
    assert (text, spec) == ("Real text.", "ollama/small:1b")
    assert "no text" in rt.ledger.records[0].error


def test_empty_answer_at_the_end_raises(fake):
    fake.enqueue("")
    with pytest.raises(EmptyResponse):
        runtime(fake).complete(["ollama/qwen3:8b"], MESSAGES)


def test_stalled_stream_times_out_and_escalates():
    with FakeOllama(models=MODELS, chunk_delay=5) as slow, FakeOllama(models=MODELS) as quick:
        rt = LLMRuntime(
            ledger=UsageLedger(),
            hosts=[slow.url],
            retry=FAST,
            backend="ollama",
            timeouts=Timeouts(connect=1, chunk=1.0, call=10),
        )
        with pytest.raises(LLMTimeout):
            rt.complete(["ollama/qwen3:8b"], MESSAGES)
        _, _, spec = rt.complete(["ollama/qwen3:8b", f"ollama/qwen3:8b@{quick.url}"], MESSAGES)
        assert spec.endswith(quick.url)


def test_tools_only_go_to_models_with_the_capability(fake):
    rt = runtime(fake)
    tools = [{"type": "function", "function": {"name": "search", "parameters": {}}}]
    rt.complete(["ollama/small:1b"], MESSAGES, tools=tools)
    rt.complete(["ollama/qwen3:8b"], MESSAGES, tools=tools)
    no_caps, with_caps = fake.chat_requests
    assert "tools" not in no_caps["json"]
    assert with_caps["json"]["tools"] == tools
    assert rt.supports_tools("ollama/qwen3:8b") and not rt.supports_tools("ollama/small:1b")


# -- specs, backends, doctor -----------------------------------------------------------------


def test_parse_spec_forms():
    assert parse_spec("ollama/qwen3:8b").name == "qwen3:8b"
    assert parse_spec("ollama/qwen3:8b@gpu:11434").host == "http://gpu:11434"
    assert parse_spec("embedded/default").backend == "embedded"
    with pytest.raises(InvalidModelSpec, match="ollama/NAME"):
        parse_spec("openai/gpt-4")


def test_auto_never_swaps_a_named_model_for_the_embedded_engine():
    rt = LLMRuntime(ledger=UsageLedger(), hosts=[dead_host()], retry=FAST, backend="auto")
    assert rt.resolve_chain(["ollama/qwen3:8b"]) == ["ollama/qwen3:8b"]
    with pytest.raises(OllamaUnreachable) as caught:
        rt.complete(["ollama/qwen3:8b"], MESSAGES)
    message = str(caught.value)
    assert "ollama serve" in message
    assert "--model ollama/qwen3:8b,embedded/default" in message  # the fix: declare a fallback
    assert [r.spec for r in rt.ledger.records] == ["ollama/qwen3:8b"]
    assert not any(r.backend == "embedded" for r in rt.ledger.records)


def test_backend_ollama_drops_embedded_models_and_embedded_replaces_ollama_ones():
    chain = ["ollama/qwen3:8b", "embedded/default"]
    ollama_only = LLMRuntime(ledger=UsageLedger(), hosts=[dead_host()], backend="ollama")
    assert ollama_only.resolve_chain(chain) == ["ollama/qwen3:8b"]
    with pytest.raises(InvalidModelSpec, match="no Ollama model"):
        ollama_only.resolve_chain(["embedded/default"])
    in_process = LLMRuntime(ledger=UsageLedger(), hosts=[dead_host()], backend="embedded")
    assert in_process.resolve_chain(chain) == ["embedded/default"]


def test_chain_options_give_each_model_its_own_num_ctx(fake):
    rt = runtime(fake)
    chain = ["ollama/small:1b", "ollama/qwen3:8b", "ollama/big:14b"]
    per_model = rt.chain_options(chain, {"num_ctx": 2048, "seed": 3}, {"ollama/big:14b": 65536})
    assert per_model["ollama/small:1b"] == {"num_ctx": 2048, "seed": 3}
    assert per_model["ollama/big:14b"] == {"num_ctx": 65536, "seed": 3}
    # a later model without its own setting gets at least what the agent asked of the first
    assert rt.num_ctx("ollama/qwen3:8b", per_model["ollama/qwen3:8b"]) == 8192
    assert rt.num_ctx("ollama/big:14b", per_model["ollama/big:14b"]) == 65536


def test_overflow_escalates_to_a_model_with_its_own_longer_context(fake):
    rt = runtime(fake)
    chain = ["ollama/small:1b", "ollama/big:14b"]
    llm_options = rt.chain_options(chain, {"num_ctx": 1024}, {"ollama/big:14b": 32768})
    long = [{"role": "user", "content": "evidence " * 2000}]  # ~4,000 tokens
    _, text, spec = rt.complete(chain, long, model_options=llm_options)
    assert spec == "ollama/big:14b" and text
    sent = [r["json"]["options"]["num_ctx"] for r in fake.chat_requests]
    assert sent == [32768]  # the prompt did not fit 1024: not sent to the small model
    assert rt.ledger.records[-1].fallback_from == "ollama/small:1b"


def test_auto_with_ollama_keeps_the_chain(fake):
    rt = LLMRuntime(ledger=UsageLedger(), hosts=[fake.url], backend="auto")
    assert rt.resolve_chain(["ollama/qwen3:8b", "embedded/default"]) == [
        "ollama/qwen3:8b",
        "embedded/default",
    ]


def test_doctor_reports_version_models_and_fixes(fake):
    rt = runtime(fake)
    lines = run_doctor(rt, ["ollama/qwen3:8b", "ollama/absent:7b"])
    host, present, absent, engine = lines
    assert engine.subject == "embedded/default"  # every backend is reported
    assert host.ok and "0.13.0" in host.message
    assert present.ok and "40960" in present.message and "num_ctx used 8192" in present.message
    assert "tools" in present.message
    assert not absent.ok and absent.fix == "ollama pull absent:7b"
    text = format_doctor(lines)
    assert "FAIL" in text and "ollama pull absent:7b" in text


def test_doctor_when_ollama_is_down():
    rt = LLMRuntime(ledger=UsageLedger(), hosts=[dead_host()], retry=FAST, backend="ollama")
    lines = run_doctor(rt, ["ollama/qwen3:8b"])
    assert not lines[0].ok and "ollama serve" in lines[0].fix
    assert not lines[1].ok


# -- a real crewai crew ----------------------------------------------------------------------


def _crew(llm, tools=()):
    from crewai import Agent, Crew, Process, Task

    agent = Agent(
        role="Researcher",
        goal="Answer briefly",
        backstory="You read sources.",
        llm=llm,
        tools=list(tools),
        max_retry_limit=0,
        respect_context_window=False,
        max_iter=3,
    )
    task = Task(
        name="research",
        description="What is the answer?",
        expected_output="One line.",
        agent=agent,
    )
    return Crew(agents=[agent], tasks=[task], process=Process.sequential)


def test_a_real_crew_runs_on_the_native_backend(fake):
    rt = runtime(fake)
    llm = rt.llm_for(["ollama/small:1b"], {"num_ctx": 1024}, agent="researcher")
    fake.enqueue("The answer is 42, without any ReAct format.")
    result = _crew(llm).kickoff()
    assert result.raw == "The answer is 42, without any ReAct format."
    # One call: the plain answer was accepted as final, no format re-prompt.
    (request,) = fake.chat_requests
    assert request["json"]["options"]["num_ctx"] == 1024
    assert request["json"]["truncate"] is False
    assert "What is the answer?" in request["json"]["messages"][-1]["content"]
    assert not [p for p in fake.paths() if p.startswith("/v1")]
    (record,) = rt.ledger.records
    assert (record.agent, record.task) == ("researcher", "research")
    assert record.prompt_tokens == request_prompt_tokens(request)


def request_prompt_tokens(request):
    return count_prompt_tokens(request["json"]["messages"], request["json"].get("tools"))


def test_a_crew_agent_uses_native_tools_when_the_model_has_them(fake):
    from crewai.tools import tool

    calls = []

    @tool("lookup")
    def lookup(query: str) -> str:
        """Look a fact up."""
        calls.append(query)
        return "the fact is 42"

    rt = runtime(fake)
    llm = rt.llm_for(["ollama/qwen3:8b"], None, agent="researcher")
    fake.enqueue(
        {"tool_calls": [{"function": {"name": "lookup", "arguments": {"query": "answer"}}}]},
        "It is 42.",
    )
    result = _crew(llm, [lookup]).kickoff()
    assert calls == ["answer"]
    assert result.raw == "It is 42."
    first, second = fake.chat_requests
    assert first["json"]["tools"][0]["function"]["name"] == "lookup"
    tool_messages = [m for m in second["json"]["messages"] if m["role"] == "tool"]
    assert tool_messages and "42" in tool_messages[0]["content"]


def test_a_crew_agent_on_a_model_without_tools_gets_no_native_tools(fake):
    from crewai.tools import tool

    @tool("lookup")
    def lookup(query: str) -> str:
        """Look a fact up."""
        return "the fact is 42"

    rt = runtime(fake)
    llm = rt.llm_for(["ollama/small:1b"], None, agent="researcher")
    fake.enqueue("Thought: I know it.\nFinal Answer: 42")
    result = _crew(llm, [lookup]).kickoff()
    assert result.raw == "42"
    assert all("tools" not in r["json"] for r in fake.chat_requests)


def test_an_answer_in_the_wrong_format_escalates(fake):
    from pydantic import BaseModel

    class Verdict(BaseModel):
        supported: bool
        reason: str

    rt = runtime(fake)
    llm = rt.llm_for(["ollama/small:1b", "ollama/qwen3:8b"], None, agent="checker")
    fake.enqueue("I think it is supported.", '{"supported": true, "reason": "S1 says so"}')
    verdict = llm.call("Is the claim supported?", response_model=Verdict)
    assert verdict == Verdict(supported=True, reason="S1 says so")
    first, second = fake.chat_requests
    assert first["json"]["format"]["properties"]["supported"]["type"] == "boolean"
    bad, good = rt.ledger.records
    assert not bad.ok and "not valid Verdict JSON" in bad.error
    assert good.ok and good.fallback_from == "ollama/small:1b"


def test_doctor_warns_about_a_dead_failover_host(fake):
    rt = LLMRuntime(ledger=UsageLedger(), hosts=[fake.url, dead_host()], backend="ollama")
    up, down, model, _engine = run_doctor(rt, ["ollama/qwen3:8b"])
    assert up.ok and up.level == "ok"
    assert down.ok and down.level == "warn" and "not reachable" in down.message
    assert model.ok


def test_a_busy_api_show_is_retried_too(fake):
    rt = runtime(fake)
    fake.fail_next(503, times=1, path="/api/show")
    assert rt.num_ctx("ollama/small:1b") == 2048
    assert [p for p in fake.paths() if p == "/api/show"] == ["/api/show", "/api/show"]
