"""The science, in plain PyTorch: knows nothing of Kedro, MLflow or configuration files."""
