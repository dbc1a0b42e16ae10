"""ATU step costs on this machine, as ratios measured in one process (robust to a noisy host).

    .venv/bin/python benchmarks/atu_step.py [--llm SPEC] [--layer 10] [--batch 8] [--tokens 128]

Prints:
- the unlearning step's achieved FLOP/s against a matmul peak measured here first
  (FLOPs counted by torch's FlopCounterMode on one step, time over the next steps);
- one alignment stage's time against (one LLM forward over its corpus + the head's training alone);
- peak resident memory.
Record the printed table in docs/benchmarks.md.
"""

import argparse
import resource
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from atu_pipeline.core.atu import align_head, train_head, unlearn_steps
from atu_pipeline.core.head import EmbeddingHead, HeadConfig
from atu_pipeline.core.llm import set_trainable
from atu_pipeline.core.training import OptimSpec, corpus_hidden_states
from atu_pipeline.core.windows import TokenizedCorpus, WindowSet
from atu_pipeline.io.models import ModelCache, load_llm


def matmul_peak(size: int = 1024, repeats: int = 20) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def synthetic_windows(vocab: int, rows: int, tokens: int, dim: int) -> WindowSet:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, vocab, (rows, tokens), generator=generator)
    corpus = TokenizedCorpus(ids, torch.ones_like(ids))
    index = torch.randint(0, 512, (rows, tokens), generator=generator)
    index[:, -8:] = -1  # the last positions have no full window, as in real text
    return WindowSet(corpus, index, torch.nn.functional.normalize(torch.randn(512, dim), dim=-1))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--llm", default="embedded:smollm2")
    parser.add_argument("--layer", type=int, default=10)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--align-rows", type=int, default=64)
    parser.add_argument("--align-steps", type=int, default=50)
    args = parser.parse_args()
    torch.manual_seed(0)

    peak = matmul_peak()
    llm = load_llm(args.llm, cache=ModelCache("data/06_models/cache"))
    model = set_trainable(llm.model, "layers", hook_layer=args.layer)
    head = EmbeddingHead(HeadConfig(llm.hidden_size, 384)).eval()
    windows = synthetic_windows(len(llm.tokenizer), args.align_rows, args.tokens, 384)
    concept = torch.nn.functional.normalize(torch.randn(384), dim=0)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    unlearn = lambda steps, seed: unlearn_steps(  # noqa: E731
        model,
        head,
        windows.corpus,
        concept,
        layer=args.layer,
        tau=-0.99,
        steps=steps,
        optimizer=optimizer,
        batch_size=args.batch,
        grad_clip=1.0,
        generator=torch.Generator().manual_seed(seed),
    )
    with FlopCounterMode(display=False) as counter:
        unlearn(1, 0)
    step_flops = counter.get_total_flops()
    step_seconds = timed(lambda: unlearn(args.steps, 1)) / args.steps
    achieved = step_flops / step_seconds

    spec = OptimSpec("adam", 1e-3, 0.0, 16, 1.0)
    stage = timed(
        lambda: align_head(
            model,
            head,
            windows,
            layer=args.layer,
            steps=args.align_steps,
            optim=spec,
            generator=torch.Generator().manual_seed(0),
        )
    )
    forward = timed(lambda: corpus_hidden_states(model, windows.corpus, args.layer, 16))
    hidden = corpus_hidden_states(model, windows.corpus, args.layer, 16)
    head.requires_grad_(True)  # align_head() leaves the head frozen
    head_only = timed(
        lambda: train_head(
            head,
            hidden,
            windows,
            steps=args.align_steps,
            optimizer=torch.optim.Adam(head.parameters(), 1e-3),
            batch_size=16,
            grad_clip=1.0,
            generator=torch.Generator().manual_seed(0),
        )
    )
    rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    print(f"| matmul peak (fp32, 1024^3) | {peak / 1e9:.1f} GFLOP/s |")
    print(
        f"| unlearn step ({args.batch}x{args.tokens} tokens, layer {args.layer}) | "
        f"{step_flops / 1e9:.1f} GFLOP in {step_seconds:.2f} s = {achieved / 1e9:.1f} GFLOP/s |"
    )
    print(f"| unlearn step / matmul peak | {achieved / peak:.2f} |")
    shape = f"{args.align_rows} texts x {args.tokens}, {args.align_steps} steps"
    print(f"| alignment stage ({shape}) | {stage:.1f} s |")
    parts = f"{forward:.1f} s + {head_only:.1f} s"
    print(f"| one LLM forward over the corpus + head training alone | {parts} |")
    print(f"| alignment stage / (forward + head training) | {stage / (forward + head_only):.2f} |")
    print(f"| peak resident memory | {rss_gib:.2f} GiB |")


if __name__ == "__main__":
    main()
