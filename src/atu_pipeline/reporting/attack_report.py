"""The attack report: a tidy table, markdown, MLflow histories and plots. Pure functions of the
attack nodes' outputs; no Kedro, no files. Definitions: docs/evaluation.md, "Attacks".

Inputs:
    quantization: `{model: {setting: {metric: {"value", "n"}}}}`, settings "fp", "int8", ...
    relearning: `{"data": {...}, "curves": {model: [{"step", "scores"}]}, "loss": {model: hist}}`
    lens: one row per model x probe x layer with `rank` (0 = top) and `prob`.
Models are "original" (before unlearning) and "unlearned".
"""

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from atu_pipeline.reporting import eval_report as reporting

COLUMNS = ["attack", "model", "setting", "step", "metric", "value", "n"]
MODELS = ("original", "unlearned")
FORGET, NEIGHBOR = "forget/all", "neighbor/all"
STEPPED = ("relearning", "logit_lens")  # their step (relearning step, layer) is MLflow's step


def recovered_share(original_fp: float, unlearned_fp: float, unlearned_now: float) -> float:
    """(U_now − U_fp) / (O_fp − U_fp): the share of the forgotten score that came back
    (0 = none, 1 = all of it); NaN when unlearning removed nothing (O_fp ≤ U_fp)."""
    forgotten = original_fp - unlearned_fp
    return (unlearned_now - unlearned_fp) / forgotten if forgotten > 0 else math.nan


def _value(scores: dict, metric: str) -> float:
    entry = scores.get(metric)
    return math.nan if entry is None else float(entry["value"])


def _score_rows(attack: str, model: str, setting: str, step: int, scores: dict) -> list[dict]:
    return [
        {
            "attack": attack,
            "model": model,
            "setting": setting,
            "step": step,
            "metric": metric,
            "value": float(entry["value"]),
            "n": entry.get("n"),
        }
        for metric, entry in scores.items()
    ]


def _share_row(attack: str, setting: str, step: int, value: float) -> dict:
    return {
        "attack": attack,
        "model": "unlearned",
        "setting": setting,
        "step": step,
        "metric": "recovered_share",
        "value": value,
        "n": None,
    }


def quantization_rows(quantization: dict) -> list[dict]:
    rows = []
    for model, settings in quantization.items():
        for setting, scores in settings.items():
            rows += _score_rows("quantization", model, setting, 0, scores)
    original, unlearned = (quantization[m]["fp"] for m in MODELS)
    for setting, scores in quantization["unlearned"].items():
        share = recovered_share(
            _value(original, FORGET), _value(unlearned, FORGET), _value(scores, FORGET)
        )
        rows.append(_share_row("quantization", setting, 0, share))
    return rows


def attack_type_rows(quantization: dict) -> list[dict]:
    """The adversarial (level 3) forget probes per RWKU attack type, full precision."""
    rows = []
    for model in MODELS:
        scores = quantization[model]["fp"]
        aa = {k: v for k, v in scores.items() if k == "forget/aa" or k.startswith("forget/aa/")}
        rows += _score_rows("attack_type", model, "fp", 0, aa)
    return rows


def relearning_rows(relearning: dict) -> list[dict]:
    rows = []
    for model, curve in relearning["curves"].items():
        for point in curve:
            rows += _score_rows(
                "relearning", model, f"step {point['step']}", point["step"], point["scores"]
            )
    original, unlearned = (relearning["curves"][m] for m in MODELS)
    start_o, start_u = _value(original[0]["scores"], FORGET), _value(unlearned[0]["scores"], FORGET)
    for point in unlearned:
        share = recovered_share(start_o, start_u, _value(point["scores"], FORGET))
        rows.append(_share_row("relearning", f"step {point['step']}", point["step"], share))
    return rows


def lens_by_layer(lens: pd.DataFrame) -> pd.DataFrame:
    """Per model and layer: median rank, mean probability x100, top-1 and top-10 shares x100."""
    grouped = lens.assign(
        top1=(lens["rank"] == 0) * 100.0, top10=(lens["rank"] < 10) * 100.0, prob=lens["prob"] * 100
    ).groupby(["model", "layer"])
    return grouped.agg(
        median_rank=("rank", "median"),
        mean_prob=("prob", "mean"),
        top1=("top1", "mean"),
        top10=("top10", "mean"),
        n=("rank", "size"),
    ).reset_index()


def logit_lens_rows(lens: pd.DataFrame) -> list[dict]:
    rows = []
    for r in lens_by_layer(lens).itertuples():
        for metric in ("median_rank", "mean_prob", "top1", "top10"):
            rows.append(
                {
                    "attack": "logit_lens",
                    "model": r.model,
                    "setting": f"layer {r.layer}",
                    "step": int(r.layer),
                    "metric": metric,
                    "value": float(getattr(r, metric)),
                    "n": int(r.n),
                }
            )
    return rows


