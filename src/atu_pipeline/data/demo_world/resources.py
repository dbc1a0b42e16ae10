"""The package's YAML tables: word lists, fact rows and text templates."""

from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any

import yaml


@cache
def table(name: str) -> Any:
    """The parsed ``<name>.yaml`` shipped with this package, read once and read-only."""
    text = files(__package__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return _frozen(yaml.safe_load(text))


def _frozen(value: Any) -> Any:
    # Every world draws from this one cached copy: a caller that appended to a word list would
    # silently change every later world, so lists become tuples and mappings read-only views.
    if isinstance(value, dict):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value
