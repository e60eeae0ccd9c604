"""The Ray executor of `scoutcrew batch`: one Ray task per crew run, one `ollama` slot each.

Ray is imported here only, and this module only when a batch asks for the ray executor.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..config.project import Project
from ..store.runs import import_run
from .jobs import (
    NODE_HOME_ENV,
    NODE_HOST_ENV,
    RESOURCE,
    RUNS_PER_PROCESS,
    BatchError,
    CrewOutcome,
    default_jobs,
    drive,
    outcome,
    report_dir,
    run_one,
)

if TYPE_CHECKING:
    from ..run.options import RunOptions


def import_ray() -> ModuleType:
    try:
        import ray
    except ImportError as exc:
        raise BatchError(
            "the ray executor needs Ray: pip install 'scoutcrew[ray]' (or pip install 'ray>=2.60')"
        ) from exc
    return ray


def node_ollama_host(hosts: Mapping[str, str]) -> str | None:
    """Inside a Ray task: the Ollama of the node it runs on (by node id or IP in `hosts`, else
    the node's SCOUTCREW_NODE_OLLAMA_HOST or OLLAMA_HOST)."""
    import ray

    node_id = ray.get_runtime_context().get_node_id()
    node_ip = ray.util.get_node_ip_address()
    return (
        hosts.get(node_id)
        or hosts.get(node_ip)
        or os.environ.get(NODE_HOST_ENV)
        or os.environ.get("OLLAMA_HOST")
        or None
    )


def _ray_task(job: dict[str, Any]) -> dict[str, Any]:
    """The body of one Ray task: find this node's Ollama and data folder, then run the crew."""
    import ray

    node_id = ray.get_runtime_context().get_node_id()
    host = node_ollama_host(job.get("hosts") or {})
    same_machine = socket.gethostname() == job["driver_machine"]
    root = job["root"]
    if not same_machine or not (Path(root) / "agents.yaml").is_file():
        root = os.getcwd()  # the project shipped by runtime_env working_dir
    if same_machine:
        data_dir = job["driver_data_dir"]  # one SQLite store, shared through the filesystem
    else:
        project_name = Path(job["root"]).name
        data_dir = os.environ.get(NODE_HOME_ENV) or str(
            Path.home() / ".cache" / "scoutcrew" / project_name
        )
    with tempfile.TemporaryDirectory(prefix="scoutcrew-batch-") as tmp:
        options = replace(job["options"], output_dir=Path(tmp))
        data = run_one(
            {
                **job,
                "root": root,
                "options": options,
                "ollama_host": host,
                "data_dir": data_dir,
                "node": f"{socket.gethostname()}/{node_id[:8]}",
                "return_files": True,
                "return_run": not same_machine,
            }
        )
    data["same_store"] = same_machine
    return data


def run_ray(
    project: Project,
    names: list[str],
    options: RunOptions,
    address: str | None,
    jobs: int | None,
    hosts: Mapping[str, str],
    say: Callable[[str], None],
) -> list[CrewOutcome]:
    """Submit one Ray task per crew; Ray places each where an "ollama" slot is free."""
    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        init_ray(ray, project, address, jobs or default_jobs())
    try:
        slots = ray.cluster_resources().get(RESOURCE, 0)
        if slots < 1:
            raise BatchError(
                "no node of the Ray cluster offers the 'ollama' resource: start each Ollama "
                "machine's node with `ray start ... --resources='{\"ollama\": N}'` "
                "(N = its OLLAMA_NUM_PARALLEL)"
            )
        say(f"ray: {int(slots)} ollama slot(s) on {len(ray.nodes())} node(s)")
        # num_cpus=0: a crew run mostly waits on its model, so the "ollama" resource alone
        # decides how many run at once; max_retries=0 because the retry below counts attempts.
        task = ray.remote(
            num_cpus=0, resources={RESOURCE: 1}, max_retries=0, max_calls=RUNS_PER_PROCESS
        )(_ray_task)
        template = {
            "root": str(project.root),
            "options": options,
            "hosts": dict(hosts),
            "driver_machine": socket.gethostname(),
            "driver_data_dir": str(project.data_dir),
        }

        def wait_one(refs: list[Any]) -> tuple[Any, dict[str, Any] | None, Exception | None]:
            ready, _ = ray.wait(refs, num_returns=1)
            try:
                return ready[0], ray.get(ready[0]), None
            except Exception as exc:  # RayTaskError, WorkerCrashedError, NodeDiedError...
                return ready[0], None, exc

        return drive(
            names,
            lambda crew: task.remote({**template, "crew": crew}),
            wait_one,
            lambda data, attempts: collect(project, options, data, attempts),
            say,
            jobs if (jobs and address) else len(names),
        )
    finally:
        if started_here:
            ray.shutdown()


def init_ray(ray: ModuleType, project: Project, address: str | None, jobs: int) -> None:
    if address:
        # Other machines do not have the project folder: ship its YAML and sample files.
        runtime_env = {
            "working_dir": str(project.root),
            "excludes": [".scoutcrew/", "reports/", ".venv/", ".git/", "*.sqlite*", "__pycache__/"],
        }
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
    else:
        ray.init(
            num_cpus=max(1, os.cpu_count() or 1),
            resources={RESOURCE: jobs},
            include_dashboard=False,
            log_to_driver=False,
        )


def collect(
    project: Project, options: RunOptions, data: dict[str, Any], attempts: int
) -> CrewOutcome:
    """Write a finished task's report files (and, from other machines, its record) locally."""
    from ..report.files import atomic_write

    report = None
    files = data.get("files") or {}
    if files:
        out_dir = report_dir(project, data["crew"], options)
        for relative, text in files.items():
            target = out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, text)
        md = [name for name in files if name.endswith(".md") and not name.endswith("latest.md")]
        report = out_dir / md[0] if md else None
    if not data.get("same_store"):
        _import_into_driver_store(project, data, files, report)
    return outcome(data, attempts, report)


def _import_into_driver_store(
    project: Project, data: dict[str, Any], files: dict[str, str], report: Path | None
) -> None:
    """Keep the driver's store the one truth: what was delivered, and the run's record."""
    from ..store.db import Store

    urls = []
    for name, text in files.items():
        if name.endswith(".json"):
            urls = [s["url"] for s in json.loads(text).get("sources", []) if s.get("url")]
    with Store.open(project.data_dir / "scoutcrew.sqlite") as store:
        if urls and data["status"] == "ok":
            store.mark_delivered(data["crew"], urls)
        if data.get("run"):
            run = dict(data["run"])
            if report is not None:  # the node wrote it to a temporary folder
                run["report"] = str(report)
            import_run(store, run)
