from .pipeline import before_after_pipeline, create_pipeline

__all__ = ["before_after_pipeline", "create_pipeline"]
