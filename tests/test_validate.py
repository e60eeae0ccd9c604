"""`scoutcrew validate` as a user meets it: schedules checked with their file and line, and
YAML mistakes named at the line to change, with the change to make."""

from __future__ import annotations

from pathlib import Path

import pytest
from readme_examples import CRITIC_AGENT

from scoutcrew.cli import main


def _validate(project: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["--project", str(project), "validate"])
    out, err = capsys.readouterr()
    return code, out, err


def _crew_with_schedule(project: Path, schedule: str) -> None:
    demo = project / "crews" / "demo.yaml"
    demo.write_text(demo.read_text() + f"schedule: {schedule}\n")


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().split("\n"), 1) if needle in line)


@pytest.mark.parametrize(
    ("schedule", "needle"),
    [
        ('"0 25 * * *"', "hour field '25': '25' is outside 0-23"),
        ('"0 7 * * 1-8"', "day of week field '1-8': '1-8' is outside 0-7"),
        ('"0 7 * * mon-fry"', "'fry' is not a name: use sun, mon, tue, wed, thu, fri, sat"),
        ('"61 7 * * *"', "minute field '61': '61' is outside 0-59"),
        ('"0 7 * *"', "is not a 5-field cron expression"),
        (
            '{cron: "0 7 * * *", timezone: Europe/Pari}',
            "unknown timezone 'Europe/Pari' (did you mean 'Europe/Paris'?)",
        ),
    ],
)
def test_a_bad_schedule_fails_validate_with_its_file_and_line(
    project_dir: Path, capsys: pytest.CaptureFixture[str], schedule: str, needle: str
) -> None:
    _crew_with_schedule(project_dir, schedule)
    line = _line_of(project_dir / "crews" / "demo.yaml", "schedule:")
    code, out, err = _validate(project_dir, capsys)
    assert code == 1 and not out.startswith("ok")
    assert f"crews/demo.yaml:{line}: schedule." in err and needle in err, err
    # `run` refuses it the same way (nothing runs on a bad config), with the same line.
    assert main(["--project", str(project_dir), "run", "demo"]) == 1
    assert f"crews/demo.yaml:{line}:" in capsys.readouterr().err


def test_a_schedule_that_never_fires_is_a_warning(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _crew_with_schedule(project_dir, '"0 7 31 2 *"')
    line = _line_of(project_dir / "crews" / "demo.yaml", "schedule:")
    code, out, err = _validate(project_dir, capsys)
    assert code == 0 and out.startswith("ok:") and "1 warning(s)" in out
    assert f"warning: crews/demo.yaml:{line}: schedule: '0 7 31 2 *': it never fires" in err
    assert "February has no day 31" in err
    assert main(["--project", str(project_dir), "schedule", "list"]) == 0
    listed, warned = capsys.readouterr()
    assert "never" in listed and "it never fires" in warned


@pytest.mark.parametrize("schedule", ['"0 7 29 2 *"', '"0 7 31 2 mon"', '"0 7 * * mon-fri"'])
def test_schedules_that_fire_are_not_warned_about(
    project_dir: Path, capsys: pytest.CaptureFixture[str], schedule: str
) -> None:
    _crew_with_schedule(project_dir, schedule)
    code, _out, err = _validate(project_dir, capsys)
    assert code == 0 and "warning" not in err


# The mistakes, each in the README's own `critic` agent added to agents.yaml: the line that
# holds the mistake, and what the message tells the user to do.
MISTAKES = [
    ("  goal: >-", "goal: >-", "starts at the margin", "indent it 2 spaces"),
    ("  llm: ollama/qwen3:8b", "   llm: ollama/qwen3:8b", "is indented 3 spaces", "indent it 2"),
    ("  backstory: >-", " backstory: >-", "is indented 1 space", "indent it 2 spaces"),
    ("  role: Critic", "role: Critic", "starts at the margin", "indent it 2 spaces"),
    ("  llm: ollama/qwen3:8b", "  llm ollama/qwen3:8b", "has no ':' after its key", "llm:"),
]


@pytest.mark.parametrize(("good", "bad", "said", "fix"), MISTAKES)
def test_a_yaml_mistake_names_its_own_line_and_the_fix(
    project_dir: Path, capsys: pytest.CaptureFixture[str], good: str, bad: str, said: str, fix: str
) -> None:
    agents = project_dir / "agents.yaml"
    text = agents.read_text() + CRITIC_AGENT
    start = text.index("\ncritic:")
    text = text[:start] + text[start:].replace(good, bad, 1)
    agents.write_text(text)
    first = text[:start].count("\n") + 1
    line = next(i for i, x in enumerate(text.split("\n"), 1) if i > first and x == bad)
    code, _out, err = _validate(project_dir, capsys)
    assert code == 1
    problem = next(x.strip() for x in err.splitlines() if "agents.yaml:" in x)
    assert problem.startswith(f"agents.yaml:{line}: invalid YAML: "), (line, problem)
    assert said in problem and fix in problem, problem
