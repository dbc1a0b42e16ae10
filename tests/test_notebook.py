"""notebooks/explore_run.ipynb runs top to bottom on a test-environment run (so it cannot rot)."""

import os
from pathlib import Path

import nbformat
from kedro_run import PROJECT, run
from nbclient import NotebookClient


def test_the_notebook_runs_on_an_unlearn_run_and_a_sweep(tmp_path):
    run("unlearn", tmp_path)
    run(
        "sweep",
        tmp_path,
        sweep={"tau_floors": [0.3], "layers": [2], "ga_lrs": [1e-4], "npo_lrs": []},
    )
    notebook = nbformat.read(PROJECT / "notebooks/explore_run.ipynb", as_version=4)
    env = {
        "ATU_ENV": "test",
        "ATU_DATA_ROOT": str(tmp_path / "data"),
        "ATU_MLFLOW_DB": str(tmp_path / "mlflow.db"),
    }
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(
            notebook,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": str(PROJECT / "notebooks")}},
        ).execute()
    finally:
        for key in env:
            os.environ.pop(key)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3  # rounds, similarities, the sweep's trade-off
    text = "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "answer_after" in text and "atu_tau0p3_layer2" in text
    assert Path(PROJECT / "notebooks/explore_run.ipynb").read_text().count('"outputs": []') >= 1
