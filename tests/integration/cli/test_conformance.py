"""trec_eval 10.0's own test suite: every qrels/trec_results command of its Makefile, byte for byte.

The expected outputs come from the official binary (see ``SOURCE.txt`` beside them). The
``-R prefs``, ``-R qrels_prefs`` and ``-R qrels_jg`` commands are out of scope.
"""

from __future__ import annotations

import io
import shlex

import pytest
from support.paths import SHARED

from ragbench.evaluation.trec_eval.cli import main

DATA = SHARED / "data" / "trec_eval"

COMMANDS = [
    ("qrels.test results.test", "out.test"),
    ("qrels.test.with-comments results.test", "out.test"),
    ("qrels.comment.test results.comment.test", "out.comment.test"),
    ("-m all_trec qrels.test results.test", "out.test.a"),
    ("-m all_trec -q qrels.test results.test", "out.test.aq"),
    ("-m all_trec -q -c qrels.test results.trunc", "out.test.aqc"),
    ("-m all_trec -q -c -M100 qrels.test results.trunc", "out.test.aqcM"),
    ("-m all_trec -mrelstring.20 -q -l2 qrels.rel_level results.test", "out.test.aql"),
    (
        "-q -miprec_at_recall..10,.20,.25,.75,.50 -m P.5,7,3 -m recall.20,2000 -m Rprec_mult.5.0,0.2,0.35 "
        "-mutility.2,-1,0,0 -m 11pt_avg..25,.5,.75 -mndcg.1=3,2=9,4=4.5 -mndcg_cut.10,20,23.4 "
        "-msuccess.2,5,20 qrels.test results.test",
        "out.test.meas_params",
    ),
    ("-q -m all_trec -Z zscores_file qrels.test results.test", "out.test.aqZ"),
]


@pytest.mark.parametrize(("command", "expected"), COMMANDS, ids=[f"{e}:{c.split()[-2]}" for c, e in COMMANDS])
def test_output_is_byte_identical(command: str, expected: str) -> None:
    if not DATA.is_dir():
        pytest.skip(f"trec_eval test data not found at {DATA}")
    argv = [str(DATA / arg) if (DATA / arg).is_file() else arg for arg in shlex.split(command)]
    out = io.StringIO()
    assert main(argv, out) == 0
    assert out.getvalue().encode() == (DATA / expected).read_bytes()
