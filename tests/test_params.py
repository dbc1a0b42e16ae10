"""Every environment's parameters validate, and a knob nothing reads is refused."""

from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader
from pydantic import ValidationError

from atu_pipeline.params import AtuParams, EmbedParams, EvalParams, InjectParams
from atu_pipeline.settings import CONFIG_LOADER_ARGS

CONF = Path(__file__).resolve().parents[1] / "conf"
GROUPS = {"atu": AtuParams, "inject": InjectParams, "embed": EmbedParams, "eval": EvalParams}


@pytest.mark.parametrize("env", ["local", "test", "paper"])
def test_every_environment_validates(env):
    params = OmegaConfigLoader(
        str(CONF),
        default_run_env=env,
        **{k: v for k, v in CONFIG_LOADER_ARGS.items() if k != "default_run_env"},
    )["parameters"]
    for name, model in GROUPS.items():
        model(**params[name])


def test_alignment_has_no_sequence_length_knob():
    """Alignment sequences are the window corpus (embed.max_length); a max_length here would be
    silently ignored, so it is refused."""
    atu = {"align": {"lr": 1e-3, "max_length": 64}, "unlearn": {"lr": 1e-5}, "taus": [0.5]}
    with pytest.raises(ValidationError, match="max_length"):
        AtuParams(**atu)
