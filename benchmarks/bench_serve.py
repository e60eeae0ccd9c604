"""Reading side: how fast the web app answers with many reports on disk.

One real demo report (written by `scoutcrew run demo` against the fake Ollama) is copied
REPORTS times under new names; then the report list (first page), one report page (its HTML
rearranged, flags marked inline) and the Atom feed of all crews are timed through the real app
over HTTP on 127.0.0.1, and `scoutcrew publish --atom` in process. Targets are for a page that
feels instant on a laptop with months of daily reports.

    python benchmarks/bench_serve.py [--reports 400] [--repeat 20]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS_MS = {"report list": 100.0, "report page": 50.0, "feed (all)": 100.0, "publish": 2000.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    import httpx
    import uvicorn

    from scoutcrew.config.project import find_project
    from scoutcrew.serve.app import Settings, create_app
    from scoutcrew.testing.fake_ollama import FakeOllama
    from scoutcrew.testing.scripts import copy_project, scripted_reader

    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    try:
        root = copy_project(ROOT, work / "project")
        env = {**os.environ, "SCOUTCREW_HOME": str(work / "home")}
        reply = "Final Answer: Local inference got faster this month [S1]. A claim [S99]."
        with FakeOllama(default_reply=scripted_reader(lambda request: reply)) as ollama:
            subprocess.run(
                [sys.executable, "-m", "scoutcrew.cli", "--project", str(root), "run", "demo"],
                env={**env, "OLLAMA_HOST": ollama.url, "SCOUTCREW_BACKEND": "ollama"},
                check=True,
                capture_output=True,
            )
        folder = root / "reports" / "demo"
        (json_file,) = folder.glob("*.json")
        html_file = json_file.with_suffix(".html")
        start = datetime(2026, 1, 1, 7, tzinfo=UTC)
        for n in range(args.reports - 1):
            base = (start + timedelta(hours=n)).strftime("%Y-%m-%dT%H-%M-%SZ")
            shutil.copy(json_file, folder / f"{base}.json")
            shutil.copy(html_file, folder / f"{base}.html")
        os.environ["SCOUTCREW_HOME"] = env["SCOUTCREW_HOME"]

        project = find_project(root)
        port = _free_port()
        config = uvicorn.Config(
            create_app(Settings(project, port=port)), port=port, log_level="error"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        results: dict[str, float] = {}
        with httpx.Client(base_url=url, timeout=30) as client:
            paths = {
                "report list": "/reports",
                "report page": f"/reports/demo/{json_file.stem}",
                "feed (all)": "/feeds/all.atom",
            }
            for label, path in paths.items():
                assert client.get(path).status_code == 200
                times = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    response = client.get(path)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200
                results[label] = statistics.median(times)
        server.should_exit = True
        thread.join(10)
        # In process: the work of publishing, not the interpreter's start-up.
        from scoutcrew.cli import main as cli

        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli(["--project", str(root), "publish", "--atom", str(work / "feeds")]) == 0
        results["publish"] = (time.perf_counter() - t0) * 1000
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{args.reports} reports on disk, median of {args.repeat} requests (publish: one run)")
    print(f"{'WHAT':<14} {'MS':>9} {'TARGET':>9} {'RATIO':>7}  RESULT")
    missed = 0
    for label, ms in results.items():
        target = TARGETS_MS[label]
        ok = ms <= target
        missed += not ok
        print(
            f"{label:<14} {ms:>9.1f} {target:>9.0f} {ms / target:>7.2f}  {'ok' if ok else 'MISS'}"
        )
    return 1 if missed else 0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
