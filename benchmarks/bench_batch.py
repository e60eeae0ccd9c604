"""Batch throughput: the Ray executor over two Ollama hosts against one local run at a time.

Eight copies of the demo crew run twice in the same process: first with the local executor and
--jobs 1 (one run after the other, one host), then as Ray tasks on a local two-node cluster
whose nodes each front one fake Ollama with SLOTS "ollama" slots. Every model reply takes
DELAY seconds, like a real model would, so the runs are bound by waiting on the hosts and the
ratio of the wall times should come close to the number of host slots (2 x SLOTS). Worker
start-up (each worker process imports crewai once, several seconds) is part of both timings.

    python benchmarks/bench_batch.py [--crews 8] [--delay 3.0] [--slots 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def reply(request: dict) -> str:
    return "Final Answer: Local inference got faster this month [S1]."


def make_project(where: Path, crews: int) -> tuple[Path, list[str]]:
    """Copy the project and replace its crews with `crews` copies of the demo crew."""
    from scoutcrew.testing.scripts import copy_project

    root = copy_project(ROOT, where / "project")
    demo = (root / "crews" / "demo.yaml").read_text()
    for path in (root / "crews").glob("*.yaml"):
        path.unlink()
    names = [f"bench-{i}" for i in range(crews)]
    for name in names:
        (root / "crews" / f"{name}.yaml").write_text(demo)
    return root, names


def fresh_home(where: Path, label: str) -> None:
    """Give each executor its own store, so both see every item as new."""
    os.environ["SCOUTCREW_HOME"] = str(where / f"home-{label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--crews", type=int, default=8)
    parser.add_argument("--delay", type=float, default=3.0, help="seconds per model reply")
    parser.add_argument("--slots", type=int, default=1, help="ollama slots per host")
    args = parser.parse_args()

    from ray.cluster_utils import Cluster

    from scoutcrew.config.project import find_project
    from scoutcrew.run.options import RunOptions
    from scoutcrew.scale.batch import run_batch
    from scoutcrew.testing.fake_ollama import FakeOllama

    os.environ["SCOUTCREW_BACKEND"] = "ollama"
    where = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    root, names = make_project(where, args.crews)
    project = find_project(root)
    a = FakeOllama(delay=args.delay, default_reply=reply).start()
    b = FakeOllama(delay=args.delay, default_reply=reply).start()
    urls = (a.url, b.url)
    try:
        fresh_home(where, "local")
        os.environ["OLLAMA_HOST"] = a.url
        started = time.monotonic()
        local = run_batch(
            project,
            names,
            executor="local",
            jobs=1,
            options=RunOptions(output_dir=where / "reports-local"),
        )
        local_s = time.monotonic() - started
        assert local.ok, local.table()
        calls = len(a.chat_requests)

        started = time.monotonic()
        cluster = Cluster()
        for server in (a, b):
            cluster.add_node(
                num_cpus=1,
                resources={"ollama": args.slots},
                env_vars={"SCOUTCREW_NODE_OLLAMA_HOST": server.url},
                include_dashboard=False,
            )
        cluster_s = time.monotonic() - started
        try:
            fresh_home(where, "ray")
            a.max_concurrent = b.max_concurrent = 0
            started = time.monotonic()
            ray_result = run_batch(
                project,
                names,
                executor="ray",
                address=cluster.address,
                options=RunOptions(output_dir=where / "reports-ray"),
            )
            ray_s = time.monotonic() - started
        finally:
            cluster.shutdown()
        assert ray_result.ok, ray_result.table()
    finally:
        a.stop()
        b.stop()
        shutil.rmtree(where, ignore_errors=True)

    slots = 2 * args.slots
    per_host = {url: sum(1 for o in ray_result.outcomes if url in o.hosts) for url in urls}
    print(f"{args.crews} crews x {calls // args.crews} model calls, {args.delay:.1f} s per reply")
    print(f"local executor, --jobs 1 (sequential): {local_s:7.1f} s")
    print(
        f"ray executor, 2 hosts x {args.slots} slot(s):    {ray_s:7.1f} s "
        f"(+{cluster_s:.1f} s to start the 2-node cluster, not counted)"
    )
    print(
        f"runs per host: {list(per_host.values())}; highest concurrency per host: "
        f"{a.max_concurrent}, {b.max_concurrent} (limit {args.slots})"
    )
    print(f"speed-up local/ray: {local_s / ray_s:.2f}x (host slots: {slots})")


if __name__ == "__main__":
    main()
