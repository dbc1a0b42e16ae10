"""The only code that touches model files and the result cache: model specs, Kedro datasets,
the tiny random models of the test environment."""
