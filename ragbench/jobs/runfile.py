"""Writing a ranking as a TREC run file with an ir_metadata header.

The header follows ir_metadata (Breuer et al., SIGIR 2022): YAML in ``#`` comment lines before
the first result line, here with the ``tag``, ``platform``, ``implementation``, ``method`` and
``data`` sections. Nothing in it changes between two runs of the same config on the same
software (no time stamps, no timings, no host names), so two runs write the same bytes; timings
go into the stored run's metadata instead.

Scores are written as the shortest decimal that reads back as the same double, so the ranking
trec_eval reconstructs from the file (score descending) is the one the pipeline produced, and no
two different scores are rounded into a tie.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from ragbench.jobs.ranking import Ranking


def format_run(ranking: Ranking, tag: str, header: dict[str, Any] | None = None) -> bytes:
    """The run file's bytes: the ir_metadata header, then ``qid Q0 docid rank score tag`` lines.

    Queries appear in the order of ``ranking``; each list is written in its (sorted) order with
    ranks 1, 2, ....
    """
    out = io.StringIO()
    if header:
        import yaml

        text = yaml.safe_dump(
            header, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
        )
        out.write("# ir_metadata.start\n")
        for line in text.splitlines():
            out.write(f"# {line}\n" if line else "#\n")
        out.write("# ir_metadata.end\n")
    for query_id, hits in ranking.items():
        for rank, (doc_id, score) in enumerate(hits, start=1):
            out.write(f"{query_id} Q0 {doc_id} {rank} {float(score)!r} {tag}\n")
    return out.getvalue().encode("utf-8")


def write_run(path: str | os.PathLike[str], data: bytes) -> None:
    """Write the run atomically (a reader never sees half a file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, target)
