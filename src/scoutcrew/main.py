"""Entry point for `crewai run` (which calls the `run_crew` script through `uv run`)."""

from __future__ import annotations

import sys


def run() -> None:
    """Run the project's default crew; exit non-zero if it fails."""
    from .cli import finish_process, main

    sys.exit(finish_process(main(["run", *sys.argv[1:]])))
