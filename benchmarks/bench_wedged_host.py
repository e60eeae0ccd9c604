"""Benchmark how fast a run fails on a broken Ollama, with the default timeouts.

    python benchmarks/bench_wedged_host.py

Runs `scoutcrew run demo --backend ollama` (a subprocess, as a user would) against two
servers on 127.0.0.1: one that accepts connections and never answers (wedged) and one where
nothing listens. (A server that answers /api/show but never /api/chat fails after the chat
first-byte timeout, 300 s by default; tests/test_wedged.py covers it with short timeouts.)
Prints the wall time of
each failing run, its exit status and the first line of its message. Targets: every run fails
(exit 1); the wedged and the down host within 60 s, with a message that says which it was.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def dead_host() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def run_against(host: str, tmp: Path, name: str) -> tuple[float, int, str]:
    from scoutcrew.testing.scripts import copy_project

    project = copy_project(ROOT, tmp / name)
    env = dict(os.environ, SCOUTCREW_HOME=str(tmp / f"{name}-home"), OLLAMA_HOST=host)
    argv = [sys.executable, "-m", "scoutcrew.cli", "--project", str(project)]
    started = time.perf_counter()
    done = subprocess.run(
        [*argv, "run", "demo", "--backend", "ollama"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    wall = time.perf_counter() - started
    errors = [line for line in done.stderr.splitlines() if line.startswith("error")]
    return wall, done.returncode, (errors or done.stderr.splitlines()[-1:] or [""])[0]


def main() -> int:
    from scoutcrew.testing.fake_ollama import FakeOllama

    rows = []
    with tempfile.TemporaryDirectory(prefix="scoutcrew-wedge-") as tmp:
        with FakeOllama() as wedged:
            wedged.wedge()
            rows.append(
                ("wedged (accepts, never answers)", *run_against(wedged.url, Path(tmp), "w"))
            )
        rows.append(("down (nothing listens)", *run_against(dead_host(), Path(tmp), "d")))
    ok = True
    for case, wall, code, message in rows:
        print(f"{case:<34} {wall:6.1f} s  exit {code}  {message[:150]}")
        ok &= code == 1
    ok &= rows[0][1] <= 60 and "accepted the connection but did not answer" in rows[0][3]
    ok &= rows[1][1] <= 60 and "not reachable" in rows[1][3]
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
