"""Citations by construction, output caps and overflows, through real crews on the fake Ollama."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scoutcrew.cli import main
from scoutcrew.config.project import find_project
from scoutcrew.errors import OutputFormatError
from scoutcrew.llm.cited import CitedTask, fact_keys, parse_select, parse_write
from scoutcrew.run.execute import run_crew
from scoutcrew.run.options import RunOptions
from scoutcrew.testing.fake_ollama import LLAMACPP_OVERFLOW_ERROR, FakeOllama
from scoutcrew.testing.scripts import NOTE_MARK, scripted_reader

PROMPT = (
    "- Northwind Labs released Kestrel-7B under an Apache-2.0 licence [S1]\n"
    "- Hospitals in Linden cut waiting times by 40 percent [S2]\n"
)
TASK = CitedTask(name="write", ids=["S1", "S2"], instructions="Write the digest for the reader.")


def answer(*sentences: tuple[list[str], str], heading: str = "News") -> str:
    rows = [{"ids": ids, "text": text} for ids, text in sentences]
    return json.dumps({"sections": [{"heading": heading, "sentences": rows}]})


def test_code_places_the_markers_and_drops_what_is_not_a_claim() -> None:
    text = answer(
        (["S1"], "Northwind Labs released Kestrel-7B under an open licence [S9]."),
        (["S1"], "Waiting times in Linden hospitals fell by 40 percent."),  # names the wrong id
        (["S2"], "**S#1**:"),  # a label
        (["S2"], "Write the digest for the reader."),  # an echo of the prompt
        (["S1", "S2"], "Northwind Labs released Kestrel-7B under an open licence."),  # again
    )
    cited = parse_write(text, TASK, PROMPT)
    assert cited.markdown == (
        "Northwind Labs released Kestrel-7B under an open licence [S1]. "
        "Waiting times in Linden hospitals fell by 40 percent [S2]."
    )
    assert cited.moved == 1 and cited.sentences == 2
    assert "**S#1**:".strip("*") not in cited.markdown and len(cited.dropped) == 3


def test_each_sentence_of_a_text_gets_its_own_markers() -> None:
    text = answer(
        (
            ["S1", "S2"],
            "Northwind Labs released Kestrel-7B under an Apache-2.0 licence. Hospitals in "
            "Linden cut waiting times by 40 percent. Hospitals in Linden cut waiting times by "
            "40 percent.",
        )
    )
    cited = parse_write(text, TASK, PROMPT)
    assert cited.markdown == (
        "Northwind Labs released Kestrel-7B under an Apache-2.0 licence [S1]. "
        "Hospitals in Linden cut waiting times by 40 percent [S2]."
    )


def test_an_answer_without_a_cited_claim_is_a_format_error() -> None:
    with pytest.raises(OutputFormatError, match="no cited sentence"):
        parse_write(answer((["S1"], "Here is the digest you asked for.")), TASK, PROMPT)
    with pytest.raises(OutputFormatError, match="not JSON"):
        parse_write("Sure! The digest: [S1]", TASK, PROMPT)


def test_select_copies_the_chosen_facts_with_their_own_ids() -> None:
    facts = fact_keys(PROMPT, TASK.ids)
    assert [key for key, _c, _i in facts] == ["F1", "F2"]
    bullets = CitedTask(name="collect", ids=["S1", "S2"], style="bullets")
    cited = parse_select('{"facts": ["F2", "F9", "F2", "F1"]}', bullets, facts)
    assert cited.markdown == (
        "- Hospitals in Linden cut waiting times by 40 percent [S2]\n"
        "- Northwind Labs released Kestrel-7B under an Apache-2.0 licence [S1]"
    )


def task_of(body: dict) -> str:
    text = "\n".join(str(m.get("content") or "") for m in body["messages"])
    if "Write the digest" in text:
        return "write_digest"
    if "name the 2 to 4 themes" in text:
        return "analyse"
    return "collect"


def crew_reply(request: dict) -> str:
    """A model that cites the first two sources, and a writer that never stops."""
    if task_of(request) == "write_digest":
        return "Final Answer: " + "The digest goes on and on about local models [S1]. " * 400
    return "- Local inference got faster [S1]\n- A new open-weights model shipped [S2]"


def test_a_runaway_task_is_capped_and_the_run_writes_its_report(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tasks = (project_dir / "tasks.yaml").read_text()
    # The digest asked for as free text: the runaway reaches the report as the model wrote it.
    tasks = tasks.replace("    heading: Digest\n", "    heading: Digest\n    format: text\n", 1)
    (project_dir / "tasks.yaml").write_text(tasks)
    with FakeOllama(default_reply=scripted_reader(crew_reply)) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        result = run_crew(
            find_project(project_dir),
            "demo",
            RunOptions(backend="ollama", output_dir=tmp_path, model=["ollama/qwen3:8b"]),
        )
        writes = [
            r["json"]
            for r in server.chat_requests
            if task_of(r["json"]) == "write_digest"
            and not str(r["json"]["messages"][0]["content"]).startswith(NOTE_MARK)
        ]
    assert result.status == "ok" and result.report.is_file()
    # "A Markdown digest of 200 to 400 words": a cap sized from the task, not the context.
    assert writes[0]["options"]["num_predict"] == 840 and "format" not in writes[0]
    doc = json.loads(result.paths.json.read_text())
    assert doc["cut"] == ["write_digest"]
    models = result.report.read_text().split("## Models", 1)[1]
    assert "write_digest (writer): ollama/qwen3:8b; written answer cut at its output cap" in (
        models.replace("\\", "")
    )


def test_an_overflow_answered_by_the_server_ends_the_run_partial_with_a_report(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOllama(default_reply=scripted_reader(crew_reply)) as server:
        # llama.cpp's server behind an Ollama-compatible proxy: its wording, with a 500.
        server.fail_matching(
            lambda body: task_of(body) == "write_digest", 500, LLAMACPP_OVERFLOW_ERROR
        )
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        argv = ["--project", str(project_dir), "run", "demo", "--model", "ollama/qwen3:8b"]
        assert main(argv) == 3
        writes = [r for r in server.chat_requests if task_of(r["json"]) == "write_digest"]
    out, err = capsys.readouterr()
    assert len(writes) == 1  # recognised as an overflow: never retried
    assert "partial: the crew stopped" in err and "does not fit qwen3:8b" in err
    report = Path(out.strip().splitlines()[-1]).read_text()
    assert "Not written: task write_digest stopped" in report
    from scoutcrew.store.db import Store

    with Store.open(find_project(project_dir).data_dir / "scoutcrew.sqlite") as store:
        assert not store.delivered("demo")  # the sources stay new for the next run
