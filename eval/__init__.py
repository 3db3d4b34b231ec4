"""Evaluation assets (question sets, results) and the naive baseline; imported by app.interfaces.evaluation."""
