"""Align-then-Unlearn (arXiv 2506.13181) as a Kedro project."""

__version__ = "0.1.0"
