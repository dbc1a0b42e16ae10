"""Token-level baselines (GA, NPO): the same rounds, evaluation, checkpoints and keep rule as ATU,
with a token-level loss on the forget corpus instead of the embedding-space hinge."""

import pandas as pd
import torch

from atu_pipeline.core.llm import CausalLM, decoder_layers, pick_device
from atu_pipeline.core.schedule import build_stages
from atu_pipeline.core.token_unlearning import corpus_sequence_nll, token_round_trainer
from atu_pipeline.core.windows import tokenize_corpus
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import BaselineParams, EvalParams
from atu_pipeline.pipelines.align.nodes import optim_spec
from atu_pipeline.unlearning import (
    checkpoint_dir,
    probe_evaluator,
    run_checkpointed,
    trainable_copy,
)


def baseline_rounds(
    subject_llm: CausalLM,
    forget_corpus: pd.DataFrame,
    probes: pd.DataFrame,
    model_cache: ModelCache,
    baseline: BaselineParams,
    eval_params: EvalParams,
) -> tuple[CausalLM, pd.DataFrame, dict]:
    """All rounds of GA or NPO, resumable: the kept model, per-round scores, step metrics."""
    rounds = build_stages(baseline.rounds, baseline.steps_per_round)
    last_block = len(decoder_layers(subject_llm.model))  # no hook layer: up to the top block
    model = trainable_copy(subject_llm.model, baseline, last_block).to(pick_device(baseline.device))
    llm = CausalLM(model, subject_llm.tokenizer)
    train = baseline.train
    corpus, _ = tokenize_corpus(llm.tokenizer, list(forget_corpus["text"]), train.max_length)
    checkpoints = checkpoint_dir(
        model_cache, baseline.method, subject_llm, forget_corpus, probes, eval_params,
        baseline=baseline.training_recipe(),
    )  # fmt: skip
    torch.manual_seed(baseline.seed + 1)
    generator = torch.Generator().manual_seed(baseline.seed + 1)
    optimizer = optim_spec(train).build(model.parameters())

    def start() -> dict:
        if baseline.method != "npo":
            return {}
        # NPO's reference is the model before unlearning: its NLLs, once, instead of a copy
        return {"reference_nll": corpus_sequence_nll(model, corpus, train.batch_size).tolist()}

    def trainer(started: dict, on_step):
        reference = started.get("reference_nll")
        return token_round_trainer(
            model, corpus, baseline.method, optimizer, train.batch_size, train.grad_clip,
            generator, None if reference is None else torch.tensor(reference), baseline.beta,
            on_step,
        )  # fmt: skip

    outcome = run_checkpointed(
        checkpoints, llm, subject_llm, None, optimizer, generator, rounds, trainer,
        probe_evaluator(llm, probes, eval_params), start, baseline,
        f"{baseline.method.upper()} rounds",
    )  # fmt: skip
    return outcome.llm, outcome.scores, outcome.metrics
