"""Benchmark harness for rp-impact (`make bench` runs `python -m benchmarks.run`).

Everything it generates goes into `benchmarks/_data/` (git-ignored) and is reused when present.
"""
