"""Where things live: the project folder, the data directory, the project's settings."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ProjectNotFound

HOME_ENV = "SCOUTCREW_HOME"


@dataclass(frozen=True)
class Project:
    """A scoutcrew project folder and the settings under [tool.scoutcrew]."""

    root: Path
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def agents_file(self) -> Path:
        return self.root / "agents.yaml"

    @property
    def tasks_file(self) -> Path:
        return self.root / "tasks.yaml"

    @property
    def crews_dir(self) -> Path:
        return self.root / "crews"

    @property
    def default_crew(self) -> str:
        return str(self.settings.get("default_crew", "demo"))

    @property
    def reports_dir(self) -> Path:
        return self.root / str(self.settings.get("reports_dir", "reports"))

    @property
    def data_dir(self) -> Path:
        """The store and caches: $SCOUTCREW_HOME, else .scoutcrew/ in the project folder."""
        env = os.environ.get(HOME_ENV)
        path = Path(env).expanduser() if env else self.root / ".scoutcrew"
        return path.resolve()

    def crew_file(self, name: str) -> Path:
        return self.crews_dir / f"{name}.yaml"

    def crew_names(self) -> list[str]:
        if not self.crews_dir.is_dir():
            return []
        return sorted(p.stem for p in self.crews_dir.glob("*.yaml"))


def _is_project(path: Path) -> bool:
    return (path / "agents.yaml").is_file() and (path / "pyproject.toml").is_file()


def find_project(start: str | os.PathLike[str] | None = None) -> Project:
    """Find the project folder from `start` (default: the working directory) upward."""
    origin = Path(start or os.getcwd()).resolve()
    if start is not None and not _is_project(origin):
        raise ProjectNotFound(
            f"{origin} is not a scoutcrew project: it needs pyproject.toml and agents.yaml"
        )
    for candidate in (origin, *origin.parents):
        if _is_project(candidate):
            return load_project(candidate)
    raise ProjectNotFound(
        f"no scoutcrew project in {origin} or any folder above it "
        "(looked for pyproject.toml next to agents.yaml); pass --project DIR"
    )


def load_project(root: Path) -> Project:
    """Read [tool.scoutcrew] from the project's pyproject.toml."""
    with open(root / "pyproject.toml", "rb") as fh:
        pyproject = tomllib.load(fh)
    settings = pyproject.get("tool", {}).get("scoutcrew", {})
    return Project(root=root.resolve(), settings=dict(settings))
