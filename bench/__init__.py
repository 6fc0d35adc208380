"""Benchmarks: each reports the gateway against a bare baseline measured in the same run."""
