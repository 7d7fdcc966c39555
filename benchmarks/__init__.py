"""Benchmarks against the goals the issues name; run with `make bench`."""
