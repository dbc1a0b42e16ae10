"""core/ is plain PyTorch: it must never import Kedro, MLflow, pydantic, pandas or yaml."""

import ast
from pathlib import Path

import atu_pipeline.core

FORBIDDEN = {"kedro", "kedro_mlflow", "mlflow", "pydantic", "pandas", "yaml", "omegaconf"}


def test_core_imports_no_framework():
    core = Path(atu_pipeline.core.__file__).parent
    offenders = []
    for path in core.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert not offenders
