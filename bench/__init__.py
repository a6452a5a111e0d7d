"""Benchmarks; `python -m bench` runs them and rewrites BENCHMARKS.md."""
