"""The embedding prediction head E: LLM hidden states at one layer -> future-window embeddings."""

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class HeadConfig:
    """Architecture, saved next to the weights so a head reloads without any YAML."""

    in_dim: int  # LLM hidden size
    out_dim: int  # encoder embedding size
    width: int = 256
    depth: int = 2
    heads: int = 4
    dropout: float = 0.1
    max_positions: int = 512

    def __post_init__(self):
        if self.width % self.heads:
            raise ValueError(f"head width {self.width} must be divisible by its {self.heads} heads")

    def to_dict(self) -> dict:
        return asdict(self)


class EmbeddingHead(nn.Module):
    """Strictly causal transformer: the prediction at position t sees hidden states <= t only.

    The reference head cross-attends, unmasked, to the whole sequence, so its prediction of
    "what comes after t" can read the future. Here a causal self-attention stack over the
    projected hidden states, with learned positions (the reference has none), does the job.
    Pre-LN blocks and a final LayerNorm keep training stable at small step budgets.
    """

    def __init__(self, config: HeadConfig):
        super().__init__()
        self.config = config
        self.project_in = nn.Linear(config.in_dim, config.width)
        self.positions = nn.Embedding(config.max_positions, config.width)
        block = nn.TransformerEncoderLayer(
            d_model=config.width,
            nhead=config.heads,
            dim_feedforward=4 * config.width,
            dropout=config.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.blocks = nn.TransformerEncoder(block, config.depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.width)
        self.project_out = nn.Linear(config.width, config.out_dim)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden: (B, T, in_dim) -> (B, T, out_dim). Padding sits on the right, so causal
        masking alone keeps every real position from seeing it."""
        steps = hidden.shape[1]
        if steps > self.config.max_positions:
            raise ValueError(
                f"sequence of {steps} exceeds head.max_positions={self.config.max_positions}"
            )
        x = self.project_in(hidden.to(self.project_in.weight.dtype))  # (B, T, W)
        x = x + self.positions(torch.arange(steps, device=x.device))
        causal = nn.Transformer.generate_square_subsequent_mask(
            steps, device=x.device, dtype=x.dtype
        )
        x = self.blocks(x, mask=causal, is_causal=True)
        return self.project_out(self.norm(x))  # (B, T, out_dim)
