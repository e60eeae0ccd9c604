"""Ctrl-C during a run: never lost, never waiting for the model call in flight.

Starts `scoutcrew run demo` in a child process N times and sends one SIGINT at a different
moment of each run: while crewai is built, during each model call (a fake Ollama whose every
answer takes DELAY seconds) and, with --embedded, during an embedded generation (the real
Gemma 3 270M in process). Each row says when the signal was sent, how long the process took
to exit, its exit status, the run record's status and whether the message says how to resume.

Targets: every run exits 130 with the run recorded as interrupted (none lost), within
BOUND seconds of the signal, and the message names `scoutcrew resume RUN`.

    python benchmarks/bench_interrupt.py [--delay 8] [--bound 2.0] [--embedded]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCOUTCREW = str(Path(sys.executable).with_name("scoutcrew"))


def reply(request: dict) -> str:
    return "Final Answer: - Local inference got faster this month [S1]"


def one_run(project: Path, env: dict, backend: str, when: str) -> dict:
    """Run once; send SIGINT when the progress output shows `when`; measure the exit."""
    child = subprocess.Popen(
        [SCOUTCREW, "--project", str(project), "run", "demo", "--backend", backend],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    lines: list[str] = []
    sent: list[float] = []

    def read() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            lines.append(line)
            if not sent and when in line:
                time.sleep(1.0)  # well inside the step that follows
                sent.append(time.monotonic())
                child.send_signal(signal.SIGINT)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        child.wait(timeout=600)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    ended = time.monotonic()
    reader.join(timeout=5)
    text = "".join(lines)
    return {
        "when": when,
        "sent": bool(sent),
        "exit_s": ended - sent[0] if sent else float("nan"),
        "code": child.returncode,
        "hint": "scoutcrew resume 20" in text,
    }


def status_of_last_run(project: Path, env: dict) -> str:
    out = subprocess.run(
        [SCOUTCREW, "--project", str(project), "runs", "--limit", "1"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    return out[1].split()[2] if len(out) > 1 else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delay", type=float, default=8.0, help="seconds per fake answer")
    parser.add_argument("--bound", type=float, default=2.0, help="seconds allowed to exit")
    parser.add_argument("--embedded", action="store_true", help="add embedded-engine cases")
    args = parser.parse_args()

    from scoutcrew.testing.fake_ollama import FakeOllama
    from scoutcrew.testing.scripts import copy_project

    cases = [
        ("ollama", "gathering sources"),
        ("ollama", "evidence:"),
        ("ollama", "running 3 tasks"),
        ("ollama", "call 1:"),
        ("ollama", "call 2:"),
    ]
    if args.embedded:
        cases += [("embedded", "running 3 tasks"), ("embedded", "call 1:")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, FakeOllama(default_reply=reply) as fake:
        fake.delay = args.delay
        for index, (backend, when) in enumerate(cases):
            project = copy_project(ROOT, Path(tmp) / f"p{index}")
            env = dict(
                os.environ,
                OLLAMA_HOST=fake.url,
                SCOUTCREW_HOME=str(Path(tmp) / f"home{index}"),
                PYTHONPATH=str(ROOT / "src"),
            )
            row = one_run(project, env, backend, when)
            row["backend"] = backend
            row["status"] = status_of_last_run(project, env)
            rows.append(row)

    print(f"{'BACKEND':<9} {'SIGINT AFTER':<18} {'EXIT S':>7} {'CODE':>5} {'RECORD':<12} HINT")
    misses = 0
    for r in rows:
        ok = (
            r["sent"]
            and r["code"] == 130
            and r["exit_s"] <= args.bound
            and r["status"] == "interrupted"
            and r["hint"]
        )
        misses += not ok
        print(
            f"{r['backend']:<9} {r['when']:<18} {r['exit_s']:>7.2f} {r['code']:>5} "
            f"{r['status']:<12} {'yes' if r['hint'] else 'no':<4} {'' if ok else 'MISS'}"
        )
    lost = sum(r["code"] == 0 for r in rows)
    worst = max((r["exit_s"] for r in rows if r["sent"]), default=float("nan"))
    print(
        f"lost: {lost} of {len(rows)} (target 0); slowest exit {worst:.2f} s "
        f"(target <= {args.bound:.1f} s, a model answer takes {args.delay:.0f} s)"
    )
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
