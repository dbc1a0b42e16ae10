"""The README's screenshots, taken with a real headless Chromium (Playwright drives it).

Not part of the project's dependencies; in a separate venv:

    pip install playwright                       # the driver; any Chromium binary will do
    kedro viz build && (cd build && python -m http.server 8765) &
    kedro mlflow ui --port 5055 &                # or: mlflow ui --backend-store-uri sqlite:///mlflow.db
    python docs/img/take_screenshots.py --chromium /usr/bin/chromium

Kedro-viz opens with its modular pipelines collapsed (its default; the feature tour is switched off
in its saved state). MLflow: the experiment page, and the compare view of the newest benchmark's
(or sweep's) child runs.
"""

import argparse
import json
from pathlib import Path
from urllib.request import Request, urlopen

from playwright.sync_api import sync_playwright

HERE = Path(__file__).parent
VIZ_STATE = {  # kedro-viz's saved state: collapsed groups, light theme, no tour
    "node": {"disabled": {}},
    "nodeType": {"disabled": {"parameters": True, "task": False, "data": False}},
    "pipeline": {"active": "__default__"},
    "layer": {"visible": True},
    "tag": {"enabled": {}},
    "textLabels": True,
    "visible": {
        "code": False,
        "graph": True,
        "miniMap": True,
        "sidebar": True,
        "slicing": True,
        "traceback": False,
    },
    "theme": "light",
    "isPrettyName": False,
    "showFeatureHints": False,
    "showDatasetPreviews": True,
    "flags": {"sizewarning": True},
    "expandAllPipelines": False,
    "orientation": "vertical",
    "featureHintStep": 0,
}


def mlflow_api(base: str, path: str, body: dict) -> dict:
    request = Request(
        f"{base}/ajax-api/2.0/mlflow/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urlopen(request) as response:  # noqa: S310 (localhost)
        return json.load(response)


def newest_parent_and_children(base: str, experiment: str) -> tuple[str, list[str]]:
    """The newest benchmark or sweep run that has child runs, and their ids."""
    found = mlflow_api(
        base,
        "runs/search",
        {
            "experiment_ids": [experiment],
            "order_by": ["attributes.start_time DESC"],
            "max_results": 1000,
        },
    )["runs"]
    tags = lambda run: {t["key"]: t["value"] for t in run["data"].get("tags", [])}  # noqa: E731
    for run in found:
        if tags(run).get("mlflow.runName") not in ("benchmark", "sweep"):
            continue
        parent = run["info"]["run_id"]
        children = [
            r["info"]["run_id"] for r in found if tags(r).get("mlflow.parentRunId") == parent
        ]
        if children:
            return parent, children
    raise SystemExit("no benchmark or sweep run with child runs in this experiment")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--viz", default="http://localhost:8765")
    parser.add_argument("--mlflow", default="http://localhost:5055")
    parser.add_argument("--experiment", default="1")
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        state = json.dumps(json.dumps(VIZ_STATE))
        page.add_init_script(f"localStorage.setItem('KedroViz', {state})")
        page.goto(args.viz)
        page.wait_for_timeout(5000)
        page.screenshot(path=HERE / "kedro_viz_collapsed.png")

        # MLflow 3.17 opens experiments in its GenAI view unless asked (README, "Looking at
        # results"); its assistant panel is closed as a returning user leaves it
        page.add_init_script("localStorage.setItem('mlflow.assistant.panelOpen_v1', 'false')")
        ml = "workflowType=machine_learning"
        page.goto(f"{args.mlflow}/#/experiments/{args.experiment}/runs?{ml}")
        page.wait_for_timeout(6000)
        page.screenshot(path=HERE / "mlflow_experiment.png")

        _, children = newest_parent_and_children(args.mlflow, args.experiment)
        compare = json.dumps(children)
        page.goto(
            f'{args.mlflow}/#/compare-runs?runs={compare}&experiments=["{args.experiment}"]&{ml}'
        )
        page.wait_for_timeout(8000)
        page.screenshot(path=HERE / "mlflow_compare.png", full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
