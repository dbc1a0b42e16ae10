"""Head alignment: train the embedding prediction head on the frozen LLM's hidden states."""

import torch

from atu_pipeline.core.atu import OptimSpec, align
from atu_pipeline.core.checkpoint import load_head, save_head
from atu_pipeline.core.head import EmbeddingHead, HeadConfig
from atu_pipeline.core.llm import CausalLM, check_layer, fingerprint, pick_device
from atu_pipeline.core.windows import WindowSet
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import AtuParams, TrainParams
from atu_pipeline.progress import StepLog


def optim_spec(train: TrainParams) -> OptimSpec:
    return OptimSpec(
        train.optimizer, train.lr, train.weight_decay, train.batch_size, train.grad_clip
    )


def new_head(llm: CausalLM, windows: WindowSet, atu: AtuParams) -> EmbeddingHead:
    spec = atu.head
    config = HeadConfig(
        llm.hidden_size,
        windows.embeddings.shape[1],
        spec.width,
        spec.depth,
        spec.heads,
        spec.dropout,
        spec.max_positions,
    )
    return EmbeddingHead(config)


def align_head(
    subject_llm: CausalLM,
    alignment_windows: dict[str, torch.Tensor],
    model_cache: ModelCache,
    atu: AtuParams,
) -> tuple[EmbeddingHead, dict]:
    """First alignment stage: a fresh head learns to predict future windows at `atu.layer`.

    Cached by everything it depends on, so a resumed or repeated run does not retrain it.
    """
    check_layer(subject_llm.model, atu.layer)
    recipe = atu.model_dump(include={"layer", "head", "align", "first_align_steps", "seed"})
    key = "head-" + model_cache.key(
        llm=fingerprint(subject_llm.model.state_dict()),
        windows=fingerprint(alignment_windows),
        **recipe,
    )
    if (model_cache.path(key) / "head.json").is_file():
        return load_head(model_cache.path(key)), {}
    head, history = _align_new_head(subject_llm, alignment_windows, atu)
    save_head(head, model_cache.path(key))
    return head, history


def _align_new_head(
    subject_llm: CausalLM, alignment_windows, atu: AtuParams
) -> tuple[EmbeddingHead, dict]:
    torch.manual_seed(atu.seed)
    generator = torch.Generator().manual_seed(atu.seed)
    windows = WindowSet.from_tensors(alignment_windows)
    device = pick_device(atu.device)
    subject_llm.model.to(device)
    head = new_head(subject_llm, windows, atu).to(device)
    progress = StepLog(atu.first_align_steps, f"align head at layer {atu.layer}")
    align(
        subject_llm.model,
        head,
        windows,
        atu.layer,
        atu.first_align_steps,
        optim_spec(atu.align),
        generator,
        progress.on_step("align"),
    )
    return head.cpu(), progress.close()
