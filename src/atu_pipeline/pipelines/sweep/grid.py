"""The sweep's grid: its points come from `params:sweep` in the run's environment.

Kedro builds pipelines before any node runs and without the environment, but a sweep's
structure (one namespaced instance per point) depends on the grid in conf/. The project hook
hands the grid over once the run's configuration is loaded (`configure`); the registry then
builds one instance per point. Without a run (a bare `register_pipelines()`), the grid of
conf/base is used.
"""

from dataclasses import dataclass
from pathlib import Path

from atu_pipeline.params import SweepParams

_grid: SweepParams | None = None


@dataclass(frozen=True)
class Point:
    method: str  # atu | ga | npo
    rounds: int  # as every other point of the sweep
    layer: int | None = None  # ATU's hook layer
    tau_floor: float | None = None  # ATU's last τ
    lr: float | None = None  # a baseline's learning rate

    @property
    def namespace(self) -> str:
        """Dot-free, readable: atu_tau0p05_layer10, atu_taum0p1_layer5, ga_lr1em05."""
        if self.method == "atu":
            return f"atu_tau{_slug(self.tau_floor)}_layer{self.layer}"
        return f"{self.method}_lr{_slug(self.lr)}"

    def labels(self) -> dict[str, object]:
        """The point's coordinates, as MLflow parameters and table columns."""
        labels = {"method": self.method, "tau": self.tau_floor, "layer": self.layer}
        return labels | {"lr": self.lr, "rounds": self.rounds}


def _slug(value: float) -> str:
    return f"{value:g}".replace("-", "m").replace(".", "p").replace("+", "")


def points(sweep: SweepParams) -> list[Point]:
    rounds = sweep.rounds
    grid = [Point("atu", rounds, layer, tau) for tau in sweep.tau_floors for layer in sweep.layers]
    grid += [Point("ga", rounds, lr=lr) for lr in sweep.ga_lrs]
    grid += [Point("npo", rounds, lr=lr) for lr in sweep.npo_lrs]
    names = [p.namespace for p in grid]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"params:sweep repeats grid points {duplicates}")
    return grid


def configure(raw: dict | None) -> bool:
    """Set the grid from a run's `sweep` parameters; True when it changed."""
    global _grid
    grid = SweepParams.model_validate(raw or {})
    changed = grid != _grid
    _grid = grid
    return changed


def active() -> SweepParams:
    if _grid is None:
        configure(_base_parameters().get("sweep"))
    return _grid


def _base_parameters() -> dict:
    from kedro.config import OmegaConfigLoader

    conf = Path.cwd() / "conf"
    if not conf.is_dir():
        return {}
    return OmegaConfigLoader(str(conf), base_env="base", default_run_env="base")["parameters"]