def attack_table(quantization: dict, relearning: dict, lens: pd.DataFrame) -> pd.DataFrame:
    """One row per attack x model x setting x metric (see the module docstring)."""
    rows = quantization_rows(quantization) + attack_type_rows(quantization)
    rows += relearning_rows(relearning) + logit_lens_rows(lens)
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.astype(
        {
            "attack": str,
            "model": str,
            "setting": str,
            "step": int,
            "metric": str,
            "value": float,
            "n": "Int64",
        }
    )


def mlflow_metrics(table: pd.DataFrame, relearning: dict) -> dict[str, list[dict]]:
    """`attack/<attack>/<model>/[<setting>/]<metric>`; relearning and logit-lens rows keep their
    step (relearning step, layer) as MLflow's step, the others are step 0. NaN is left out."""
    out: dict[str, list[dict]] = {}
    for r in table.itertuples():
        if not math.isfinite(r.value):
            continue
        setting = "" if r.attack in STEPPED else f"{r.setting}/"
        key = f"attack/{r.attack}/{r.model}/{setting}{r.metric}"
        out.setdefault(key, []).append({"value": r.value, "step": int(r.step)})
    for model, history in relearning.get("loss", {}).items():
        for name, points in history.items():
            out[f"attack/relearning/{model}/{name.split('.')[-1]}"] = points
    return out


# ---------------------------------------------------------------- markdown


def _cell(value, digits: int = 1) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _markdown(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows])


def _pct(share: float) -> str:
    return "–" if not math.isfinite(share) else f"{100 * share:.0f} %"


def quantization_markdown(quantization: dict) -> str:
    original, unlearned = (quantization[m] for m in MODELS)
    rows = []
    for setting in unlearned:
        o, u = original.get(setting, {}), unlearned[setting]
        share = recovered_share(
            _value(original["fp"], FORGET), _value(unlearned["fp"], FORGET), _value(u, FORGET)
        )
        values = [_value(scores, m) for m in (FORGET, NEIGHBOR) for scores in (o, u)]
        rows.append([setting, *(_cell(v) for v in values), _pct(share)])
    header = [
        "weights",
        "forget original",
        "forget unlearned",
        "neighbor original",
        "neighbor unlearned",
        "recovered share",
    ]
    return _markdown(header, rows)


def relearning_markdown(relearning: dict) -> str:
    original, unlearned = (relearning["curves"][m] for m in MODELS)
    start_o, start_u = _value(original[0]["scores"], FORGET), _value(unlearned[0]["scores"], FORGET)
    rows = []
    for o, u in zip(original, unlearned, strict=True):
        so, su = o["scores"], u["scores"]
        share = recovered_share(start_o, start_u, _value(su, FORGET))
        values = [_value(scores, m) for m in (FORGET, NEIGHBOR) for scores in (so, su)]
        rows.append([o["step"], *(_cell(v) for v in values), _pct(share)])
    header = [
        "step",
        "held-out forget original",
        "held-out forget unlearned",
        "neighbor original",
        "neighbor unlearned",
        "recovered share",
    ]
    data = relearning["data"]
    intro = (
        f"Relearning text: {data['texts']} forget-corpus texts ({data['sentences']} sentences) "
        f"with every sentence removed that mentions a held-out forget answer or a neighbor "
        f"answer. Held out: {len(data['held_out'])} of {data['forget_answers']} distinct forget "
        f"answers ({data['held_out_probes']} probes); never held out: the "
        f"{len(data['naming_the_target'])} naming the target (every sentence names it). Scored "
        f"at each step: the held-out forget probes and the neighbor probes."
    )
    return intro + "\n\n" + _markdown(header, rows)


def attack_type_markdown(quantization: dict) -> str:
    original, unlearned = (quantization[m]["fp"] for m in MODELS)
    keys = sorted(k for k in unlearned if k.startswith("forget/aa/"))
    rows = []
    for key in [*keys, "forget/aa"]:
        o, u = _value(original, key), _value(unlearned, key)
        label = key.removeprefix("forget/aa/").replace("_", " ") if key in keys else "**all AA**"
        rows.append([label, _cell(o), _cell(u), _cell(u - o), unlearned.get(key, {}).get("n")])
    return _markdown(["attack type", "original", "unlearned", "Δ", "n"], rows)


