"""trec_eval 10.0's measures, vectorised over all topics at once, with byte-identical output.

Library use::

    from ragbench.evaluation.prepare import prepare
    from ragbench.evaluation.trec_eval import evaluate_trec, ndcg_at

    prepared = prepare(qrels, run)                       # -l/-c/-M/-J are prepare's options
    result = evaluate_trec(prepared, ["map", "P.10", "ndcg_cut.10"])
    result.per_topic["ndcg_cut_10"], result.summary["map"]
    ndcg_at(prepared, [10], gains={0: 0, 1: 1, 2: 3})    # one measure directly, (n_topics, 1)

Command use: :func:`ragbench.evaluation.trec_eval.cli.main` takes trec_eval's own arguments.
Differences between trec_eval 10.0 and the 9.0.8 embedded in pytrec_eval are listed in
``docs/trec_eval_differences.md``.
"""

from ragbench.evaluation.trec_eval._average_precision import (
    average_precision,
    average_precision_at,
    eleven_point_average,
    interpolated_precision,
    log_average_precision,
    yaap,
)
from ragbench.evaluation.trec_eval._bpref import bpref, inferred_average_precision, log_bpref
from ragbench.evaluation.trec_eval._evaluate import (
    MeasureSpec,
    MeasureValues,
    SelectedMeasure,
    TrecEvalResult,
    evaluate_trec,
    select_measures,
    to_zscores,
)
from ragbench.evaluation.trec_eval._gain_measures import binary_gain, gain, rbp, rbp_residual
from ragbench.evaluation.trec_eval._ndcg import dcg_parts, ndcg, ndcg_at, ndcg_rel, r_ndcg
from ragbench.evaluation.trec_eval._output import format_report
from ragbench.evaluation.trec_eval._params import CutoffParams, DoubleParams, PairParams
from ragbench.evaluation.trec_eval._precision import (
    num_nonjudged_ret,
    num_nonrel_judged_ret,
    precision,
    r_precision,
    r_precision_multiples,
    recall,
    reciprocal_rank,
    relative_precision,
    set_f,
    set_map,
    set_precision,
    set_recall,
    set_relative_precision,
    success,
    unjudged,
    utility,
)
from ragbench.evaluation.trec_eval._registry import MEASURE_SETS, MEASURES, MeasureDef, Params
from ragbench.evaluation.trec_eval._view import TopicView
from ragbench.evaluation.trec_eval._zscores import read_zscores

__all__ = [
    "MEASURES",
    "MEASURE_SETS",
    "CutoffParams",
    "DoubleParams",
    "MeasureDef",
    "MeasureSpec",
    "MeasureValues",
    "PairParams",
    "Params",
    "SelectedMeasure",
    "TopicView",
    "TrecEvalResult",
    "average_precision",
    "average_precision_at",
    "binary_gain",
    "bpref",
    "dcg_parts",
    "eleven_point_average",
    "evaluate_trec",
    "format_report",
    "gain",
    "inferred_average_precision",
    "interpolated_precision",
    "log_average_precision",
    "log_bpref",
    "ndcg",
    "ndcg_at",
    "ndcg_rel",
    "num_nonjudged_ret",
    "num_nonrel_judged_ret",
    "precision",
    "r_ndcg",
    "r_precision",
    "r_precision_multiples",
    "rbp",
    "rbp_residual",
    "read_zscores",
    "recall",
    "reciprocal_rank",
    "relative_precision",
    "select_measures",
    "set_f",
    "set_map",
    "set_precision",
    "set_recall",
    "set_relative_precision",
    "success",
    "to_zscores",
    "unjudged",
    "utility",
    "yaap",
]
