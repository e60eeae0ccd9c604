"""Shared fixtures: every test gets its own data directory and a private copy of the project."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoutcrew.testing.scripts import copy_project

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def models_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the embedded model file, so a test session assembles it once."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models_cache: Path) -> Path:
    """Point SCOUTCREW_HOME at a temporary folder and keep the environment predictable."""
    home = tmp_path / "home"
    monkeypatch.setenv("SCOUTCREW_HOME", str(home))
    monkeypatch.setenv("SCOUTCREW_MODELS", str(models_cache))
    monkeypatch.delenv("SCOUTCREW_BACKEND", raising=False)
    monkeypatch.delenv("SCOUTCREW_DEBUG", raising=False)
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # nothing listens there
    # Scripted models answer what each test enqueues: the capability probe's calls would take
    # those answers, so a run does not probe unless a test turns it on (test_probe.py).
    monkeypatch.setenv("SCOUTCREW_PROBE", "off")
    return home


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A copy of the shipped project (YAML, crews, sample feeds) in a temporary folder."""
    return copy_project(ROOT, tmp_path / "project")


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory):
    """A project copy with one finished demo run (flags included): read-only for tests."""
    from servekit import Site, fake_ollama, make_project, run_demo

    base = tmp_path_factory.mktemp("site")
    site = Site(make_project(base / "project"), base / "home")
    with fake_ollama() as ollama:
        run_demo(site, ollama.url)
    return site
