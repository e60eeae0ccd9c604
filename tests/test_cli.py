"""The real CLI: exit codes, messages, and start-up without crewai."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scoutcrew.cli import main


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed console script as a user would."""
    exe = Path(sys.executable).with_name("scoutcrew")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "scoutcrew.cli"]
    return subprocess.run(
        [*command, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=os.environ
    )


def test_validate_ok_and_list(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(project_dir), "validate"]) == 0
    assert "4 agents, 6 tasks" in capsys.readouterr().out
    assert main(["--project", str(project_dir), "list"]) == 0
    out = capsys.readouterr().out
    assert "  demo " in out and "[default]" in out
    assert "topic-brief" in out and "(needs --input topic)" in out
    assert "  researcher " in out and "  write_digest " in out


def test_validate_reports_misspelled_key_from_a_subfolder(project_dir: Path) -> None:
    agents = project_dir / "agents.yaml"
    agents.write_text(agents.read_text().replace("  goal: >-", "  gaol: >-", 1))
    result = run_cli("validate", cwd=project_dir / "crews")  # found by searching upward
    assert result.returncode == 1
    assert "agents.yaml:" in result.stderr
    assert "researcher.gaol: unknown key 'gaol' (did you mean 'goal'?)" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_project_is_a_clean_error(tmp_path: Path) -> None:
    result = run_cli("list", cwd=tmp_path)
    assert result.returncode == 1
    assert "no scoutcrew project" in result.stderr and "--project DIR" in result.stderr


def test_help_validate_and_list_do_not_import_crewai(project_dir: Path) -> None:
    code = (
        "import sys\n"
        "from scoutcrew.cli import main\n"
        "for argv in (['validate'], ['list']):\n"
        "    assert main(['--project', sys.argv[1], *argv]) == 0\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = {'crewai', 'litellm', 'xllamacpp', 'ray'}\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(project_dir)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


def test_run_with_missing_input_exits_non_zero(project_dir: Path) -> None:
    result = run_cli("run", "topic-brief", cwd=project_dir)
    assert result.returncode == 1
    assert "needs 'topic': pass --input topic=..." in result.stderr


def test_unknown_crew_and_bad_model(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(project_dir), "run", "nope"]) == 1
    assert "no crew 'nope'" in capsys.readouterr().err
    assert main(["--project", str(project_dir), "run", "demo", "--model", "gpt4"]) == 1
    assert "'gpt4' is not a model spec" in capsys.readouterr().err


def test_plan_prints_the_evidence_pack_without_any_model(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # OLLAMA_HOST points at a dead port (conftest): no model server exists at all.
    argv = ["--project", str(project_dir), "plan", "demo", "--backend", "ollama"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Gathered 28 items" in out and "3 feeds (3 fetched" in out
    assert "New, to be read: 27 sources" in out and "[S1] " in out
    assert "Left out: 1 duplicate" in out  # the story told by two feeds became one source
    assert "notes: 27 sources to read in 1 calls" in out
    assert "crew: 3 tasks" in out and "no model was called" in out
    assert "no measured speed for ollama/qwen3:8b" in out
