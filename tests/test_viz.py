"""CI's check that the whole graph renders: `kedro viz build`, headless, as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def test_kedro_viz_build_renders_every_pipeline_with_its_blocks_as_groups():
    kedro = Path(sys.executable).with_name("kedro")
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [str(kedro), "viz", "build"], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    api = PROJECT / "build/api/pipelines"
    for name in (
        "unlearn",
        "baseline_ga",
        "baseline_npo",
        "sweep",
        "compare",
        "evaluate",
        "benchmark",
    ):
        assert (api / name).is_file(), name
    unlearn = json.loads((api / "unlearn").read_text())
    groups = {n["name"] for n in unlearn["nodes"] if n.get("type") == "modularPipeline"}
    assert {"ingest", "inject", "embed", "align", "unlearn"} <= groups  # blocks that fold
    layers = {n.get("layer") for n in unlearn["nodes"] if n.get("type") == "data"}
    assert {"primary", "feature", "models", "reporting"} <= layers  # datasets sit on data layers
    sweep = json.loads((api / "sweep").read_text())
    groups = {n["name"] for n in sweep["nodes"] if n.get("type") == "modularPipeline"}
    assert {"sweep", "compare"} <= groups
