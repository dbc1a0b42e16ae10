"""The official RWKU layout with three targets, shared by the schema, source and table tests."""

from pathlib import Path

import pytest
from rwku_folders import write_target


@pytest.fixture
def official(tmp_path: Path) -> Path:
    """The official layout `<root>/Target/<id>/` with three targets."""
    for target_id in ("1_Stephen_King", "2_Confucius", "3_Bruce_Lee"):
        write_target(tmp_path / "Target", target_id)
    return tmp_path
