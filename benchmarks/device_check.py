"""The accelerator check: ATU's unlearning step, an alignment stage and probe generation at the
paper's shapes, as achieved TFLOP/s against the device's measured bf16 matmul peak, peak memory
with and without gradient checkpointing, the estimated wall time of the paper's full schedule,
and the core unit tests on the device. Models are built from configurations with random
weights (no download, nothing to carry): Phi-3-mini's shape and SmolLM2-135M's.

    python benchmarks/device_check.py --device cuda            # on the GPU machine (<= 6 min)
    python benchmarks/device_check.py --device cpu --tiny      # the suite's smoke run
"""

import argparse
import json
import os
import subprocess
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import LlamaConfig, LlamaForCausalLM

from atu_pipeline.core.atu import align_head, unlearn_steps
from atu_pipeline.core.head import EmbeddingHead, HeadConfig
from atu_pipeline.core.llm import CausalLM, set_trainable
from atu_pipeline.core.training import OptimSpec, make_optimizer
from atu_pipeline.core.windows import TokenizedCorpus, WindowSet

# (layers, hidden, intermediate, heads, kv heads, vocab); Phi-3-mini has Llama's block shape
SHAPES = {
    "phi3-mini": (32, 3072, 8192, 32, 32, 32064),
    "smollm2-135m": (30, 576, 1536, 9, 3, 49152),
    "tiny": (4, 64, 128, 4, 4, 512),
}
PAPER = {
    "layer": 29,
    "batch": 16,
    "tokens": 256,
    "head": (768, 6, 8),
    "encoder_dim": 768,
    "first_align": 15_000,
    "realign": 1_000,
    "unlearn": 1_000,
    "rounds": 10,
}


def build(shape: str, device: torch.device) -> CausalLM:
    layers, hidden, inner, heads, kv, vocab = SHAPES[shape]
    config = LlamaConfig(
        num_hidden_layers=layers,
        hidden_size=hidden,
        intermediate_size=inner,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        vocab_size=vocab,
        max_position_embeddings=4096,
    )
    torch.manual_seed(0)
    return CausalLM(LlamaForCausalLM(config).to(device), tokenizer=None)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(action, device: torch.device, repeats: int = 3) -> float:
    action()  # warm-up
    synchronize(device)
    started = time.perf_counter()
    for _ in range(repeats):
        action()
    synchronize(device)
    return (time.perf_counter() - started) / repeats


def matmul_peak(device: torch.device, size: int) -> float:
    """bf16 FLOP/s of one square matmul, the reference the other figures are divided by."""
    a, b = (torch.randn(size, size, device=device, dtype=torch.bfloat16) for _ in range(2))
    return 2 * size**3 / timed(lambda: a @ b, device, repeats=10)


def windows(vocab: int, rows: int, tokens: int, dim: int) -> WindowSet:
    """Random corpus and random unit window embeddings (the encoder's output, without it)."""
    ids = torch.randint(3, vocab, (rows, tokens))
    corpus = TokenizedCorpus(ids, torch.ones_like(ids))
    index = torch.randint(0, 4 * rows, (rows, tokens))
    return WindowSet(
        corpus, index, torch.nn.functional.normalize(torch.randn(4 * rows, dim), dim=-1)
    )


def unlearn_figures(llm, head, data, *, layer, batch, device, checkpointing) -> dict:
    """FLOPs, seconds and peak memory of one unlearning step (bf16 autocast, trainable blocks
    below the hook layer, AdamW)."""
    model = set_trainable(llm.model, "layers", hook_layer=layer)
    if checkpointing:
        model.gradient_checkpointing_enable()
    else:
        model.gradient_checkpointing_disable()
    optimizer = make_optimizer(model.parameters(), "adamw", 1e-5, 0.0)
    concept = torch.nn.functional.normalize(torch.randn(head.config.out_dim), dim=0)

    def step(count: int = 1):
        unlearn_steps(
            model,
            head,
            data.corpus,
            concept,
            layer=layer,
            tau=-0.99,
            steps=count,
            optimizer=optimizer,
            batch_size=batch,
            grad_clip=1.0,
            generator=torch.Generator().manual_seed(0),
            precision="bf16",
        )

    with FlopCounterMode(display=False) as counter:
        step()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds = timed(step, device)
    memory = (
        torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    )
    return {"flops": counter.get_total_flops(), "seconds": seconds, "memory_gib": memory}


