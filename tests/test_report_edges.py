"""Small things a reader notices: scoutcrew's own text reads the same in the Markdown and on the
page, and the README says each thing once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from servekit import fake_ollama

from scoutcrew.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOWN = "http://127.0.0.1:9"


def test_a_failed_host_reads_the_same_in_the_markdown_and_the_page(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with fake_ollama() as ollama:
        chain = f"ollama/qwen3:8b@{DOWN},ollama/qwen3:8b@{ollama.url}"
        assert main(["--project", str(project_dir), "run", "demo", "--model", chain]) == 0
    report = Path(capsys.readouterr().out.strip().splitlines()[-1])
    models = report.read_text().split("## Models", 1)[1].split("\n## ", 1)[0].split("---")[0]
    page = report.with_suffix(".html").read_text()
    page_models = page.split("<h2>Models</h2>", 1)[1].split("</ul>", 1)[0]
    # Not a link in either, and the same address in both: http, not "hxxp".
    assert f"Ollama is not reachable at `{DOWN}`: start it with `ollama serve`" in models
    assert "hxxp" not in models and "\\`" not in models
    assert f"Ollama is not reachable at <code>{DOWN}</code>" in page_models
    assert "<code>ollama serve</code>" in page_models and "`" not in page_models
    assert "<a " not in page_models


def test_the_readme_says_how_it_is_built_once_and_names_real_modules() -> None:
    readme = (ROOT / "README.md").read_text()
    built = readme.split("## How it is built", 1)[1].split("\n## ", 1)[0]
    paragraphs = [" ".join(p.split()) for p in built.split("\n\n") if p.strip()]
    for i, first in enumerate(paragraphs):  # nothing said twice, not even cut short
        for second in paragraphs[i + 1 :]:
            assert not second.startswith(first[:60]), first[:60]
    for path in re.findall(r"`([a-z_]+/)`", built):
        assert (ROOT / "src" / "scoutcrew" / path).is_dir(), path
    for dotted in re.findall(r"`(scoutcrew(?:\.\w+)+)", built):
        module, _, name = dotted.rpartition(".")
        imported = __import__(module, fromlist=[name])
        assert hasattr(imported, name), dotted
