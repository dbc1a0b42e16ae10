"""A deterministic, fictitious world written in RWKU's per-target file format.

Why this exists: the small (135M) language model embedded in this project knows nothing about the
real RWKU targets (Stephen King and friends), so unlearning them would measure nothing. Instead we
invent a handful of people with fact sheets (birth year, home town, works, award, organisation,
collaborator, ...), write biographies and probes about them in exactly the shape of RWKU's files,
inject that knowledge into the model (the ``injection`` file), and then unlearn one person while
checking that neighbours, other people and general utility survive.

The world is data: word lists, fact rows and text templates live in the package's YAML files
(``words``, ``facts``, ``prose``, ``utility_sets``) and small functions fill them in. Everything is
drawn from one ``random.Random(seed)`` in a fixed order, so the same arguments always give the
same world, byte for byte once written.
"""

from .world import MAX_PEOPLE, generate_world, target_id, write_world

__all__ = ["MAX_PEOPLE", "generate_world", "target_id", "write_world"]
