"""Benchmark the first run a newcomer makes: `scoutcrew run demo` with no Ollama.

    python benchmarks/bench_embedded_demo.py

Runs the shipped demo crew (bundled sample feeds, 12 sources) in a fresh copy of the project
and a fresh data directory, as a subprocess (so crewai's import counts, as it does for a user),
with OLLAMA_HOST pointing where nothing listens: the crew's declared fallback, the embedded
Gemma 3 270M base model, writes the report. The model file is assembled first, into a fresh
folder, and timed on its own.

Prints the wall time, the engine's prompt and generation speed (tokens/s, from its own
timings), and what the report holds. Targets: >= 5 cited bullets, >= 80% of cited sentences
supported by the verifier, a reference for every cited id, the "extractive" note at the top.
"""

from __future__ import annotations

import json
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


def main() -> int:
    from scoutcrew.llm import embedded
    from scoutcrew.testing.scripts import copy_project

    with tempfile.TemporaryDirectory(prefix="scoutcrew-bench-") as tmp:
        tmp_path = Path(tmp)
        project = copy_project(ROOT, tmp_path / "project")
        env = dict(os.environ)
        env.update(
            SCOUTCREW_HOME=str(tmp_path / "home"),
            SCOUTCREW_MODELS=str(tmp_path / "models"),
            OLLAMA_HOST=dead_host(),
        )
        os.environ["SCOUTCREW_MODELS"] = env["SCOUTCREW_MODELS"]
        started = time.perf_counter()
        embedded.default_model_path(tmp_path / "home")
        assemble_s = time.perf_counter() - started

        started = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "scoutcrew.cli", "--project", str(project), "run", "demo"],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        wall_s = time.perf_counter() - started
        if run.returncode != 0:
            print(run.stderr[-3000:])
            print(f"the demo run failed (exit {run.returncode})")
            return 1
        report_md = Path(run.stdout.strip().splitlines()[-1])
        data = json.loads(report_md.with_suffix(".json").read_text())
        text = report_md.read_text()

    usage = [r for r in data["usage"] if r["backend"] == "embedded" and r["ok"]]
    prompt = sum(r["prompt_tokens"] for r in usage)
    completion = sum(r["completion_tokens"] for r in usage)
    prompt_ms = sum(r["prompt_eval_ms"] for r in usage) or 1.0
    eval_ms = sum(r["eval_ms"] for r in usage) or 1.0
    model_ms = sum(r["wall_ms"] for r in usage)
    digest = text.split("## Digest", 1)[1].split("## References", 1)[0]
    bullets = [line for line in digest.splitlines() if line.startswith("- ")]
    trust = data["trust"]
    cited = trust["sentences_cited"]
    share = trust["supported"] / cited if cited else 0.0
    cited_ids = {s["id"] for s in data["sources"] if s["cited"]}
    referenced = all(f"[{i}]" in text.split("## References", 1)[1] for i in cited_ids)
    noted = "extractive" in text.split("## Digest", 1)[0]

    print(f"model file assembled           {assemble_s:7.1f} s (once per user)")
    print(f"demo run, wall time            {wall_s:7.1f} s (subprocess, crewai import included)")
    print(f"  of which in the model        {model_ms / 1000:7.1f} s")
    print(f"prompt tokens read             {prompt:7d}   {prompt / prompt_ms * 1000:6.1f} tok/s")
    print(
        f"tokens generated               {completion:7d}   {completion / eval_ms * 1000:6.1f} tok/s"
    )
    print(f"cited bullets in the digest    {len(bullets):7d}   (target >= 5)")
    print(
        f"cited sentences supported      {trust['supported']:7d} / {cited} = {share:.0%}"
        " (target >= 80%)"
    )
    print(f"references for every cited id  {'yes' if referenced else 'NO':>7}")
    print(f"honest top note                {'yes' if noted else 'NO':>7}")
    ok = len(bullets) >= 5 and cited >= 5 and share >= 0.8 and referenced and noted
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
