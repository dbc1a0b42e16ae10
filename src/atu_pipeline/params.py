"""Typed parameter groups, one per `params:` group in conf/.

Kedro builds and validates these before any node runs (kedro >= 1.3), so a typo or an
out-of-range value stops the run up front. `extra="forbid"`: a knob nothing reads is an error.
"""

from typing import Annotated, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

# First N items of each utility set (0 = skip the set); a set absent or None = all its items.
# `other_targets`: the other targets' level-1/2 probes, the first N of each split.
UtilityLimits = dict[
    Literal["mmlu", "bbh", "truthfulqa", "triviaqa", "fluency", "general_text", "other_targets"],
    Annotated[int, Field(ge=0)] | None,
]


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelSpec(Params):
    """Where a model comes from: a Hugging Face id, a local directory, a .gguf file, or
    `embedded:<name>` for a model shipped inside a pip package (no download)."""

    spec: str = Field(min_length=1)
    gguf_file: str | None = None
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    trust_remote_code: bool = False


class GenerationParams(Params):
    """`rwku.forget_corpus: generate`: the model under test writes the forget corpora, as RWKU's
    protocol asks (rwku.md §3.1): one biography per response prefix, sampled."""

    inputs: str = "data/01_raw/rwku/generation"  # holds all_intro.json, all_truncated_outputs.json
    max_texts: int | None = Field(None, ge=1)  # first N of the 582 prefixes (None = all)
    seed: int = 0
    max_new_tokens: int = Field(512, ge=1)
    batch_size: int = Field(8, ge=1)
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(0.9, gt=0, le=1)


class RwkuParams(Params):
    source: Literal["demo", "local", "hub"] = "demo"
    root: str = "data/01_raw/rwku"
    hub_id: str = "jinzhuoran/RWKU"
    forget_corpus: str = "positive_phi"  # a corpus file's stem, or `generate` (see generation)
    generation: GenerationParams = GenerationParams()
    other_targets: int = Field(3, ge=0)  # their corpora join the alignment corpus (paper: 3)
    retain_targets: int = Field(7, ge=0)  # their probes form the "other targets" utility set
    test_share: float = Field(0.5, gt=0, lt=1)  # of each target's facts, scored as test
    split_seed: int = 0


class WorldParams(Params):
    seed: int = 0
    n_people: int = Field(8, ge=2)
    corpus_texts_per_person: int = Field(12, ge=1)
    utility_items: int = Field(0, ge=0)  # MMLU/BBH/... stand-ins per set; 0 = none written
    root: str = "data/01_raw/demo_world"


class TrainParams(Params):
    """Optimiser and batching shared by every training loop."""

    optimizer: Literal["adamw", "adam", "sgd"] = "adamw"
    lr: float = Field(gt=0)
    weight_decay: float = Field(0.0, ge=0)
    grad_clip: float = Field(1.0, gt=0)
    batch_size: int = Field(8, ge=1)


class SequenceTrainParams(TrainParams):
    """Training on LLM token sequences, cut to `max_length` tokens. (The head's alignment has
    no such knob: its sequences are the window corpus, cut at `embed.max_length`.)"""

    max_length: int = Field(128, ge=8)


class UnlearnTrainParams(SequenceTrainParams):
    """An unlearning round's optimiser (ATU's `unlearn`, GA's and NPO's `train`), with the
    learning rate's course within each round: `constant`, or falling to 0 over the round's
    steps, `linear` or `cosine` (issue 18's "fewer, gentler steps"). Each round starts again
    from `lr`."""

    lr_schedule: Literal["constant", "linear", "cosine"] = "constant"


# auto: bf16 autocast on CUDA, fp32 on CPU (the same numbers on every CPU); bf16 on a CPU that
# runs it natively (AVX512-BF16, AMX) roughly halves a training step's time.
Precision = Literal["auto", "fp32", "bf16"]