def align_figures(llm, head, data, *, layer, batch, device, steps) -> dict:
    optim = OptimSpec("adam", 1e-4, 0.0, batch, 1.0)
    llm.model.requires_grad_(False)
    seconds = timed(
        lambda: align_head(
            llm.model,
            head,
            data,
            layer=layer,
            steps=steps,
            optim=optim,
            generator=torch.Generator().manual_seed(0),
            precision="bf16",
        ),
        device,
        repeats=1,
    )
    return {"seconds": seconds, "steps": steps}


def generation_figures(llm, *, batch, device, prompt_tokens=96, new_tokens=30) -> dict:
    ids = torch.randint(3, llm.model.config.vocab_size, (batch, prompt_tokens), device=device)
    llm.model.eval()

    def generate():
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16):
            llm.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                do_sample=False,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                pad_token_id=0,
            )

    return {"prompts_per_s": batch / timed(generate, device, repeats=2), "batch": batch}


def check(shape: str, device: torch.device, tiny: bool) -> dict:
    llm = build(shape, device)
    layers = SHAPES[shape][0]
    layer = min(PAPER["layer"], layers - 1)
    batch, tokens = (2, 32) if tiny else (PAPER["batch"], PAPER["tokens"])
    width, depth, heads = (32, 1, 2) if tiny else PAPER["head"]
    dim = 16 if tiny else PAPER["encoder_dim"]
    head = EmbeddingHead(HeadConfig(llm.hidden_size, dim, width, depth, heads, 0.1, 512)).to(device)
    data = windows(SHAPES[shape][5], 4 * batch, tokens, dim)
    figures = {"shape": shape, "hook_layer": layer, "batch": f"{batch}x{tokens}"}
    for checkpointing in (False, True):
        step = unlearn_figures(
            llm, head, data, layer=layer, batch=batch, device=device, checkpointing=checkpointing
        )
        figures[f"unlearn_step{'_checkpointed' if checkpointing else ''}"] = step
    figures["align"] = align_figures(
        llm, head, data, layer=layer, batch=batch, device=device, steps=2 if tiny else 20
    )
    figures["generation"] = generation_figures(llm, batch=2 if tiny else 64, device=device)
    return figures


def estimate(figures: dict) -> dict:
    """Hours of the paper's schedule for one target from the measured step times (the
    alignment steps scaled from the measured stage, evaluations not counted)."""
    step = figures["unlearn_step"]["seconds"]
    align_step = figures["align"]["seconds"] / figures["align"]["steps"]
    aligning = PAPER["first_align"] + PAPER["realign"] * (PAPER["rounds"] - 1)
    seconds = step * PAPER["unlearn"] * PAPER["rounds"] + align_step * aligning
    return {"paper_schedule_hours": seconds / 3600}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true", help="tiny shapes (the suite's smoke run)")
    parser.add_argument("--skip-tests", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    report = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }
    report["bf16_matmul_peak_tflops"] = matmul_peak(device, 256 if args.tiny else 8192) / 1e12
    for shape in ("tiny",) if args.tiny else ("phi3-mini", "smollm2-135m"):
        figures = check(shape, device, args.tiny)
        step = figures["unlearn_step"]
        figures["unlearn_share_of_peak"] = (
            step["flops"] / step["seconds"] / 1e12 / report["bf16_matmul_peak_tflops"]
        )
        report[shape] = figures | estimate(figures)
        print(json.dumps({shape: report[shape]}, indent=1, default=float), flush=True)
    if not args.skip_tests:
        env = {**os.environ, "ATU_TEST_DEVICE": args.device}
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/core"], env=env)
        report["core_tests_on_device"] = "passed" if done.returncode == 0 else "FAILED"
    print(json.dumps(report, default=float))


if __name__ == "__main__":
    main()
