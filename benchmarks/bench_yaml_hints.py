"""Does a YAML mistake's message name the line that holds the mistake?

    python benchmarks/bench_yaml_hints.py

Every content line of the shipped YAML files (agents.yaml, tasks.yaml, crews/*.yaml) is broken
in the ways people break YAML: indented 1 or 2 spaces more, 1 or 2 less, moved to the margin,
or a key's ':' left out. For each version that no longer parses, the problem `validate` prints
is read for its line, and compared with the line that was broken; the parser's own line (what
scoutcrew said before) is counted beside it. Exit 1 when fewer than TARGETS name the line.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

from scoutcrew.config.schema import AGENT_KEYS, CREW_KEYS, TASK_KEYS  # noqa: E402
from scoutcrew.config.yamlhints import KeyLevels  # noqa: E402
from scoutcrew.config.yamlsource import load_yaml  # noqa: E402

TARGETS = {"indentation": 0.90, "missing ':'": 0.95}  # share of cases that name the line
KEY = re.compile(r"^\s*(?:- )?[A-Za-z0-9_.-]+\s*:(\s|$)")


def mutations(line: str) -> dict[str, str | None]:
    spaced = line.startswith(" ")
    return {
        "indentation +1": " " + line,
        "indentation +2": "  " + line,
        "indentation -1": line[1:] if spaced else None,
        "indentation -2": line[2:] if line.startswith("  ") else None,
        "indentation to margin": line.lstrip() if spaced else None,
        "missing ':'": line.replace(":", "", 1) if KEY.match(line) else None,
    }


def shipped() -> list[tuple[str, list[str], KeyLevels]]:
    """The project's own YAML files: what the hints were developed against."""
    files = [("agents.yaml", AGENT_KEYS), ("tasks.yaml", TASK_KEYS)]
    files += [(f"crews/{p.name}", CREW_KEYS) for p in sorted((ROOT / "crews").glob("*.yaml"))]
    return [(name, (ROOT / name).read_text().split("\n"), keys) for name, keys in files]


def held_out() -> list[tuple[str, list[str], KeyLevels]]:
    """The README's YAML examples (the `critic` agent, its task and crew; the research,
    delivery and verify blocks of a crew file), never looked at while writing the hints."""
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    out = []
    for block in blocks:
        parts = re.split(r"^# (agents\.yaml|tasks\.yaml|crews/[\w.-]+)\n", block, flags=re.M)
        named = list(zip(parts[1::2], parts[2::2], strict=True)) if len(parts) > 1 else []
        for name, text in named or [("crew block", block)]:
            keys = AGENT_KEYS if name == "agents.yaml" else TASK_KEYS
            keys = keys if name in ("agents.yaml", "tasks.yaml") else CREW_KEYS
            lines = text.rstrip("\n").split("\n")
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            # Only whole files or blocks of a crew file (not a lone agent's fragment).
            if isinstance(data, dict) and (keys is not CREW_KEYS or set(data) <= CREW_KEYS[0]):
                out.append((f"README: {name}", lines, keys))
    return out


def measure(files: list[tuple[str, list[str], KeyLevels]]) -> Counter[tuple[str, str, bool]]:
    counts: Counter[tuple[str, str, bool]] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "broken.yaml"
        for _name, lines, keys in files:
            for index, line in enumerate(lines):
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                for kind, broken in mutations(line).items():
                    if broken is None:
                        continue
                    text = "\n".join([*lines[:index], broken, *lines[index + 1 :]])
                    try:
                        yaml.safe_load(text)
                        continue  # still valid YAML: the schema check names it, not this
                    except yaml.YAMLError as exc:
                        mark = getattr(exc, "problem_mark", None)
                        parser_line = mark.line + 1 if mark is not None else 0
                    target.write_text(text)
                    problem = load_yaml(target, "broken.yaml", keys).problems[0]
                    ours = int(problem.split(":")[1])
                    group = "missing ':'" if kind == "missing ':'" else "indentation"
                    counts[(group, "scoutcrew", ours == index + 1)] += 1
                    counts[(group, "parser", parser_line == index + 1)] += 1
    return counts


def main() -> int:
    started = time.monotonic()
    sets = {"shipped files (tuned)": shipped(), "README examples (held out)": held_out()}
    print(
        f"{'set':<28} {'mistake':<12} {'cases':>6} {'right line':>11} {'parser':>7} {'target':>7}"
    )
    missed = []
    for label, files in sets.items():
        counts = measure(files)
        for group, target_share in TARGETS.items():
            total = counts[(group, "scoutcrew", True)] + counts[(group, "scoutcrew", False)]
            if not total:
                continue
            ours = counts[(group, "scoutcrew", True)] / total
            parser = counts[(group, "parser", True)] / total
            print(
                f"{label:<28} {group:<12} {total:>6} {ours:>10.0%} {parser:>7.0%} "
                f"{target_share:>7.0%}"
            )
            if ours < target_share:
                missed.append(f"{label}: {group}")
    seconds = time.monotonic() - started
    print(f"\n{seconds:.1f} s for all cases; " + (f"missed: {missed}" if missed else "all met"))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