class InjectParams(Params):
    enabled: bool = True
    precision: Precision = "auto"
    epochs: int = Field(4, ge=0)
    train: SequenceTrainParams
    scope: Literal["target", "world"] = (
        "target"  # the target's facts (its neighbors' included) or everyone's
    )
    include_texts: bool = True
    device: str = "auto"
    seed: int = 0


class TrainableParams(Params):
    """Which LLM parameters unlearning may change."""

    mode: Literal["all", "layers", "lora"] = "layers"
    # 0-based; negative counts back from the top (the hook layer for ATU, the model's top for the
    # baselines): -3 = the three blocks below it, so they move with the hook layer in a sweep
    first_layer: int = 0
    last_layer: int | None = None  # inclusive; None = the block right below the top

    def block_range(self, top: int) -> tuple[int, int]:
        """(first, last) 0-based blocks under `top`, the hook layer or the model's block count."""
        first = top + self.first_layer if self.first_layer < 0 else self.first_layer
        return first, top - 1 if self.last_layer is None else self.last_layer

    lora_rank: int = Field(8, ge=1)
    lora_alpha: float = Field(16.0, gt=0)
    lora_targets: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj"]


class HeadParams(Params):
    width: int = Field(256, ge=8)
    depth: int = Field(2, ge=1)
    heads: int = Field(4, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    max_positions: int = Field(512, ge=8)

    @model_validator(mode="after")
    def _width_divides_heads(self) -> "HeadParams":
        if self.width % self.heads:
            raise ValueError(
                f"head.width={self.width} must be divisible by head.heads={self.heads}"
            )
        return self


class EmbedParams(Params):
    window: int = Field(8, ge=1)
    concept: Literal["name", "name_and_intro"] = "name"
    max_length: int = Field(128, ge=8)
    batch_size: Annotated[int, Field(ge=1)] | Literal["auto"] = "auto"  # encoder windows per batch


class RetainParams(Params):
    """A retain regulariser added to any method's unlearning loss: `gd` (language-model loss on
    the other targets' texts) or `kl` (KL to the model before unlearning on them), × `weight`.
    On ATU it goes beyond the paper; reports name such runs `atu+gd` / `atu+kl`."""

    kind: Literal["none", "gd", "kl"] = "none"
    weight: float = Field(1.0, ge=0)
    batch_size: int = Field(4, ge=1)
    max_length: int = Field(64, ge=8)


class RoundsParams(Params):
    """What every unlearning method shares: which weights move, when to stop, what to keep."""

    trainable: TrainableParams = TrainableParams()
    retain: RetainParams = RetainParams()
    early_stop_forget: float | None = Field(None, ge=0, le=100)
    early_stop_neighbor: float | None = Field(None, ge=0, le=1)  # share of before (collapse)
    keep: Literal["last", "best_tradeoff"] = "last"
    neighbor_floor: float = Field(0.9, ge=0, le=1)
    gradient_checkpointing: bool = False
    precision: Precision = "auto"
    device: str = "auto"
    seed: int = 0

    def run_identity(self) -> dict:
        """The settings a whole run's result depends on: a sweep's or benchmark's point key."""
        return self.model_dump()

    #: choices made after training, from the saved per-round scores: changing them re-uses
    #: a run's checkpoints instead of retraining
    AFTER_TRAINING: ClassVar[frozenset[str]] = frozenset({"keep", "neighbor_floor"})

    def training_recipe(self) -> dict:
        """The settings that shape the training trajectory (the checkpoints' cache key)."""
        return self.model_dump(exclude=set(self.AFTER_TRAINING))


class AtuParams(RoundsParams):
    layer: Annotated[int, Field(ge=1)] | Literal["auto"] = 10
    # layer auto (beyond the paper): the candidate whose briefly aligned head (auto_align_steps)
    # best separates the target's texts from the other targets' (recipes.atu.choose_layer)
    layer_candidates: list[Annotated[int, Field(ge=1)]] = Field([10], min_length=1)
    auto_align_steps: int = Field(100, ge=1)
    head: HeadParams = HeadParams()
    align: TrainParams
    first_align_steps: int = Field(400, ge=1)
    realign_steps: int = Field(150, ge=0)
    unlearn: UnlearnTrainParams
    steps_per_round: int = Field(40, ge=1)
    # absolute: each round's τ as listed; quantile: each listed value q in (0, 1) is a quantile of
    # the round's concept similarities on the forget corpus, so the hinge acts on the top 1 − q
    tau_mode: Literal["absolute", "quantile"] = "absolute"
    taus: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _taus_in_range(self) -> "AtuParams":
        bad = [t for t in self.taus if not -1 < t < 1]
        if bad:
            raise ValueError(f"atu.taus must lie in (-1, 1); got {bad}")
        if self.tau_mode == "quantile" and [t for t in self.taus if not 0 < t < 1]:
            raise ValueError(
                f"atu.tau_mode=quantile: atu.taus are quantiles in (0, 1); got {self.taus}"
            )
        return self

    def run_identity(self) -> dict:
        """The layer search's own settings only matter while the layer is `auto`."""
        if self.layer == "auto":
            return self.model_dump()
        return self.model_dump(exclude={"layer_candidates", "auto_align_steps"})

    @model_validator(mode="after")
    def _trainable_blocks_below_the_hook(self) -> "AtuParams":
        """Blocks from the hook layer up never run during unlearning, so they cannot train."""
        if self.trainable.mode == "all":
            return self
        hook = min(self.layer_candidates) if self.layer == "auto" else self.layer
        first, last = self.trainable.block_range(hook)
        if not 0 <= first <= last < hook:
            name = "the lowest of atu.layer_candidates" if self.layer == "auto" else "atu.layer"
            raise ValueError(
                f"atu.trainable: blocks {first}..{last} must lie below the hook layer "
                f"({name}={hook}), i.e. within the 0-based blocks 0..{hook - 1}"
            )
        return self


class BaselineParams(RoundsParams):
    """A token-level baseline (GA or NPO) on the forget corpus. With `trainable.mode: layers`,
    `last_layer: null` means the model's last block (there is no hook layer)."""

    method: Literal["ga", "npo"]
    train: UnlearnTrainParams
    rounds: int = Field(5, ge=1)
    steps_per_round: int = Field(40, ge=1)
    beta: float = Field(0.1, gt=0)  # NPO's inverse temperature (RWKU: 0.2; ATU's repo: 0.1)


class SweepParams(Params):
    """The grid of `kedro run --pipeline sweep`: one namespaced run per point (sweep.py)."""

    name: str = Field("sweep", min_length=1)
    updates: int = Field(60, ge=1)  # every point's LLM updates, in rounds of its method's steps
    tau_floors: list[float] = []  # ATU: τ falls evenly from atu.taus[0] to the floor ...
    layers: list[Annotated[int, Field(ge=1)]] = []  # ... at each of these hook layers
    ga_lrs: list[Annotated[float, Field(gt=0)]] = []
    npo_lrs: list[Annotated[float, Field(gt=0)]] = []
    utility_limits: UtilityLimits = {}  # the kept models' utility (replaces eval's limits)

    @model_validator(mode="after")
    def _atu_grid_is_complete(self) -> "SweepParams":
        if bool(self.tau_floors) != bool(self.layers):
            raise ValueError("sweep.tau_floors and sweep.layers must both be set or both empty")
        bad = [t for t in self.tau_floors if not -1 < t < 1]
        if bad:
            raise ValueError(f"sweep.tau_floors must lie in (-1, 1); got {bad}")
        return self


# a method, optionally with a retain regulariser: atu, ga, npo, atu+kl, ga+gd, npo+kl, ...
Method = Annotated[str, Field(pattern=r"^(atu|ga|npo)(\+(gd|kl))?$")]


class TrackingParams(Params):
    """What reaches MLflow besides parameters, metrics and plots."""

    # the unlearned model as an MLflow `transformers` model, to register and serve it; it copies
    # the weights into the artifact store (with LoRA: the adapters alone)
    log_model: bool = False


class EngineParams(Params):
    """Where a sweep's or a benchmark's points run (recipes/engine.py)."""

    mode: Literal["sequential", "local", "address"] = "local"
    address: str | None = None  # mode address: tcp://host:8786 of a running Dask scheduler
    workers: int = Field(1, ge=1)  # mode local on CPU (on GPUs: one worker per visible GPU)
    threads_per_worker: int | None = Field(None, ge=1)  # torch threads; None = cores / workers
    resources: dict[str, float] = {}  # mode address: what each point asks of a worker ({GPU: 1})
    dashboard: bool = True
    connect_timeout: float = Field(10.0, gt=0)  # seconds to reach the scheduler at `address`
    keep_checkpoints: bool = False  # keep a recorded point's round checkpoints (GBs per point)

    @model_validator(mode="after")
    def _address_for_address_mode(self) -> "EngineParams":
        if self.mode == "address" and not self.address:
            raise ValueError("engine.mode=address needs engine.address (tcp://host:8786)")
        return self


class BenchmarkParams(Params):
    """`kedro run --pipeline benchmark`: methods × configurations × targets × seeds, each point a
    whole unlearning run from the same subject model. The configurations of each method are
    chosen on the tuning targets' validation probes; the report targets' test probes (other
    facts, other wordings) measure the chosen ones, over all report targets and over those never
    tuned on (docs/benchmarks.md, "Protocol")."""

    name: str = Field("benchmark", min_length=1)
    targets: list[str] = Field(min_length=1)  # reported: ids, numbers or names
    tuning_targets: list[str] = []  # configurations are chosen here; none = one config each
    seeds: list[int] = Field([0], min_length=1)
    tuning_seeds: list[int] = Field([0], min_length=1)
    methods: list[Method] = Field(["atu", "ga", "npo"], min_length=1)
    # per method, its configurations as changes to params:<method>; [{}] = the defaults alone
    configurations: dict[Method, list[dict]] = {}
    retain_weight: float = Field(1.0, ge=0)  # of the retain term of the `+gd` / `+kl` variants
    # targets unlearned at once (RWKU's batch setting): report points take `targets` in
    # consecutive groups of this many; tuning stays one target at a time
    batch: int = Field(1, ge=1)
    utility_limits: UtilityLimits = {"other_targets": None, "general_text": None}
    bootstrap: int = Field(2000, ge=100)  # resamples of the (target, seed) points
    confidence: float = Field(0.95, gt=0, lt=1)

    @model_validator(mode="after")
    def _equal_tuning(self) -> "BenchmarkParams":
        counts = {m: len(self.configurations.get(m, [{}])) for m in self.methods}
        if len(set(counts.values())) > 1:
            raise ValueError(
                f"benchmark.configurations: every method needs the same number of configurations "
                f"(equal tuning budgets), got {counts}"
            )
        if max(counts.values()) > 1 and not self.tuning_targets:
            raise ValueError(
                "benchmark.tuning_targets: several configurations need targets to choose on"
            )
        if len(self.targets) % self.batch:
            raise ValueError(
                f"benchmark.batch={self.batch}: the {len(self.targets)} report targets must "
                f"split into whole groups of {self.batch}"
            )
        return self

    @property
    def report_targets(self) -> list[str]:
        """The report points' targets: each target alone, or groups such as `1+2` (batch)."""
        size = self.batch
        groups = [self.targets[start : start + size] for start in range(0, len(self.targets), size)]
        return ["+".join(group) for group in groups]

    def tuned_on(self, target: str) -> bool:
        """Whether a report target (or any member of a group) was also a tuning target."""
        return any(member in self.tuning_targets for member in str(target).split("+"))


class CompareParams(Params):
    utility_metric: str = "utility/perplexity"  # the utility axis of the trade-off plot


# auto: this many rows on CPU, 4x as many on CUDA (a GPU is starved by CPU-sized batches)
AUTO_BATCH = {"eval": 16, "encoder": 256}
GPU_BATCH_FACTOR = 4


def batch_for(batch_size: "int | Literal['auto']", kind: str, device_type: str) -> int:
    """A batch size as configured, or the device's rule for `auto`."""
    if batch_size != "auto":
        return batch_size
    return AUTO_BATCH[kind] * (GPU_BATCH_FACTOR if device_type == "cuda" else 1)


class EvalParams(Params):
    batch_size: Annotated[int, Field(ge=1)] | Literal["auto"] = "auto"  # prompts per forward
    precision: Precision = "auto"  # scoring under bf16 autocast on CUDA; fp32 on CPU
    max_new_tokens: int = Field(30, ge=1)
    max_probes: int | None = Field(None, ge=1)
    device: str = "auto"
    # evaluate pipeline (RWKU protocol, rwku.md §5)
    model: str | None = None  # spec of the evaluated model (as llm.spec); None = params:llm
    stage: str | None = None  # its row label in the report; None = the evaluated spec
    mia_ratios: list[Annotated[float, Field(gt=0, le=1)]] = Field([0.2], min_length=1)
    max_mia_texts: int | None = Field(None, ge=1)  # first N texts of each MIA split
    max_new_tokens_long: int = Field(256, ge=1)  # BBH and fluency generations (RWKU: 256)
    # utility sets: run a prompt prefix that rows share (MMLU's few-shot block, BBH's chain of
    # thought, TruthfulQA's primer) once for them all; false: every row its whole prompt
    share_prefixes: bool = True
    utility_limits: UtilityLimits = {}


P = TypeVar("P", bound=Params)


def with_changes(params: P, changes: dict) -> P:
    """A copy of `params` with nested `changes` applied and validated again."""

    def merge(base: dict, update: dict) -> dict:
        merged = dict(base)
        for key, value in update.items():
            is_group = isinstance(value, dict) and isinstance(base.get(key), dict)
            merged[key] = merge(base[key], value) if is_group else value
        return merged

    return type(params).model_validate(merge(params.model_dump(), changes))


class RelearnParams(Params):
    """The relearning attack: a short fine-tune on forget-corpus text that states none of the
    evaluated answers (docs/evaluation.md, "Attacks")."""

    steps: int = Field(30, ge=1)  # optimizer steps
    eval_every: int = Field(10, ge=1)  # probes are scored at step 0, every k steps and the last
    held_out: float = Field(0.5, gt=0, lt=1)  # share of the forget answers kept out of the text
    train: SequenceTrainParams

    @model_validator(mode="after")
    def _eval_within_steps(self) -> "RelearnParams":
        if self.eval_every > self.steps:
            raise ValueError(
                f"attack.relearn.eval_every={self.eval_every} exceeds steps={self.steps}"
            )
        return self


class LogitLensParams(Params):
    max_probes: int | None = Field(None, ge=1)  # first N forget probes of each kind (None = all)
    batch_size: int = Field(8, ge=1)


class AttackParams(Params):
    """The attack pipeline: quantization, relearning and logit lens on an unlearned model."""

    unlearned: str = Field(min_length=1)  # spec or directory of the attacked (unlearned) model
    quantize: list[Annotated[str, Field(pattern=r"^(int[2-8]|nf4)$")]] = ["int8", "int4"]
    group_size: int = Field(64, ge=2)  # input columns sharing one scale
    quantize_lm_head: bool = False
    relearn: RelearnParams
    logit_lens: LogitLensParams = LogitLensParams()
    hook_layer: int | None = Field(None, ge=1)  # marked on the logit-lens plot (ATU's atu.layer)
    device: str = "auto"
    seed: int = 0

    @model_validator(mode="after")
    def _power_of_two_groups(self) -> "AttackParams":
        # Deployed group-wise formats (GPTQ, AWQ, bitsandbytes) use power-of-two groups.
        if self.group_size & (self.group_size - 1):
            raise ValueError(f"attack.group_size must be a power of two, got {self.group_size}")
        if len(set(self.quantize)) != len(self.quantize):
            raise ValueError(f"attack.quantize lists a format twice: {self.quantize}")
        return self
