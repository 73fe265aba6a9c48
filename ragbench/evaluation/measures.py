"""Kept for old imports: ir-measures name parsing now lives in :mod:`ragbench.evaluation.registry`.

Use ``ragbench.evaluation.registry.canonical_measures(names, "adhoc")`` to check names (it also
checks that an installed provider computes each one), or ``registry.parse_measures``.
"""

from ragbench.evaluation.registry import parse_measures

__all__ = ["parse_measures"]
