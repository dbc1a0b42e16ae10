"""RWKU per-target files: find one target, read and validate its JSON files, shape them into tables.

`schema` checks every record against the schema RWKU publishes (shared/reference/rwku.md §3);
`sources` finds a target in a local folder, on the HF hub or in the demo world and returns its
`TargetFiles`; `tables` turns a `TargetFiles` into tables. No kedro here: the ingest nodes are
thin adapters over `find_target` and the `*_table` functions.
"""

from .schema import (
    OPTIONAL_STEMS,
    REQUIRED_STEMS,
    SCHEMAS,
    UTILITY_STEMS,
    RwkuFormatError,
    RwkuHubError,
    RwkuTargetError,
    read_records,
)
from .sources import TargetFiles, find_target, name_from_id
from .tables import (
    CORPUS_COLUMNS,
    INJECTION_COLUMNS,
    MIA_COLUMNS,
    PROBE_COLUMNS,
    fill_blank,
    first_probes,
    forget_corpus_table,
    injection_table,
    mia_table,
    probe_table,
    retain_corpus_table,
    retain_probe_table,
    split_probes,
    target_info,
    utility_items,
)

__all__ = [
    "CORPUS_COLUMNS",
    "INJECTION_COLUMNS",
    "MIA_COLUMNS",
    "OPTIONAL_STEMS",
    "PROBE_COLUMNS",
    "REQUIRED_STEMS",
    "SCHEMAS",
    "UTILITY_STEMS",
    "RwkuFormatError",
    "RwkuHubError",
    "RwkuTargetError",
    "TargetFiles",
    "fill_blank",
    "first_probes",
    "find_target",
    "forget_corpus_table",
    "injection_table",
    "mia_table",
    "name_from_id",
    "probe_table",
    "read_records",
    "retain_corpus_table",
    "retain_probe_table",
    "split_probes",
    "target_info",
    "utility_items",
]
