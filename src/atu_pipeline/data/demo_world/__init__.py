"""The fictitious demo world (temporary re-export while world.py moves here)."""

from atu_pipeline.world import MAX_PEOPLE, generate_world, target_id, write_world

__all__ = ["MAX_PEOPLE", "generate_world", "target_id", "write_world"]
