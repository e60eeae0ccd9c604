"""Run many crews at once: in a local process pool, or as Ray tasks spread over Ollama hosts.

Each crew run happens in a worker process, never in the caller's: crewai keeps module-level
caches that only grow, and a crash in one run must not take the batch down. Worker processes
are recycled after RUNS_PER_PROCESS runs, which bounds that growth without paying crewai's
import (seconds) for every run.

On Ray, each run is a task that asks for one unit of the custom resource "ollama". A node
started with `ray start --resources='{"ollama": N}'` (N = that machine's OLLAMA_NUM_PARALLEL)
therefore never runs more than N crews at once, and each task talks to the Ollama of the node
it landed on. Ray does the placement; this module only submits, retries once and collects.
Report files and run records travel back to the driver, which writes them into its own
reports folder and store, so a batch over several machines ends with everything in one place.

Ray is an optional extra (`pip install 'scoutcrew[ray]'`) and is imported only on that path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..config.project import Project
from ..errors import ConfigError, UnknownCrew
from .jobs import (
    RUNS_PER_PROCESS,
    BatchError,
    BatchResult,
    CrewOutcome,
    default_jobs,
    drive,
    outcome,
    run_one,
)

if TYPE_CHECKING:
    from ..run.options import RunOptions


def run_batch(
    project: Project,
    crews: Sequence[str] | None = None,
    *,
    executor: str = "local",
    address: str | None = None,
    jobs: int | None = None,
    hosts: Mapping[str, str] | None = None,
    options: RunOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> BatchResult:
    """Run `crews` (default: every crew of the project) and return each one's outcome.

    executor "local": a pool of `jobs` worker processes (default $OLLAMA_NUM_PARALLEL or 1),
    all using OLLAMA_HOST. executor "ray": one Ray task per crew, each holding one "ollama"
    resource; `address` joins an existing cluster ("auto" or host:port), without it a local
    Ray instance with `jobs` ollama slots is started. `hosts` maps a Ray node (its IP address
    or node id) to the Ollama URL its tasks use, overriding the node's own environment.
    """
    from ..config.schema import load_config
    from ..run.options import RunOptions

    say = progress or (lambda message: None)
    options = options or RunOptions()
    config = load_config(project)
    if config.problems:
        raise ConfigError(config.problems)
    names = list(crews) if crews else sorted(config.crews)
    unknown = [name for name in names if name not in config.crews]
    if unknown:
        known = ", ".join(sorted(config.crews)) or "none"
        raise UnknownCrew(f"no crew {', '.join(map(repr, unknown))}: crews are {known}")
    if not names:
        raise BatchError(f"no crews to run: add crew files under {project.crews_dir}")
    if len(set(names)) != len(names):
        raise BatchError("a crew is named twice: each crew may run once per batch")
    # Decide the backend here so every worker, on any machine, uses the same one.
    backend = options.backend or os.environ.get("SCOUTCREW_BACKEND")
    options = replace(options, backend=backend)
    # Create (or migrate) the store once, before several processes open it at the same moment.
    from ..store.db import Store

    Store.open(project.data_dir / "scoutcrew.sqlite").close()
    started = time.monotonic()
    if executor == "local":
        if hosts:
            raise BatchError(
                "--host maps Ray nodes to Ollama hosts; with the local executor set OLLAMA_HOST"
            )
        outcomes = run_local(project, names, options, jobs or default_jobs(), say)
    elif executor == "ray":
        from .ray_cluster import run_ray

        outcomes = run_ray(project, names, options, address, jobs, hosts or {}, say)
    else:
        raise BatchError(f"unknown executor '{executor}': use 'local' or 'ray'")
    order = {name: i for i, name in enumerate(names)}
    outcomes.sort(key=lambda o: order[o.crew])
    return BatchResult(executor, outcomes, time.monotonic() - started)


def run_local(
    project: Project, names: list[str], options: RunOptions, jobs: int, say: Callable[[str], None]
) -> list[CrewOutcome]:
    """Run the crews in a pool of `jobs` worker processes on this machine."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=min(jobs, len(names)),
            # spawn, not fork: the caller may hold threads (servers, crewai) fork would copy.
            mp_context=multiprocessing.get_context("spawn"),
            max_tasks_per_child=RUNS_PER_PROCESS,
        )

    template = {"root": str(project.root), "options": options, "data_dir": str(project.data_dir)}
    pools = [new_pool()]
    born: dict[Future, int] = {}  # which pool (by index) ran each run

    def submit(crew: str) -> Future:
        future = pools[-1].submit(run_one, {**template, "crew": crew})
        born[future] = len(pools) - 1
        return future

    def wait_one(futures: list[Future]) -> tuple[Future, dict[str, Any] | None, Exception | None]:
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        future = next(iter(done))
        try:
            return future, future.result(), None
        except Exception as exc:  # a worker died, or the run raised something unexpected
            # A dead worker breaks its whole pool, so every run still in it fails too and is
            # retried in a new pool (each counts an attempt: the pool cannot say whose died).
            if isinstance(exc, BrokenProcessPool) and born[future] == len(pools) - 1:
                pools[-1].shutdown(wait=False, cancel_futures=True)
                pools.append(new_pool())
            return future, None, exc

    try:
        return drive(names, submit, wait_one, lambda d, n: outcome(d, n), say, len(names))
    finally:
        pools[-1].shutdown(wait=True, cancel_futures=True)
