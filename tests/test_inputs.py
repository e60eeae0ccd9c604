"""What a user types as an input is data: braces in `--input` reach the model as typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from servekit import fake_ollama

from scoutcrew.cli import main
from scoutcrew.config.templates import as_literal, fill, placeholders
from scoutcrew.testing.scripts import crew_requests


def _prompt(request: dict) -> str:
    return "\n".join(str(m.get("content") or "") for m in request["json"]["messages"])


@pytest.mark.parametrize("topic", ["C++ {templates}", "} {{x}} {evidence} {topic} {"])
def test_braces_in_an_input_reach_the_crew_and_the_report_as_typed(
    project_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    topic: str,
) -> None:
    with fake_ollama() as ollama:
        monkeypatch.setenv("OLLAMA_HOST", ollama.url)
        code = main(
            ["--project", str(project_dir), "run", "demo", "--backend", "ollama"]
            + ["--input", f"topic={topic}"]
        )
        prompts = [_prompt(r) for r in crew_requests(ollama.chat_requests)]
    out, err = capsys.readouterr()
    assert code == 0, err
    assert len(prompts) == 3 and all(topic in p for p in prompts), prompts
    # The evidence went where {evidence} stood, not where the topic says "{evidence}".
    assert "[S1]" in prompts[0]
    assert all(p.count("{evidence}") == p.count(topic) * topic.count("{evidence}") for p in prompts)
    report = Path(out.strip().splitlines()[-1])
    assert json.loads(report.with_suffix(".json").read_text())["title"] == f"Demo digest: {topic}"


def test_a_lone_brace_in_yaml_text_is_literal() -> None:
    assert placeholders("a } b { c {x} {{y}}") == {"x"}
    assert fill("a } b { c {x}", {"x": "1"}) == "a } b { c 1"
    assert fill(as_literal("{a} }{"), {}) == "{a} }{"
