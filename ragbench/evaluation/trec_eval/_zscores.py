"""Reading trec_eval's ``-Z`` file: ``query_id measure_name mean stddev`` per line (``get_zscores.c``)."""

from __future__ import annotations

from pathlib import Path

from ragbench.errors import InputError
from ragbench.evaluation.trec_eval._params import c_atof

__all__ = ["read_zscores"]

ZScores = dict[str, dict[str, tuple[float, float]]]


def read_zscores(source: str | Path | bytes, *, name: str | None = None) -> ZScores:
    """Means and standard deviations per topic and value name, from a reference set of runs.

    Fields are separated by blanks; mean and stddev are read with C's ``atof``. Blank lines are
    skipped. When a (topic, measure) pair repeats, the first line wins.

    Raises:
        InputError: the file cannot be read, or a line does not have exactly four fields.
    """
    label = name or ("<memory>" if isinstance(source, bytes) else str(source))
    if isinstance(source, bytes):
        data = source
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise InputError(
                f"trec_eval.get_zscores: Cannot read zscores file '{label}': {exc.strerror}"
            ) from None
    out: ZScores = {}
    for lineno, raw in enumerate(data.decode("utf-8", errors="surrogateescape").split("\n"), start=1):
        fields = raw.split()
        if not fields:
            continue
        if len(fields) != 4:
            raise InputError(
                f"{label}:{lineno}: trec_eval.get_zscores: Malformed line "
                f"(expected 'query_id measure mean stddev', found {len(fields)} fields)"
            )
        qid, measure, mean, std = fields
        out.setdefault(qid, {}).setdefault(measure, (c_atof(mean), c_atof(std)))
    return out
