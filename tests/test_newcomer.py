"""What a new user meets on the command line: second runs, validate, list, doctor, Ctrl-C,
resume and runs whose process died. Real CLI, real SQLite, FakeOllama on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scoutcrew.cli import main
from scoutcrew.config.project import find_project
from scoutcrew.run.execute import run_crew
from scoutcrew.run.options import RunOptions
from scoutcrew.store.db import Store
from scoutcrew.store.runs import get_run, list_runs
from scoutcrew.testing.fake_ollama import FakeOllama
from scoutcrew.testing.scripts import NOTE_MARK, scripted_reader

SCOUTCREW = str(Path(sys.executable).with_name("scoutcrew"))


def crew_reply(body: dict) -> str:
    return "Final Answer: - Most labs still publish RSS or Atom feeds [S1]"


reply = scripted_reader(crew_reply)  # notes as a careful reader takes them, then the crew


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    with FakeOllama(default_reply=reply) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        yield fake


def new_only_crew(project_dir: Path, name: str = "digest") -> str:
    """The demo crew without `all_items: true`: it reads only what is new."""
    demo = (project_dir / "crews" / "demo.yaml").read_text()
    text = "\n".join(line for line in demo.splitlines() if "all_items" not in line)
    (project_dir / "crews" / f"{name}.yaml").write_text(text + "\n")
    return name


def note_request(request: dict) -> bool:
    return str(request["json"]["messages"][0].get("content")).startswith(NOTE_MARK)


def runs_of(project_dir: Path) -> list:
    with Store.open(find_project(project_dir).data_dir / "scoutcrew.sqlite") as store:
        return list_runs(store)


def run_record(project_dir: Path, run_id: str) -> dict:
    with Store.open(find_project(project_dir).data_dir / "scoutcrew.sqlite") as store:
        return get_run(store, run_id)


# -- the second run ------------------------------------------------------------------------


def test_the_demo_reads_every_item_so_a_second_run_writes_a_report_too(
    project_dir: Path, server: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--project", str(project_dir), "run", "demo", "--backend", "ollama"]
    assert main(args) == 0
    first = Path(capsys.readouterr().out.strip())
    calls = len(server.chat_requests)
    assert main(args) == 0
    second = Path(capsys.readouterr().out.strip())
    assert first.is_file() and second.is_file() and first != second
    # The second run writes again from the notes the first one took: the crew's calls only.
    again = server.chat_requests[calls:]
    assert again and not [r for r in again if note_request(r)]
    assert len(again) == len([r for r in server.chat_requests[:calls] if not note_request(r)])


def test_crewai_run_with_nothing_new_says_so_once_and_how_to_get_a_report(
    project_dir: Path, server: FakeOllama, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from scoutcrew.main import run

    crew = new_only_crew(project_dir)
    pyproject = project_dir / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('default_crew = "demo"', f'default_crew = "{crew}"')
    )
    monkeypatch.chdir(project_dir)
    monkeypatch.setattr(sys, "argv", ["run_crew", "--backend", "ollama"])
    for _ in range(2):
        with pytest.raises(SystemExit) as exited:
            run()  # what `crewai run` calls, through `uv run run_crew`
        assert exited.value.code == 0
    captured = capsys.readouterr()
    assert captured.err.count("nothing new for digest") == 1
    assert captured.err.count("--all-items") == 1
    assert len(list((project_dir / "reports" / crew).glob("*.json"))) == 1


def test_batch_with_nothing_new_says_so_once(
    project_dir: Path, server: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    crew = new_only_crew(project_dir)
    args = ["--project", str(project_dir), "batch", crew, "--backend", "ollama"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "nothing-new" in captured.out
    assert text.count("nothing new for digest") == 1
    assert f"scoutcrew run {crew} --all-items" in text


def test_all_items_is_a_strict_crew_key(project_dir: Path, capsys) -> None:
    demo = project_dir / "crews" / "demo.yaml"
    demo.write_text(demo.read_text().replace("all_items: true", "all_items: sometimes"))
    assert main(["--project", str(project_dir), "validate"]) == 1
    assert "crews/demo.yaml" in capsys.readouterr().err


# -- validate, list, doctor ------------------------------------------------------------------


def test_validate_reports_a_local_feed_that_does_not_exist(project_dir: Path, capsys) -> None:
    demo = project_dir / "crews" / "demo.yaml"
    demo.write_text(demo.read_text().replace("lab-notes.xml", "lab-noted.xml"))
    assert main(["--project", str(project_dir), "validate"]) == 1
    err = capsys.readouterr().err
    assert "crews/demo.yaml:" in err and "'examples/feeds/lab-noted.xml' does not exist" in err


def test_list_shows_the_good_crews_and_the_error_of_the_bad_one(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project_dir / "crews" / "broken.yaml").write_text(
        "description: A crew with a typo\nagents: [researcher]\ntasks: [collect]\nsorces: {}\n"
    )
    assert main(["--project", str(project_dir), "list"]) == 1
    captured = capsys.readouterr()
    assert "demo" in captured.out and "topic-brief" in captured.out
    [line] = [x for x in captured.out.splitlines() if x.strip().startswith("broken")]
    assert "not loaded" in line and "sorces" in line
    assert "crews/broken.yaml" in captured.err


def test_doctor_reports_the_embedded_engine_when_ollama_is_down(capsys, project_dir) -> None:
    pytest.importorskip("xllamacpp")
    # auto: the demo falls back to the engine, as its chain declares; the crews whose chains
    # name no fallback cannot run, and doctor says so.
    assert main(["--project", str(project_dir), "doctor"]) == 1
    out = capsys.readouterr().out
    assert "embedded/default" in out and "embedded engine ready" in out
    assert "Ollama is not reachable (demo falls back to the embedded engine;" in out
    assert "ai-news, topic-brief, weekly-report cannot run" in out
    assert main(["--project", str(project_dir), "doctor", "--model", "embedded/default"]) == 0
    capsys.readouterr()
    # With --backend ollama nothing serves instead: that is a failure.
    assert main(["--project", str(project_dir), "doctor", "--backend", "ollama"]) == 1
    assert "[FAIL]" in capsys.readouterr().out


# -- failing early and clearly ------------------------------------------------------------------


def test_backend_ollama_fails_before_gathering_even_with_nothing_new(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    crew = new_only_crew(project_dir)
    args = ["--project", str(project_dir), "run", crew, "--backend", "ollama"]
    with FakeOllama(default_reply=reply) as fake:
        url = fake.url
        monkeypatch.setenv("OLLAMA_HOST", url)
        assert main(args) == 0
    # The server is stopped now: nothing listens at OLLAMA_HOST any more.
    capsys.readouterr()
    assert main(args) == 1  # nothing new, but Ollama is down: not a success
    err = capsys.readouterr().err
    assert "Ollama is not reachable" in err and "ollama serve" in err
    assert "gathering" not in err and "nothing new" not in err
    last = run_record(project_dir, runs_of(project_dir)[0].id)
    assert last["status"] == "failed" and last["evidence"] is None  # stopped before gathering


def test_show_of_a_run_whose_sources_all_failed_says_so(project_dir: Path, server, capsys) -> None:
    (project_dir / "crews" / "dead.yaml").write_text(
        "description: A crew whose only feed is down\n"
        "agents: [researcher, analyst, writer]\n"
        "tasks: [collect, analyse, write_digest]\n"
        "sources:\n"
        "  feeds: [http://127.0.0.1:9/feed.xml]\n"
        "  allow_private_hosts: true\n"
        "inputs:\n"
        "  topic: anything\n"
    )
    assert main(["--project", str(project_dir), "run", "dead", "--backend", "ollama"]) == 1
    capsys.readouterr()
    assert main(["--project", str(project_dir), "show", runs_of(project_dir)[0].id]) == 0
    out = capsys.readouterr().out
    assert "every source failed (1 of 1)" in out and "no new items" not in out


def test_a_fixed_project_id_keeps_crewai_from_editing_pyproject(project_dir: Path) -> None:
    from crewai_core.project import get_or_create_project_id

    pyproject = project_dir / "pyproject.toml"
    before = pyproject.read_bytes()
    assert get_or_create_project_id(pyproject)  # what every `crewai` command calls first
    assert pyproject.read_bytes() == before


# -- Ctrl-C, resume, dead runs --------------------------------------------------------------


def test_ctrl_c_while_gathering_can_be_resumed(
    project_dir: Path, server: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    def progress(message: str) -> None:
        if message == "gathering sources":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as stopped:
        run_crew(find_project(project_dir), "demo", RunOptions(backend="ollama"), progress=progress)
    run = run_record(project_dir, runs_of(project_dir)[0].id)
    assert run["status"] == "interrupted" and run["evidence"] is None
    assert f"scoutcrew resume {run['id']}" in str(stopped.value)
    # What the message promises holds: resume gathers and finishes the run.
    assert main(["--project", str(project_dir), "resume", run["id"]]) == 0
    assert Path(capsys.readouterr().out.strip()).is_file()
    assert run_record(project_dir, run["id"])["status"] == "ok"


def test_a_sigint_during_the_crew_is_never_lost(project_dir: Path, server: FakeOllama) -> None:
    # The signal arrives inside crewai (in its task callback), and the KeyboardInterrupt is
    # swallowed there, as code with a broad except would: the run must still end
    # interrupted, not write a report and exit 0.
    def progress(message: str) -> None:
        if message.startswith("task write_digest done"):  # the last call is over
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)  # the handler runs here
            except KeyboardInterrupt:
                pass

    with pytest.raises(KeyboardInterrupt):
        run_crew(find_project(project_dir), "demo", RunOptions(backend="ollama"), progress=progress)
    run = run_record(project_dir, runs_of(project_dir)[0].id)
    assert run["status"] == "interrupted" and run["report"] is None
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


@pytest.fixture
def start(project_dir: Path):
    """Start `scoutcrew run ...` in a child process; any child still running is killed after."""
    children: list[subprocess.Popen] = []

    def run(env: dict, *args: str) -> subprocess.Popen:
        child = subprocess.Popen(
            [SCOUTCREW, "--project", str(project_dir), "run", *args],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        children.append(child)
        return child

    yield run
    for child in children:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)


def test_ctrl_c_says_how_to_resume(project_dir: Path, start) -> None:
    with FakeOllama(delay=60) as slow:  # the answer would take a minute
        child = start(dict(os.environ, OLLAMA_HOST=slow.url), "demo", "--backend", "ollama")
        deadline = time.monotonic() + 60
        while not slow.chat_requests and time.monotonic() < deadline:
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    run_id = runs_of(project_dir)[0].id
    assert child.returncode == 130
    assert f"interrupted; `scoutcrew resume {run_id}` continues it" in err


def test_a_killed_run_is_marked_interrupted_when_runs_are_listed(
    project_dir: Path, start, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOllama(delay=60) as slow:
        child = start(dict(os.environ, OLLAMA_HOST=slow.url), "demo", "--backend", "ollama")
        deadline = time.monotonic() + 60
        while not slow.chat_requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert main(["--project", str(project_dir), "runs"]) == 0
        assert " running " in capsys.readouterr().out  # alive: left alone
        child.kill()  # SIGKILL: no handler runs, the record says "running"
        child.communicate(timeout=30)
    assert main(["--project", str(project_dir), "runs"]) == 0
    out = capsys.readouterr().out
    assert " interrupted " in out and " running " not in out
    run_id = runs_of(project_dir)[0].id
    assert main(["--project", str(project_dir), "show", run_id]) == 0
    shown = capsys.readouterr().out
    assert "ended before the run finished" in shown and f"scoutcrew resume {run_id}" in shown


def test_ctrl_c_does_not_wait_for_an_embedded_generation(project_dir: Path, start) -> None:
    pytest.importorskip("xllamacpp")
    child = start(dict(os.environ), "demo", "--backend", "embedded")
    assert child.stderr is not None
    deadline = time.monotonic() + 240
    for line in child.stderr:  # wait until the notes, the run's long generation, are under way
        if ("notes:" in line and "sources for" in line) or time.monotonic() > deadline:
            break
    time.sleep(2.0)  # inside the first generation (the notes take far longer than this)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    waited = time.monotonic() - sent
    assert child.returncode == 130, err
    assert waited < 5, f"exited {waited:.1f} s after Ctrl-C"
    assert runs_of(project_dir)[0].status == "interrupted"
