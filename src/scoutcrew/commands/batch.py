"""`scoutcrew batch`: many crews at once, locally or on a Ray cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config.models import parse_model_override
from ..config.plan import parse_inputs
from ..config.project import find_project
from ..scale.batch import run_batch
from ..scale.jobs import BatchError


def add_batch_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add `scoutcrew batch` to the CLI's subcommands."""
    p = subparsers.add_parser(
        "batch",
        help="run many crews at once, locally or on a Ray cluster",
        description="Run many crews: in a local process pool, or as Ray tasks that each hold "
        "one 'ollama' slot of the node they run on.",
    )
    p.add_argument("crews", nargs="*", metavar="CREW", help="crews to run")
    p.add_argument("--all", action="store_true", help="run every crew of the project")
    p.add_argument("--executor", choices=["local", "ray"], default="local")
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="Ray cluster to join ('auto' or HOST:PORT); default: start a local Ray instance",
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        metavar="N",
        help="runs at once (local: processes, default $OLLAMA_NUM_PARALLEL or 1; "
        "ray: slots of the local instance, or a cap on a cluster)",
    )
    p.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="NODE=URL",
        help="ray: the Ollama URL for the tasks on NODE (IP or node id); repeatable",
    )
    p.add_argument("--input", "-i", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--model", metavar="SPEC[,SPEC...]", help="override every agent's model chain")
    p.add_argument("--output", metavar="DIR", help="report folder (default: reports/)")
    p.add_argument("--backend", choices=["auto", "ollama", "embedded"], help="default: auto")
    p.add_argument("--all-items", action="store_true", help="not only items new since last run")
    p.set_defaults(func=cmd_batch)
    return p


def cmd_batch(args: argparse.Namespace) -> int:
    """Run the batch the arguments describe; exit 1 if any crew failed."""
    from ..run.options import RunOptions

    if args.all == bool(args.crews):
        raise BatchError("name the crews to run, or pass --all (not both)")
    project = find_project(args.project)
    options = RunOptions(
        inputs=parse_inputs(args.input),
        model=parse_model_override(args.model) if args.model else None,
        output_dir=Path(args.output).resolve() if args.output else None,
        backend=args.backend,
        all_items=args.all_items,
    )
    result = run_batch(
        project,
        None if args.all else args.crews,
        executor=args.executor,
        address=args.address,
        jobs=args.jobs,
        hosts=_parse_host_map(args.host),
        options=options,
        progress=lambda message: print(f"[scoutcrew] {message}", file=sys.stderr, flush=True),
    )
    print(result.table())
    return 0 if result.ok else 1


def _parse_host_map(pairs: list[str]) -> dict[str, str]:
    hosts = {}
    for pair in pairs:
        node, sep, url = pair.partition("=")
        if not sep or not node.strip() or not url.strip():
            raise BatchError(
                f"--host '{pair}' is not NODE=URL, e.g. 10.0.0.5=http://10.0.0.5:11434"
            )
        hosts[node.strip()] = url.strip()
    return hosts
