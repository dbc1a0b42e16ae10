"""The shape docs/architecture.md promises, checked on the source: imports point one way and
form no circle, no pipeline imports another, no module-level mutable state, short functions."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "atu_pipeline"
# layer -> the project layers it may import (besides itself); `pipelines` is checked per block
ALLOWED = {
    "core": set(),
    "params": set(),
    "tracking": set(),
    "data": set(),
    "io": {"core", "data"},
    "reporting": {"params", "data"},
    "recipes": {"core", "data", "io", "reporting", "params", "tracking"},
    "pipelines": {"core", "data", "io", "reporting", "params", "recipes", "tracking"},
    "hooks": {"tracking"},
    "settings": {"hooks"},
    "pipeline_registry": {"pipelines"},
    "__main__": set(),
}
MAX_FUNCTION_LINES = 60
MAX_NODE_LINES = 20
DATA_MODULES = ("data/demo_world/",)  # tables of facts and templates may run long


def _modules() -> dict[str, ast.Module]:
    return {
        ".".join(path.relative_to(SRC).with_suffix("").parts): ast.parse(path.read_text())
        for path in PACKAGE.rglob("*.py")
    }


MODULES = _modules()


def _name(module: str) -> str:
    return module.removesuffix(".__init__")


def _project_imports(module: str, tree: ast.Module) -> set[str]:
    """Project modules imported anywhere in the file (absolute or relative)."""
    package = module.rsplit(".", 1)[0] if not module.endswith("__init__") else _name(module)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    known = {_name(m) for m in MODULES}
    return {name for name in found if name in known and name != _name(module)}


def _layer(module: str) -> str:
    return _name(module).split(".")[1] if "." in _name(module) else _name(module)


def _block(module: str) -> str | None:
    parts = _name(module).split(".")
    return parts[2] if parts[1] == "pipelines" and len(parts) > 2 else None


GRAPH = {_name(m): _project_imports(m, tree) for m, tree in MODULES.items()}


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_down_or_into_a_leaf(module):
    layer = _layer(module)
    for imported in GRAPH[module]:
        other = _layer(imported)
        if other == "atu_pipeline" or other == layer and layer != "pipelines":
            continue
        if layer == "pipelines" and other == "pipelines":
            assert _block(imported) in (None, _block(module)) or module.endswith("pipelines"), (
                f"{module} imports another block's module {imported}"
            )
            continue
        assert other in ALLOWED[layer], f"{module} ({layer}) may not import {imported} ({other})"


def test_no_import_circle():
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for imported in sorted(GRAPH.get(module, ())):
            if state.get(imported) == "open":
                raise AssertionError(" -> ".join([*path, module, imported]))
            if imported not in state:
                visit(imported, [*path, module])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [])


def test_no_module_level_mutable_state():
    for module, tree in MODULES.items():
        assert not any(isinstance(node, ast.Global) for node in ast.walk(tree)), module


def _functions(tree: ast.Module):
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def test_no_function_runs_past_sixty_lines_outside_the_demo_worlds_data():
    long = [
        f"{module}.{f.name}: {f.end_lineno - f.lineno + 1}"
        for module, tree in MODULES.items()
        if not any(part in module.replace(".", "/") + "/" for part in DATA_MODULES)
        for f in _functions(tree)
        if f.end_lineno - f.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, long


def _body_lines(function: ast.FunctionDef) -> int:
    """Lines after the signature and the docstring (a node's signature lists its inputs)."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body[-1].end_lineno - body[0].lineno + 1 if body else 0


def test_node_functions_are_thin_adapters():
    long = [
        f"{module}.{f.name}: {_body_lines(f)}"
        for module, tree in MODULES.items()
        if module.endswith(".nodes")
        for f in _functions(tree)
        if _body_lines(f) > MAX_NODE_LINES
    ]
    assert not long, long
