from .pipeline import create_pipeline, run_table_pipeline

__all__ = ["create_pipeline", "run_table_pipeline"]
