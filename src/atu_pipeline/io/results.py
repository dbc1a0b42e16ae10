"""Result folders: one sub-folder per point of a sweep (or a benchmark), written atomically."""

import json
import shutil
from pathlib import Path

import pandas as pd


class ResultFolder:
    """`<root>/<point>/` holds result.json and, for an unlearning run, round_scores.csv and
    unlearn_summary.txt."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def read(self, point: str) -> dict | None:
        """The point's saved result, or None when there is none (or it cannot be read)."""
        path = self.root / point / "result.json"
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def write(
        self,
        point: str,
        result: dict,
        round_scores: pd.DataFrame | None = None,
        summary: str | None = None,
    ) -> Path:
        """Write aside, then rename: a run killed while writing leaves no half result behind."""
        folder = self.root / point
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        if round_scores is not None:
            round_scores.to_csv(partial / "round_scores.csv", index=False)
        if summary is not None:
            (partial / "unlearn_summary.txt").write_text(summary)
        (partial / "result.json").write_text(json.dumps(result, indent=2, default=str))
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
        return folder
