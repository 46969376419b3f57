"""The package layout: stage subpackages, no import circle, nothing heavy at import.

The import graph is read from the source with ``ast``: every ``import`` and ``from ...
import`` of a pianotx module, at the top of a module or inside a function, counts; imports
under ``if TYPE_CHECKING:`` never run and do not.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pianotx"
STAGES = ("audio", "music", "model", "engine", "data", "training", "evaluation", "score", "live",
          "cluster")
# Cross-cutting modules that every stage may use stay at the top level.
TOP_LEVEL = {"__init__", "__main__", "api", "bundled", "config", "errors", "files"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(tree: ast.AST, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """The pianotx modules ``tree`` imports; ``from X import y`` names X.y when that is a
    module, else X. Parent packages, imported implicitly, are not counted."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                anchor = package[: len(package) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            submodules = {f"{base}.{alias.name}" for alias in node.names} & modules
            names.update(submodules or {base})
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return (names & modules) - {module}


def import_graph() -> dict[str, set[str]]:
    """pianotx module -> the pianotx modules it imports."""
    modules = _modules()
    return {name: _imported(ast.parse(path.read_text()), name, path.name == "__init__.py",
                            set(modules))
            for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_graph_sees_top_level_and_function_level_imports():
    graph = import_graph()
    assert "pianotx.training.config" in graph["pianotx.training.loop"]  # top of the module
    assert "pianotx.training.loop" in graph["pianotx.training.run"]  # inside train()
    # rooms names RecordingConfig for typing only
    assert "pianotx.data.augment.recording" not in graph["pianotx.data.augment.rooms"]


def test_find_cycle_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_circle_between_pianotx_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_top_level_holds_only_cross_cutting_modules():
    flat = {p.stem for p in PACKAGE.glob("*.py")}
    assert flat == TOP_LEVEL, f"top-level modules {sorted(flat)}: put new ones in a stage package"
    assert {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} == {*STAGES, "cli"}


def test_each_package_says_what_it_takes_and_gives_and_imports_nothing():
    for init in PACKAGE.rglob("__init__.py"):
        if init.parent == PACKAGE:
            continue
        tree = ast.parse(init.read_text())
        doc = ast.get_docstring(tree)
        assert doc, f"{init} has no docstring"
        assert len(doc.split("\n\n")[0].splitlines()) <= 2, f"{init}: say it in two lines"
        if init.parent.name != "cli":  # the CLI package registers its commands
            assert "takes" in doc and "gives" in doc, f"{init}: say what the stage takes and gives"
            assert len(tree.body) == 1, f"{init} should hold its docstring only"


def test_importing_the_cli_and_the_stage_packages_leaves_torch_and_librosa_out():
    """So that ``pianotx --help`` answers at once and transcribing can do without torch."""
    packages = ", ".join(["pianotx.cli", *(f"pianotx.{stage}" for stage in STAGES)])
    code = (f"import sys, {packages}\n"
            "sys.exit('torch' in sys.modules or 'librosa' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
