"""Progress bars that also collect per-step records as MLflow metric histories."""

from collections import defaultdict

from tqdm.auto import tqdm


class StepLog:
    """Collects per-step records as MLflow histories ({name: [{"value", "step"}]}) while
    driving a progress bar; pass `.on_step(prefix)` to a core loop.

    Records may hold device tensors: they are read (a device sync) only for the bar's postfix,
    every `postfix_every` steps, and all at once in `close`."""

    def __init__(self, total: int, description: str, done: int = 0, postfix_every: int = 10):
        self.bar = tqdm(total=total, initial=done, desc=description, dynamic_ncols=True)
        self.history: dict[str, list[dict]] = defaultdict(list)
        self.counters: dict[str, int] = defaultdict(int)
        self.postfix_every = postfix_every

    def record(self, prefix: str, record: dict) -> None:
        step = self.counters[prefix]
        self.counters[prefix] += 1
        for name, value in record.items():
            self.history[f"{prefix}.{name}"].append({"value": value, "step": step})
        if step % self.postfix_every == 0:
            self.bar.set_postfix({k: f"{float(v):.3f}" for k, v in record.items()}, refresh=False)
        self.bar.update(1)

    def on_step(self, prefix: str):
        """A core loop's `on_step(step, record)` that files records under `prefix`."""
        return lambda _step, record: self.record(prefix, record)

    def write(self, line: str) -> None:
        """A line above the bar that the bar does not overwrite (and no log handler cuts)."""
        self.bar.write(line)

    def close(self) -> dict[str, list[dict]]:
        self.bar.close()
        return {
            name: [{"value": float(entry["value"]), "step": entry["step"]} for entry in entries]
            for name, entries in self.history.items()
        }
