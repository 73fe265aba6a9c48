"""Pipelines and their execution on Ray (imported lazily: the core does not need Ray)."""
