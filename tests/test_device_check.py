"""benchmarks/device_check.py runs on the CPU with tiny shapes, so that it cannot rot before a
GPU session uses it."""

import json
import subprocess
import sys

from kedro_run import PROJECT


def test_the_device_check_runs_on_the_cpu_with_tiny_shapes():
    done = subprocess.run(
        [sys.executable, "benchmarks/device_check.py", "--device", "cpu", "--tiny", "--skip-tests"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["device"] == "cpu" and report["bf16_matmul_peak_tflops"] > 0
    tiny = report["tiny"]
    assert tiny["unlearn_step"]["flops"] > 0 and tiny["unlearn_step"]["seconds"] > 0
    assert tiny["unlearn_step_checkpointed"]["seconds"] > 0
    assert tiny["paper_schedule_hours"] > 0 and tiny["generation"]["prompts_per_s"] > 0
