"""ragbench: retrieval and RAG evaluation — trec_eval-exact measures, honest statistics, leaderboards.

The top level stays light (numpy only): ``evaluate`` and ``compare`` import their parts on use.
"""

from __future__ import annotations

from typing import Any

from ragbench.version import __version__

__all__ = ["__version__", "compare", "evaluate"]


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        from ragbench.evaluation.engine import evaluate

        return evaluate
    if name == "compare":
        from ragbench.stats import compare

        return compare
    raise AttributeError(f"module 'ragbench' has no attribute {name!r}")
