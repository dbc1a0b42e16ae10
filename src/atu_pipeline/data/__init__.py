"""Benchmark data as the project reads it: RWKU files and the fictitious demo world."""
