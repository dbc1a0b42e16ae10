"""The plain functions every recipe calls around its loop: trainable copy, round checkpoints and
resume, the keep rule on saved rounds, the round table."""

import pandas as pd
import pytest
import torch

from atu_pipeline.core.training import make_optimizer
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import BaselineParams, EvalParams, TrainableParams
from atu_pipeline.recipes.rounds import (
    RoundLog,
    keep_round,
    resume,
    round_metrics,
    round_table,
    run_directory,
    save_round,
    seeded_generator,
    trainable_copy,
)

SETTINGS = BaselineParams(
    method="ga", train={"lr": 1e-3}, trainable={"mode": "layers", "first_layer": 2}
)
BASELINE = {"val/forget/all": 90.0, "val/neighbor/all": 80.0}


def _same_weights(a, b) -> bool:
    return all(
        torch.equal(x, y) for x, y in zip(a.model.parameters(), b.model.parameters(), strict=True)
    )


def _round(index: int, forget: float, neighbor: float) -> dict:
    return {"round": index, "tau": None, "val/forget/all": forget, "val/neighbor/all": neighbor}


def _step(llm, optimizer) -> None:
    """One update that changes every trainable weight (and the optimizer state)."""
    loss = sum(p.square().sum() for p in llm.model.parameters() if p.requires_grad)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def test_trainable_copy_trains_only_the_chosen_blocks_and_leaves_the_subject_alone(tiny_llm):
    before = {k: v.clone() for k, v in tiny_llm.model.state_dict().items()}
    llm = trainable_copy(tiny_llm, SETTINGS, hook_layer=4)
    trainable = {n for n, p in llm.model.named_parameters() if p.requires_grad}
    assert trainable and all(
        n.startswith(("model.layers.2.", "model.layers.3.")) for n in trainable
    )
    _step(llm, make_optimizer(llm.model.parameters(), "sgd", 0.1, 0.0))
    assert all(torch.equal(before[k], v) for k, v in tiny_llm.model.state_dict().items())


@pytest.mark.parametrize("hook_layer, blocks", [(4, {"2", "3"}), (3, {"1", "2"})])
def test_negative_first_layer_counts_back_from_the_hook(tiny_llm, hook_layer, blocks):
    below_hook = SETTINGS.model_copy(update={"trainable": TrainableParams(first_layer=-2)})
    llm = trainable_copy(tiny_llm, below_hook, hook_layer=hook_layer)
    trained = {n.split(".")[2] for n, p in llm.model.named_parameters() if p.requires_grad}
    assert trained == blocks


def test_a_saved_round_resumes_weights_optimizer_rng_and_scores(tiny_llm, tmp_path):
    llm = trainable_copy(tiny_llm, SETTINGS, hook_layer=4)
    optimizer = make_optimizer(llm.model.parameters(), "adamw", 1e-2, 0.0)
    generator = seeded_generator(3)
    _step(llm, optimizer)
    rounds = RoundLog(BASELINE, [_round(1, 50.0, 79.0)])
    save_round(tmp_path, rounds, llm=llm, head=None, optimizer=optimizer, generator=generator)
    expected_draw = torch.randint(0, 1000, (4,), generator=generator)

    fresh = trainable_copy(tiny_llm, SETTINGS, hook_layer=4)
    fresh_optimizer = make_optimizer(fresh.model.parameters(), "adamw", 1e-2, 0.0)
    fresh_generator = seeded_generator(99)
    resumed = resume(tmp_path, fresh, None, fresh_optimizer, fresh_generator)
    assert resumed.baseline == BASELINE and resumed.history == rounds.history
    assert _same_weights(llm, fresh)
    assert torch.equal(torch.randint(0, 1000, (4,), generator=fresh_generator), expected_draw)
    _step(llm, optimizer)
    _step(fresh, fresh_optimizer)  # same Adam moments, so the same next update
    assert _same_weights(llm, fresh)


def test_nothing_to_resume_is_none(tiny_llm, tmp_path):
    llm = trainable_copy(tiny_llm, SETTINGS, hook_layer=4)
    optimizer = make_optimizer(llm.model.parameters(), "sgd", 0.1, 0.0)
    assert resume(tmp_path, llm, None, optimizer, seeded_generator(0)) is None


def test_keep_round_restores_an_older_rounds_weights_or_the_subject_model(tiny_llm, tmp_path):
    llm = trainable_copy(tiny_llm, SETTINGS, hook_layer=4)
    optimizer = make_optimizer(llm.model.parameters(), "sgd", 0.1, 0.0)
    generator = seeded_generator(0)
    rounds = RoundLog(BASELINE)
    saved = []
    for index, (forget, neighbor) in enumerate([(40.0, 78.0), (5.0, 20.0)], start=1):
        _step(llm, optimizer)
        rounds.history.append(_round(index, forget, neighbor))
        save_round(tmp_path, rounds, llm=llm, head=None, optimizer=optimizer, generator=generator)
        saved.append([p.detach().clone() for p in llm.model.parameters()])
    settings = SETTINGS.model_copy(update={"keep": "best_tradeoff", "neighbor_floor": 0.9})
    kept, kept_llm = keep_round(tmp_path, rounds, settings, llm, tiny_llm)
    assert kept == 1 and kept_llm is llm
    assert all(torch.equal(a, b) for a, b in zip(llm.model.parameters(), saved[0], strict=True))
    strict = SETTINGS.model_copy(update={"keep": "best_tradeoff", "neighbor_floor": 1.0})
    assert keep_round(tmp_path, rounds, strict, llm, tiny_llm) == (0, tiny_llm)


