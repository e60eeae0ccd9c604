"""A real run whose model writes a wrong figure, a negation and a wrong name: the claim check
calls all three contradicted, the writer gets them back once, and what still fails is marked
inline. A sentence that adds detail is only not confirmed: the judge is asked about it alone.

Real crewai Crew, real pipeline (run_crew), the fake Ollama server on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from servekit import LAB_NOTES_CREW as CREW

from scoutcrew.config.project import find_project
from scoutcrew.errors import ConfigError
from scoutcrew.run.execute import run_crew
from scoutcrew.run.options import RunOptions
from scoutcrew.testing.fake_ollama import FakeOllama
from scoutcrew.testing.scripts import free_text_tasks, scripted_reader


def prompt_text(body: dict) -> str:
    return "\n".join(str(m.get("content") or "") for m in body["messages"])


class Script:
    """Answer each task like a small model would; remember which [S#] each item got."""

    def __init__(self, repair: str = "fix", judge: str | None = None, extra: str = "") -> None:
        self.ids: dict[str, str] = {}
        self.repair = repair
        self.judge = judge
        self.extra = extra  # one more sentence about the speculative decoding item
        self.repair_prompts: list[str] = []
        self.judge_prompts: list[str] = []

    def sid(self, words: str) -> str:
        return next(i for i, title in self.ids.items() if words in title)

    def digest(self) -> str:
        k, p, a, s = (
            self.sid(w) for w in ("Kestrel", "Prompt caching", "agent failures", "Speculative")
        )
        return (
            f"Northwind Labs released Kestrel-7B with a 256k context window [{k}]. "
            f"Putting fixed instructions first did not cut prompt processing time [{p}]. "
            f"Researchers at Stanford traced 2,400 failed runs of tool-using agents [{a}]. "
            f"Early user reports show 1.5x to 2.3x faster generation for code, especially with "
            f"speculative decoding [{s}]." + (f" {self.extra} [{s}]." if self.extra else "")
        )

    def __call__(self, request: dict) -> str:
        text = prompt_text(request)
        if "failed a fact check" in text:
            self.repair_prompts.append(text)
            return self.repair_answer(text)
        if "strict fact checker" in text:
            self.judge_prompts.append(text)
            return self.judge or "[]"
        if "Write the digest" in text:
            return "Final Answer: " + self.digest()
        if "name the 2 to 4 themes" in text:
            return "Final Answer: Theme: local inference gets cheaper [S1]."
        return "Final Answer: - Kestrel-7B reads 128k tokens [S1]"

    def notes(self, request: dict) -> str:
        """Notes as a careful reader takes them; remember which [S#] each item got."""
        text = prompt_text(request)
        for sid, title in re.findall(r"^\[(S\d+)\] [^\n]*\n> ([^\n]*)", text, re.M):
            self.ids[sid] = title
        return scripted_reader(self)(request)

    def repair_answer(self, text: str) -> str:
        k, p, a = (self.sid(w) for w in ("Kestrel", "Prompt caching", "agent failures"))
        if self.repair == "remove":
            return "1: REMOVE\n2: REMOVE\n3: REMOVE"
        return (
            "Final Answer:\n"
            f"1: Northwind Labs released Kestrel-7B with a 128k context window [{k}].\n"
            f"2: Putting fixed instructions first cut prompt processing time by 40 to 70 "
            f"percent [{p}].\n"
            f"3: Researchers at MIT traced 2,400 failed runs of tool-using agents [{a}]."
        )


def run(project_dir: Path, tmp_path: Path, monkeypatch, script: Script, verify: str = ""):
    (project_dir / "crews" / "checked.yaml").write_text(CREW + verify)
    free_text_tasks(project_dir)  # the claim check of free text, as a crew may ask for it
    with FakeOllama(default_reply=script.notes) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        result = run_crew(
            find_project(project_dir),
            "checked",
            RunOptions(backend="ollama", output_dir=tmp_path / "out"),
        )
    assert result.status == "ok"
    md = result.paths.md.read_text()
    data = json.loads(result.paths.json.read_text())
    return result, md, data


def test_a_wrong_figure_negation_and_name_are_caught_repaired_or_marked(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Script()
    result, md, data = run(project_dir, tmp_path, monkeypatch, script)

    # One repair call with all three sentences, their sources and what is wrong.
    assert len(script.repair_prompts) == 1
    prompt = script.repair_prompts[0]
    assert "256k" in prompt and "gives 128k" in prompt
    assert "did not cut" in prompt and "contradicts" in prompt
    assert '"Stanford" where' in prompt and '"Halden Institute"' in prompt
    assert prompt.count("contradicted by its sources") == 3
    assert "speculative decoding" not in prompt.split("Sources:")[0].lower()  # it passed

    # Two repairs held; the third is still wrong and stays visible, with its reason.
    assert "with a 128k context window" in md and "256k" not in md.split("## References")[0]
    assert "cut prompt processing time by 40 to 70 percent" in md
    marked = re.search(r"Researchers at MIT traced [^\n]*?\]\.\[\^c1\]", md)
    assert marked, md
    assert re.search(r"^\[\^c1\]: contradicted \(entity\): .*MIT", md, re.M)
    page = result.paths.html.read_text()
    assert 'class="claim-flag contradicted"><a href="#claim-1"' in page and 'id="claim-1"' in page

    trust = md.rstrip().split("\n")[-1]
    assert trust == "Trust: 3 of 4 factual sentences supported; 2 repaired; 1 contradicted (entity)"
    claims = {c["sentence"]: c for c in data["citations"]}
    mit = next(c for s, c in claims.items() if "MIT" in s)
    assert (mit["supported"], mit["verdict"], mit["kind"]) == (False, "contradicted", "entity")
    kestrel = next(c for s, c in claims.items() if "Kestrel" in s)
    assert kestrel["repaired"] and "256k" in kestrel["original"]
    flags = [f for f in data["flags"] if f["kind"] == "contradicted"]
    assert [(f["claim_class"], f["marker"]) for f in flags] == [("entity", 1)]
    assert data["trust"]["contradicted"] == {"entity": 1} and data["trust"]["not_confirmed"] == {}

    # The repair's tokens are in the ledger, the report's usage and the run record.
    repair_calls = [r for r in result.usage if r.task == "repair"]
    assert len(repair_calls) == 1 and repair_calls[0].prompt_tokens > 0
    assert any(u["task"] == "repair" for u in data["usage"])


def test_with_repair_off_all_three_are_marked_with_their_class(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Script()
    _, md, data = run(project_dir, tmp_path, monkeypatch, script, "verify: {repair: 0}\n")

    assert script.repair_prompts == []
    body = md.split("## References")[0]
    assert body.count("[^c") == 3 * 2  # three markers, three footnotes
    classes = [f["claim_class"] for f in data["flags"] if f["kind"] == "contradicted"]
    assert classes == ["figure", "polarity", "entity"]
    assert re.search(r"256k context window \[S\d+\]\.\[\^c1\]", md)
    assert re.search(r"^\[\^c1\]: contradicted \(figure\): .*gives 128k", md, re.M)
    assert md.rstrip().endswith(
        "Trust: 1 of 4 factual sentences supported; 3 contradicted (1 figure, 1 polarity, 1 entity)"
    )


class MixesUpIds(Script):
    """The same writer, which the capability probe finds citing the wrong source ids."""

    def notes(self, request: dict) -> str:
        from test_probe import MIXED_UP, probe_script

        last = str(request["messages"][-1]["content"])
        if request.get("tools") or "Linden" in last or "what is a harbour" in last:
            return probe_script(MIXED_UP, tools=False)(request)
        return super().notes(request)


def test_a_writer_the_probe_found_mixing_up_ids_is_not_asked_to_repair(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCOUTCREW_PROBE", "auto")
    script = MixesUpIds()
    _, md, data = run(project_dir, tmp_path, monkeypatch, script)

    assert script.repair_prompts == []  # no tokens on a rewrite the model cannot be trusted with
    assert "repair skipped: the probe found that ollama/qwen3:8b mixes up source ids" in md
    classes = [f["claim_class"] for f in data["flags"] if f["kind"] == "contradicted"]
    assert classes == ["figure", "polarity", "entity"]  # still marked, each with its reason
    assert not any(u["task"] == "repair" for u in data["usage"])


def test_a_sentence_the_writer_removes_is_listed_not_hidden(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, md, data = run(project_dir, tmp_path, monkeypatch, Script(repair="remove"))
    assert "Stanford" not in md.split("## References")[0]
    assert len(data["trust"]["removed_on_repair"]) == 3
    assert md.rstrip().endswith("Trust: 1 of 1 factual sentences supported")


EXTRA = "The runtimes also moved their GPU kernels to Vulkan and cut memory use by a third"


def test_the_judge_is_asked_about_not_confirmed_sentences_only_and_changes_nothing(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    verdict = '[{"n": 1, "verdict": "supported", "reason": "the runtimes changed, it says so"}]'
    script = Script(judge=verdict, extra=EXTRA)
    result, md, data = run(
        project_dir,
        tmp_path,
        monkeypatch,
        script,
        "verify: {judge: ollama/qwen3:8b, repair: 0}\n",
    )
    assert len(script.judge_prompts) == 1  # one batched call
    prompt = script.judge_prompts[0]
    assert "Vulkan" in prompt
    assert "Stanford" not in prompt and "256k" not in prompt  # contradicted: the code decided
    assert "especially with speculative decoding" not in prompt  # supported: not asked either
    judged = [c for c in data["citations"] if c["judge"]]
    assert len(judged) == 1 and judged[0]["judge"]["verdict"] == "supported"
    # Recorded beside the code's verdict, never instead of it.
    assert judged[0]["verdict"] == "not-confirmed" and not judged[0]["supported"]
    assert [r.task for r in result.usage].count("judge") == 1
    assert data["trust"]["review"]["judge"] == "ollama/qwen3:8b"
    assert md.rstrip().endswith(
        "Trust: 1 of 5 factual sentences supported; 3 contradicted (1 figure, 1 polarity, "
        "1 entity); 1 not confirmed (the model judge calls 1 of 1 supported)"
    )


def test_a_judge_that_answers_out_of_format_changes_nothing(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Script(judge="Sure! All of these look fine to me.", extra=EXTRA)
    _, md, data = run(
        project_dir, tmp_path, monkeypatch, script, "verify: {judge: ollama/qwen3:8b, repair: 0}\n"
    )
    assert script.judge_prompts  # it was asked
    assert not [c for c in data["citations"] if c["judge"]]
    assert [c["verdict"] for c in data["citations"]] == [
        "contradicted", "contradicted", "contradicted", "supported", "not-confirmed"
    ]  # fmt: skip
    assert md.rstrip().endswith("1 not confirmed")


def test_not_confirmed_sentences_are_repaired_only_when_the_crew_asks(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Script(repair="remove", extra=EXTRA)
    _, _, data = run(project_dir, tmp_path, monkeypatch, script)
    assert "Vulkan" not in script.repair_prompts[0]  # contradicted ones only, by default
    assert "Vulkan" in next(c["sentence"] for c in data["citations"] if c["verdict"] != "supported")


def test_a_crew_can_ask_for_not_confirmed_sentences_to_be_repaired_after_the_rest(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Script(repair="remove", extra=EXTRA)
    run(project_dir, tmp_path, monkeypatch, script, "verify: {repair_not_confirmed: true}\n")
    prompt = script.repair_prompts[0]
    # Contradicted first, then the not-confirmed one.
    assert prompt.index("Stanford") < prompt.index("Vulkan")
    assert "not confirmed by its sources" in prompt


def test_verify_settings_are_validated_strictly(project_dir: Path) -> None:
    (project_dir / "crews" / "checked.yaml").write_text(
        CREW + "verify: {judge: gpt-4, rounds: 2}\n"
    )
    with pytest.raises(ConfigError) as info:
        run_crew(find_project(project_dir), "checked")
    message = str(info.value)
    assert "rounds" in message and "gpt-4" in message
    (project_dir / "crews" / "checked.yaml").write_text(
        CREW + "verify: {repair_not_confirmed: maybe}\n"
    )
    with pytest.raises(ConfigError) as info:
        run_crew(find_project(project_dir), "checked")
    assert "repair_not_confirmed" in str(info.value)
