"""The package's shape: imports point one way, no cycles, private names stay in their module.

Read from the source with ast (imports inside functions count too), so a lazy import that
closes a circle is caught as surely as one at the top of a file. Imports under
`if TYPE_CHECKING:` never run: they obey the layers, but cannot close a circle at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "scoutcrew"

# The stages of a run, lowest first. A module may import its own folder and the folders of
# lower layers, never a folder of its own layer or a higher one: later stages use earlier
# ones, never back. Folders on one layer are peers that do not know each other.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "text"),  # every exception; words, tokens, outside text made safe
    ("config",),  # the YAML into a plan
    ("store",),  # the SQLite store, the run history, the crew locks
    ("gather",),  # feeds, search, pages (no model)
    ("select",),  # duplicates, what is new, ranking, the evidence pack (no model)
    ("llm",),  # model calls: Ollama, the embedded engine, chains, ledger, budgets
    ("notes",),  # the map step and the levels of summaries
    ("stories",),  # notes grouped by event, identity across runs
    # the research loop; the crewai crew; claim checks; what the reader wants (ratings)
    ("research", "crew", "verify", "prefs"),
    ("report",),  # the Markdown, HTML, JSON and Atom renderers
    ("run",),  # the run graph: every stage in order, checkpoints, resume, publish
    ("schedule",),  # runs on a clock, as child processes
    ("scale", "serve", "testing"),  # many runs at once; where people read; test doubles
    ("commands",),  # the command groups of the CLI
    ("cli",),  # the `scoutcrew` command: the one place errors become exit codes
    ("main",),  # crewai's `run_crew` hook
]
LAYER_OF = {folder: i for i, layer in enumerate(LAYERS) for folder in layer}

# Further rules, by folder: what it may never import even where its layer would allow it.
FORBIDDEN = {
    # crewai is imported in the crew folder and in the LLM layer's adapter only.
    **{
        f"scoutcrew.{folder}": ("crewai",)
        for folder in LAYER_OF
        if folder not in {"crew", "llm", "run", "scale", "testing", "commands", "cli", "main"}
    },
    # The clock and the reading side run crews only as child processes, never in their own.
    "scoutcrew.schedule": ("crewai", "scoutcrew.run", "scoutcrew.crew", "scoutcrew.llm"),
    "scoutcrew.serve": (
        "crewai",
        "scoutcrew.crew",
        "scoutcrew.llm",
        "scoutcrew.run",
        "scoutcrew.commands",
    ),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def type_checking_only(tree: ast.AST) -> set[ast.AST]:
    """The nodes under `if TYPE_CHECKING:` (imports for annotations, never run)."""
    skipped: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(ast.walk(child))
    return skipped


def imports_of(name: str, run_time: bool = False) -> list[tuple[str, list[str], int]]:
    """Return (imported module, names taken from it, line) for every import in `name`.

    run_time: leave out the imports under `if TYPE_CHECKING:`.
    """
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    tree = ast.parse(path.read_text(), str(path))
    skipped = type_checking_only(tree) if run_time else set()
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [alias.name for alias in node.names]
            # `from pkg import module` imports the module, not a name of the package.
            for sub in [n for n in names if f"{target}.{n}" in MODULES]:
                found.append((f"{target}.{sub}", [], node.lineno))
            rest = [n for n in names if f"{target}.{n}" not in MODULES]
            if rest:
                found.append((target, rest, node.lineno))
    return found


def internal_graph() -> dict[str, set[str]]:
    return {
        name: {t for t, _, _ in imports_of(name, run_time=True) if t in MODULES and t != name}
        for name in MODULES
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_walker_sees_a_cycle_when_there_is_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_type_only_imports_are_left_out_of_the_run_time_graph() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nimport os\nif TYPE_CHECKING:\n    from x import Y\n"
    )
    skipped = type_checking_only(tree)
    kinds = [type(n).__name__ for n in skipped if isinstance(n, ast.Import | ast.ImportFrom)]
    assert kinds == ["ImportFrom"]


def test_no_import_cycles_between_modules() -> None:
    cycle = find_cycle(internal_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_module_imports_another_modules_private_names() -> None:
    offences = [
        f"{MODULES[name].relative_to(PACKAGE.parent)}:{line}: {target}.{n}"
        for name in MODULES
        for target, names, line in imports_of(name)
        for n in names
        if n.startswith("_") and not n.startswith("__") and target != name
    ]
    assert not offences, "private names imported across modules:\n" + "\n".join(offences)


def folder_of(name: str) -> str:
    return name.split(".")[1] if name.count(".") else ""


def test_every_folder_and_top_level_module_has_a_layer() -> None:
    folders = {folder_of(name) for name in MODULES if name != "scoutcrew"}
    assert folders <= set(LAYER_OF), f"not placed in LAYERS: {sorted(folders - set(LAYER_OF))}"


@pytest.mark.parametrize("folder", sorted(LAYER_OF))
def test_a_stage_imports_only_lower_layers(folder: str) -> None:
    offences = []
    for name in MODULES:
        if folder_of(name) != folder:
            continue
        for target, _, line in imports_of(name):
            other = folder_of(target) if target.startswith("scoutcrew.") else ""
            if other and other != folder and LAYER_OF.get(other, -1) >= LAYER_OF[folder]:
                where = MODULES[name].relative_to(PACKAGE.parent)
                offences.append(f"{where}:{line}: imports {target} (layer {LAYER_OF[other]})")
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize("stage", sorted(FORBIDDEN))
def test_stages_never_import_what_their_rules_forbid(stage: str) -> None:
    offences = [
        f"{MODULES[name].relative_to(PACKAGE.parent)}:{line}: imports {target}"
        for name in MODULES
        if name == stage or name.startswith(stage + ".")
        for target, _, line in imports_of(name)
        if any(target == f or target.startswith(f + ".") for f in FORBIDDEN[stage])
    ]
    assert not offences, "\n".join(offences)


def test_package_inits_say_what_they_hold_and_import_nothing() -> None:
    for name, path in MODULES.items():
        if path.name != "__init__.py" or name == "scoutcrew":
            continue
        tree = ast.parse(path.read_text())
        doc = ast.get_docstring(tree) or ""
        assert doc, f"{name} has no docstring"
        assert "import" in doc.lower(), f"{name}'s docstring omits what it may import"
        assert not [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)], name


def test_only_the_cli_turns_errors_into_exit_codes() -> None:
    """sys.exit and exit-code-returning commands live in scoutcrew.cli (and main, crewai's hook)."""
    offences = []
    for name, path in MODULES.items():
        if name.startswith(("scoutcrew.cli", "scoutcrew.commands")) or name == "scoutcrew.main":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr == "exit" and getattr(node.func.value, "id", "") == "sys":
                    offences.append(f"{name}:{node.lineno}: sys.exit")
            if isinstance(node, ast.FunctionDef) and node.name.startswith("cmd_"):
                offences.append(f"{name}:{node.lineno}: CLI command {node.name}")
    assert not offences, "\n".join(offences)


MAX_LINES = 600
"""No module longer than this: past it, a module holds more than one concept."""
TOP_LEVEL = {"scoutcrew", "scoutcrew.cli", "scoutcrew.main", "scoutcrew.errors"}
"""The only modules outside a folder: the command, crewai's hook, and every exception."""


def test_no_module_is_longer_than_the_limit() -> None:
    long = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in MODULES.values()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split by concept: {long}"


def test_only_the_entry_points_and_the_errors_sit_loose_at_the_top() -> None:
    loose = {
        name for name in MODULES if name.count(".") <= 1 and not MODULES[name].name == "__init__.py"
    }
    loose |= {"scoutcrew"}
    assert loose <= TOP_LEVEL, (
        f"put these in the folder of their stage: {sorted(loose - TOP_LEVEL)}"
    )
