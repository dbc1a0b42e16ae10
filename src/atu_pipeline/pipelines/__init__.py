"""The building blocks, one folder each (nodes.py, pipeline.py); pipeline_registry.py chains them
into the runs people start. No block imports another block: they meet in the catalog."""
