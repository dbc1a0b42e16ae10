"""Ingest one RWKU target (or the demo world) into typed tables."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
