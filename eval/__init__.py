"""Evaluation and benchmarks: question sets, harness, scoring, reports, the naive baseline, `python -m eval`.

It imports the product (app) through its public surface; the product never imports it."""