def logit_lens_markdown(lens: pd.DataFrame, hook_layer: int | None) -> str:
    by_layer = lens_by_layer(lens).set_index(["model", "layer"])
    layers = sorted(lens["layer"].unique())
    rows = []
    for layer in layers:
        o, u = by_layer.loc[("original", layer)], by_layer.loc[("unlearned", layer)]
        label = f"{layer} (hook)" if layer == hook_layer else str(layer)
        rows.append(
            [
                label,
                _cell(o.median_rank, 0),
                _cell(u.median_rank, 0),
                _cell(o.mean_prob, 2),
                _cell(u.mean_prob, 2),
                _cell(o.top10),
                _cell(u.top10),
            ]
        )
    rank = by_layer["median_rank"].unstack("layer")  # (model, layer)
    best = {model: rank.loc[model].idxmin() for model in MODELS}
    last = layers[-1]

    def where(model: str) -> str:
        return (
            f"median rank {rank.at[model, best[model]]:.0f} at its best layer ({best[model]}), "
            f"{rank.at[model, last]:.0f} at the output, top-10 share at the output "
            f"{by_layer.at[(model, last), 'top10']:.0f} %"
        )

    summary = (
        f"{int(by_layer['n'].iloc[0])} forget probes, gold = the answer's first token. Original: "
        f"{where('original')}. Unlearned: {where('unlearned')}. A gold token that ranks far "
        f"better in a middle layer than at the output suggests the knowledge is still computed "
        f"there and suppressed above it."
    )
    header = [
        "layer",
        "median rank original",
        "median rank unlearned",
        "mean p % original",
        "mean p % unlearned",
        "top-10 % original",
        "top-10 % unlearned",
    ]
    return summary + "\n\n" + _markdown(header, rows)


def report_markdown(
    quantization: dict,
    relearning: dict,
    lens: pd.DataFrame,
    *,
    title: str,
    attacked: str,
    hook_layer: int | None,
) -> str:
    parts = [
        f"# {title}",
        f"Attacked model: `{attacked}`; original: the same model before unlearning. Probe "
        "scores are ROUGE-L recall x100 (`forget/all`, `neighbor/all`, pooled). Recovered share "
        "= (unlearned after the attack − unlearned before) / (original − unlearned before), on "
        '`forget/all`. Definitions: docs/evaluation.md, "Attacks".',
        "## Quantization",
        quantization_markdown(quantization),
        "## Relearning",
        relearning_markdown(relearning),
        "## Adversarial probes by attack type (full precision)",
        attack_type_markdown(quantization),
        "## Logit lens",
        logit_lens_markdown(lens, hook_layer),
    ]
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------- plots


def plot_quantization(quantization: dict) -> Figure:
    """Forget and neighbor scores per weight format, original vs unlearned."""
    settings = list(quantization["unlearned"])
    fig = Figure(figsize=(10, 4), layout="constrained")
    for ax, metric in zip(fig.subplots(1, 2), (FORGET, NEIGHBOR), strict=True):
        x, width = np.arange(len(settings)), 0.38
        for i, model in enumerate(MODELS):
            values = [_value(quantization[model].get(s, {}), metric) for s in settings]
            bars = ax.bar(x + (i - 0.5) * width, values, width, label=model)
            ax.bar_label(bars, fmt="%.1f", fontsize=7)
        ax.set_xticks(x, settings)
        ax.set(title=metric, ylabel="ROUGE-L recall x100", ylim=(0, 105))
        ax.legend()
    return fig


def plot_relearning(relearning: dict) -> Figure:
    """Held-out forget and neighbor scores per relearning step, original vs unlearned."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    titles = {FORGET: "held-out forget probes", NEIGHBOR: "neighbor probes"}
    for ax, metric in zip(fig.subplots(1, 2), (FORGET, NEIGHBOR), strict=True):
        for model, style in zip(MODELS, ("o--", "s-"), strict=True):
            curve = relearning["curves"][model]
            steps = [p["step"] for p in curve]
            ax.plot(steps, [_value(p["scores"], metric) for p in curve], style, label=model)
        ax.set(
            title=titles[metric],
            xlabel="relearning step",
            ylabel="ROUGE-L recall x100",
            ylim=(0, 100),
        )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    return fig


def plot_logit_lens(lens: pd.DataFrame, hook_layer: int | None) -> Figure:
    """Median rank (log scale) and mean probability of the gold first token by layer."""
    by_layer = lens_by_layer(lens)
    fig = Figure(figsize=(10, 4), layout="constrained")
    panels = (("median_rank", "median rank of the gold token + 1"), ("mean_prob", "mean p x100"))
    for ax, (metric, ylabel) in zip(fig.subplots(1, 2), panels, strict=True):
        for model, style in zip(MODELS, ("o--", "s-"), strict=True):
            rows = by_layer[by_layer["model"] == model]
            values = rows[metric] + (1 if metric == "median_rank" else 0)
            ax.plot(rows["layer"], values, style, label=model)
        if hook_layer is not None:
            ax.axvline(hook_layer, color="grey", ls=":", label=f"hook layer {hook_layer}")
        ax.set(xlabel="layer", ylabel=ylabel, yscale="log" if metric == "median_rank" else "linear")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    fig.suptitle("logit lens on the forget probes")
    return fig


def plot_attack_types(quantization: dict) -> Figure:
    """Adversarial forget probes per attack type, original vs unlearned (full precision)."""
    stages = {model: quantization[model]["fp"] for model in MODELS}
    return reporting.plot_attack_types(reporting.tidy_table(stages))
