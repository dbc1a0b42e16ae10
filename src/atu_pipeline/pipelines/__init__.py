"""Project pipelines, one folder each; `find_pipelines` registers every folder under its name."""
