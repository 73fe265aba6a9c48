"""ragbench."""
