"""The capability probe, `doctor --probe`, and messages that name what really went wrong."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from scoutcrew.cli import main
from scoutcrew.config.project import find_project
from scoutcrew.errors import NotOllama
from scoutcrew.llm.ledger import UsageLedger
from scoutcrew.llm.runtime import LLMRuntime
from scoutcrew.run.execute import run_crew
from scoutcrew.run.options import RunOptions
from scoutcrew.testing.fake_ollama import FakeOllama
from scoutcrew.testing.scripts import scripted_reader

CAPABLE = json.dumps(
    {
        "sections": [
            {
                "heading": "News",
                "sentences": [
                    {"ids": ["S2"], "text": "Linden hospitals cut waiting times by 40 percent."},
                    {"ids": ["S3"], "text": "The Heron harbour closes for two weeks in May."},
                ],
            }
        ]
    }
)
MIXED_UP = CAPABLE.replace('"S2"', '"SX"').replace('"S3"', '"S2"').replace('"SX"', '"S3"')


def probe_script(cites: str, *, rambles: bool = False, tools: bool = True) -> Any:
    """A model answering the probe's three questions; `cites` for the cited-JSON one."""

    def reply(body: dict) -> Any:
        text = str(body["messages"][-1]["content"])
        if body.get("tools"):
            if not tools:
                return "It is sunny in Paris."
            call = {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
            return {"content": "", "tool_calls": [call]}
        if "what is a harbour" in text:
            return "A harbour is a sheltered place for ships. " * (40 if rambles else 1)
        return cites

    return reply


def runtime(fake: FakeOllama, tmp_path: Path) -> LLMRuntime:
    return LLMRuntime(
        ledger=UsageLedger(), hosts=[fake.url], data_dir=tmp_path / "data", probe="auto"
    )


def test_a_capable_model_is_measured_once_and_writes_cited_sentences(tmp_path: Path) -> None:
    with FakeOllama(default_reply=probe_script(CAPABLE)) as fake:
        rt = runtime(fake, tmp_path)
        profile = rt.profile("ollama/qwen3:8b")
        assert profile is not None
        assert (profile.follows_schema, profile.keeps_ids, profile.within_cap) == (True,) * 3
        assert profile.native_tools is True and profile.writer == "write"
        assert profile.notes_batch is None and profile.context_length == 8192  # from /api/ps
        assert {r.task for r in rt.ledger.records} == {"probe"} and len(rt.ledger.records) == 3
        calls = len(fake.chat_requests)
        # Cached per model digest: another run (a new runtime) does not probe again.
        again = runtime(fake, tmp_path).profile("ollama/qwen3:8b")
        assert again is not None and again.digest == profile.digest
        assert len(fake.chat_requests) == calls
    assert "writer cited sentences (JSON), tools native" in profile.summary()


def test_a_model_that_mixes_up_ids_chooses_facts_and_reads_one_source_at_a_time(
    tmp_path: Path,
) -> None:
    with FakeOllama(default_reply=probe_script(MIXED_UP, rambles=True, tools=False)) as fake:
        profile = runtime(fake, tmp_path).profile("ollama/qwen3:8b")
    assert profile is not None and profile.follows_schema and not profile.keeps_ids
    assert not profile.within_cap and profile.native_tools is False
    assert profile.writer == "select" and profile.notes_batch == 1
    assert "writer chosen facts (JSON), tools none, one source per notes call" in (
        profile.summary()
    )


def test_a_run_probes_its_model_and_the_report_says_what_it_found(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def crew(body: dict) -> Any:
        return (
            probe_script(MIXED_UP, tools=False)(body)
            if body.get("tools")
            or (
                "Linden" in str(body["messages"][-1]["content"])
                or "what is a harbour" in str(body["messages"][-1]["content"])
            )
            else "- Local inference got faster [S1]"
        )

    monkeypatch.setenv("SCOUTCREW_PROBE", "auto")
    with FakeOllama(default_reply=scripted_reader(crew)) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        result = run_crew(
            find_project(project_dir),
            "demo",
            RunOptions(backend="ollama", output_dir=tmp_path, model=["ollama/qwen3:8b"]),
        )
        formats = [r["json"].get("format") for r in fake.chat_requests]
        chosen = [
            "\n".join(str(m["content"]) for m in r["json"]["messages"] if m["role"] == "user")
            for r in fake.chat_requests
            if "facts" in (r["json"].get("format") or {}).get("properties", {})
        ]
    assert result.status == "ok"
    # The writing tasks asked the model to choose facts, as its profile allows.
    assert sum(1 for f in formats if f and "facts" in f.get("properties", {})) == 3
    # The evidence reaches the model once, as the facts to choose from, not also as sources.
    collect = chosen[0]
    assert "F1: " in collect and "BEGIN SOURCES" not in collect
    assert collect.count("Local inference") <= 1
    models = result.report.read_text().split("## Models", 1)[1].replace("\\", "")
    assert "ollama/qwen3:8b: probed" in models and "keeps ids no" in models
    assert "collect (researcher): ollama/qwen3:8b; written as chosen facts (JSON schema)" in models


def test_doctor_probe_prints_the_profile(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOllama(default_reply=probe_script(CAPABLE)) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        code = main(["--project", str(project_dir), "doctor", "--probe", "ollama/qwen3:8b"])
    out = capsys.readouterr().out
    assert code == 0 and "JSON schema yes, keeps ids yes" in out and "tokens/s" in out


def test_doctor_checks_that_a_listed_model_answers(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOllama() as fake:
        fake.fail_next(500, "llama runner process has terminated: signal: killed", times=8)
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        code = main(["--project", str(project_dir), "doctor", "--model", "ollama/qwen3:8b"])
    out = capsys.readouterr().out
    assert code == 1 and "listed, but it does not answer" in out and "runner process" in out
    assert "pulled" not in out


class _NotOllama(BaseHTTPRequestHandler):
    """A web server (a proxy, an OpenAI-compatible server) without Ollama's routes."""

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        self.send_response(404)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "18")
        self.end_headers()
        self.wfile.write(b"404 page not found")

    do_GET = do_POST = _answer


@pytest.fixture
def not_ollama() -> Any:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotOllama)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_server_that_is_not_ollama_is_named_as_such(
    not_ollama: str, project_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    rt = LLMRuntime(ledger=UsageLedger(), hosts=[not_ollama])
    with pytest.raises(NotOllama) as caught:
        rt.complete(["ollama/qwen3:8b"], [{"role": "user", "content": "hi"}])
    message = str(caught.value)
    assert f"the server at {not_ollama} is not Ollama" in message and "404" in message
    assert "ollama pull" not in message
    monkeypatch.setenv("OLLAMA_HOST", not_ollama)
    argv = ["--project", str(project_dir), "run", "demo", "--model", "ollama/qwen3:8b"]
    assert main([*argv, "--backend", "ollama"]) == 1
    err = capsys.readouterr().err
    assert "is not Ollama" in err and "ollama pull" not in err and "not reachable" not in err
