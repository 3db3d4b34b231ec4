"""Baselines that `geohazard eval` runs side by side with GeoHazard Copilot on the same questions."""
