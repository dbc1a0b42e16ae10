"""Progress bars that also collect per-step records as MLflow metric histories."""

from collections import defaultdict

from tqdm.auto import tqdm


class StepLog:
    """Collects per-step records as MLflow histories ({name: [{"value", "step"}]}) while
    driving a progress bar; pass `.on_step(prefix)` to a core loop."""

    def __init__(self, total: int, description: str, done: int = 0):
        self.bar = tqdm(total=total, initial=done, desc=description, dynamic_ncols=True)
        self.history: dict[str, list[dict]] = defaultdict(list)
        self.counters: dict[str, int] = defaultdict(int)

    def record(self, prefix: str, record: dict[str, float]) -> None:
        step = self.counters[prefix]
        self.counters[prefix] += 1
        for name, value in record.items():
            self.history[f"{prefix}.{name}"].append({"value": float(value), "step": step})
        self.bar.set_postfix({k: f"{v:.3f}" for k, v in record.items()}, refresh=False)
        self.bar.update(1)

    def on_step(self, prefix: str):
        """A core loop's `on_step(step, record)` that files records under `prefix`."""
        return lambda _step, record: self.record(prefix, record)

    def write(self, line: str) -> None:
        """A line above the bar that the bar does not overwrite (and no log handler cuts)."""
        self.bar.write(line)

    def close(self) -> dict[str, list[dict]]:
        self.bar.close()
        return dict(self.history)
