"""Tables, reports, plots and progress bars: pure functions of results (no Kedro, no files)."""
