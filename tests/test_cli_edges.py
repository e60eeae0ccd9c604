"""The command line where it used to mislead: options after the command, `plan` and `doctor`
with a model chain that falls back (or not), an Ollama that answers only errors, and a
failure said once per run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile import errors_only
from servekit import fake_ollama

from scoutcrew.cli import main

DOWN = "http://127.0.0.1:9"


def _cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "scoutcrew.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
    )


def test_global_options_work_after_the_command(project_dir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    missing = _cli("run", "nope", "--project", str(project_dir), cwd=elsewhere)
    assert missing.returncode == 1, missing.stderr
    assert "unrecognized arguments" not in missing.stderr
    assert "no crew 'nope'" in missing.stderr
    assert _cli("validate", "--project", str(project_dir), cwd=elsewhere).returncode == 0
    listed = _cli("schedule", "list", "--project", str(project_dir), cwd=elsewhere)
    assert listed.returncode == 0 and "ai-news" in listed.stdout
    # Before the command it works as ever, and a command's own options are untouched.
    assert _cli("--project", str(project_dir), "validate", cwd=elsewhere).returncode == 0


def test_plan_follows_the_chain_to_the_model_that_will_serve(
    project_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["--project", str(project_dir), "plan", "demo"]) == 0  # Ollama is down
    out = capsys.readouterr().out
    assert "ollama/qwen3:8b cannot serve now (Ollama is not reachable at" in out
    assert "the run falls back to embedded/default, as its chain declares" in out
    assert "27 sources to read in 27 calls (embedded/default" in out
    assert "crew: 3 tasks" not in out  # a base model answers the tasks without a call

    with fake_ollama() as ollama:
        monkeypatch.setenv("OLLAMA_HOST", ollama.url)
        assert main(["--project", str(project_dir), "plan", "demo"]) == 0
    out = capsys.readouterr().out
    assert "falls back" not in out and "(ollama/qwen3:8b, num_ctx" in out
    assert "crew: 3 tasks" in out


def test_doctor_says_which_crews_fall_back_and_which_cannot_run(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--project", str(project_dir), "doctor"]) == 1
    out = capsys.readouterr().out
    assert "runs use the embedded engine instead" not in out
    assert "demo falls back to the embedded engine" in out
    assert "ai-news, topic-brief, weekly-report cannot run: their chains name no fallback" in out
    assert "add embedded/default to its llm: chain" in out

    assert main(["--project", str(project_dir), "doctor", "--model", "ollama/qwen3:8b"]) == 1
    out = capsys.readouterr().out
    assert "--model cannot run: its chain names no fallback" in out
    chain = "ollama/qwen3:8b,embedded/default"
    assert main(["--project", str(project_dir), "doctor", "--model", chain]) == 0
    assert "every crew falls back" in capsys.readouterr().out


def test_an_ollama_that_answers_only_errors_is_not_called_unreachable(project_dir: Path) -> None:
    with errors_only() as url:
        result = _cli(
            "--project",
            str(project_dir),
            "run",
            "demo",
            "--backend",
            "ollama",
            env={"OLLAMA_HOST": url},
        )
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert "not reachable" not in result.stderr
    assert "answers, but with errors: 502 502 Bad Gateway" in error
    assert "check its log" in error and "<html" not in error


def test_a_model_failure_is_said_once_per_run(project_dir: Path) -> None:
    with fake_ollama() as ollama:
        chain = f"ollama/qwen3:8b@{DOWN},ollama/qwen3:8b@{ollama.url}"
        result = _cli("--project", str(project_dir), "run", "demo", "--model", chain)
    assert result.returncode == 0, result.stderr
    failed = [line for line in result.stderr.splitlines() if ", failed" in line]
    assert len(failed) >= 4  # the notes and each task (and the repair) tried the dead host
    assert sum("Ollama is not reachable" in line for line in failed) == 1
    assert all("failed, as call 1 did" in line for line in failed[1:])