def _save_rounds(tiny_llm, root, count: int):
    llm = trainable_copy(tiny_llm, SETTINGS, hook_layer=4)
    optimizer = make_optimizer(llm.model.parameters(), "sgd", 0.1, 0.0)
    rounds = RoundLog(BASELINE)
    for index in range(1, count + 1):
        _step(llm, optimizer)
        rounds.history.append(_round(index, 50.0 - index, 80.0))
        save_round(
            root, rounds, llm=llm, head=None, optimizer=optimizer, generator=seeded_generator(0)
        )
    return llm, optimizer


def test_only_the_last_two_rounds_keep_their_resume_state(tiny_llm, tmp_path):
    _save_rounds(tiny_llm, tmp_path, 3)
    assert sorted(p.parent.name for p in tmp_path.glob("round_*/state.pt")) == [
        "round_02",
        "round_03",
    ]
    assert sorted(p.name for p in tmp_path.glob("round_*")) == ["round_01", "round_02", "round_03"]


def test_an_unreadable_checkpoint_is_deleted_and_its_round_resumed_from_the_one_before(
    tiny_llm, tmp_path, caplog
):
    _save_rounds(tiny_llm, tmp_path, 2)
    weights = tmp_path / "round_02/llm_trainable.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # a file cut short
    fresh = trainable_copy(tiny_llm, SETTINGS, hook_layer=4)
    optimizer = make_optimizer(fresh.model.parameters(), "sgd", 0.1, 0.0)
    with caplog.at_level("WARNING"):
        resumed = resume(tmp_path, fresh, None, optimizer, seeded_generator(0))
    assert [row["round"] for row in resumed.history] == [1]
    assert not (tmp_path / "round_02").exists()
    assert "round_02 cannot be read" in caplog.text


def test_round_log_knows_its_rounds_and_its_early_stop():
    rounds = RoundLog(BASELINE, [_round(1, 30.0, 80.0), _round(2, 8.0, 80.0)])
    assert rounds.done(2) and not rounds.done(3)
    at = {"early_stop_forget": 10.0}
    assert rounds.stopped_early(SETTINGS.model_copy(update=at))
    assert not rounds.stopped_early(SETTINGS.model_copy(update={"early_stop_forget": 5.0}))
    assert not RoundLog(BASELINE).stopped_early(SETTINGS.model_copy(update=at))
    collapsed = RoundLog(BASELINE, [_round(1, 30.0, BASELINE["val/neighbor/all"] * 0.4)])
    assert collapsed.stopped_early(SETTINGS.model_copy(update={"early_stop_neighbor": 0.5}))
    assert not collapsed.stopped_early(SETTINGS.model_copy(update={"early_stop_neighbor": 0.3}))
    assert rounds.to_dict()["round"] == 2


def test_round_table_marks_the_kept_round_and_metrics_step_by_round():
    table = round_table(RoundLog(BASELINE, [_round(1, 30.0, 80.0), _round(2, 8.0, 60.0)]), kept=1)
    assert table["round"].tolist() == [0, 1, 2] and table["kept"].tolist() == [False, True, False]
    metrics = round_metrics(table)
    assert metrics["kept/val/forget/all"] == [{"value": 30.0, "step": 0}]
    assert metrics["val/forget/all"] == [
        {"value": 90.0, "step": 0},
        {"value": 30.0, "step": 1},
        {"value": 8.0, "step": 2},
    ]


def test_run_directory_changes_with_any_input_or_setting(tiny_llm, tmp_path):
    cache = ModelCache(tmp_path)
    corpus = pd.DataFrame({"subject": ["A"], "text": ["A wrote B."]})
    probes = pd.DataFrame({"query": ["Who wrote B?"], "answer": ["A"]})
    inputs = {"subject_llm": tiny_llm, "forget_corpus": corpus, "probes": probes}
    first = run_directory(cache, "ga", **inputs, eval_params=EvalParams(), lr=1e-5)
    assert first == run_directory(cache, "ga", **inputs, eval_params=EvalParams(), lr=1e-5)
    assert first != run_directory(cache, "ga", **inputs, eval_params=EvalParams(), lr=2e-5)
    assert first != run_directory(cache, "npo", **inputs, eval_params=EvalParams(), lr=1e-5)
    other_probes = inputs | {"probes": probes.assign(answer=["B"])}
    assert first != run_directory(cache, "ga", **other_probes, eval_params=EvalParams(), lr=1e-5)
    assert first.name.startswith("ga-")


@pytest.mark.parametrize("seed", [0, 7])
def test_seeded_generator_seeds_both_rngs(seed):
    generator = seeded_generator(seed)
    first = (torch.rand(2), torch.rand(2, generator=generator))
    generator = seeded_generator(seed)
    second = (torch.rand(2), torch.rand(2, generator=generator))
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU to write on")
def test_a_checkpoint_written_on_the_gpu_resumes_on_the_cpu(tiny_llm, tmp_path):
    on_gpu = trainable_copy(tiny_llm, SETTINGS.model_copy(update={"device": "cuda"}), hook_layer=4)
    optimizer = make_optimizer(on_gpu.model.parameters(), "adamw", 1e-2, 0.0)
    _step(on_gpu, optimizer)
    rounds = RoundLog(BASELINE, [_round(1, 50.0, 79.0)])
    save_round(
        tmp_path, rounds, llm=on_gpu, head=None, optimizer=optimizer, generator=seeded_generator(0)
    )
    on_cpu = trainable_copy(tiny_llm, SETTINGS.model_copy(update={"device": "cpu"}), hook_layer=4)
    cpu_optimizer = make_optimizer(on_cpu.model.parameters(), "adamw", 1e-2, 0.0)
    assert resume(tmp_path, on_cpu, None, cpu_optimizer, seeded_generator(0)) is not None
    _step(on_cpu, cpu_optimizer)  # the optimizer state came over to the CPU with the weights
