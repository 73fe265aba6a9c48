"""Session file readers: the running example, every error with its file and line, both read paths."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import NamedTuple, TypeVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.paths import FIXTURES

from ragbench.errors import FormatError
from ragbench.formats import (
    SessionQrels,
    SessionRun,
    SessionTopics,
    check_qrels_against,
    check_run_against,
    detect_kind,
    read_ratings,
    read_session_qrels,
    read_session_run,
    read_sessions,
    validate,
)
from ragbench.formats import lines as lines_module
from ragbench.formats import sessions as sessions_module
from ragbench.formats._columns import split_tsv, split_words
from ragbench.formats.tables import StringPool, new_pool

SESSION_FILES = FIXTURES / "sessions"
BAD = SESSION_FILES / "bad"
T = TypeVar("T")
READERS = {
    "session-run": read_session_run,
    "session-qrels": read_session_qrels,
    "sessions": read_sessions,
    "ratings": read_ratings,
}


def rows(run: SessionRun) -> list[tuple[str, int, int, str, bool]]:
    """(session, query index, rank, doc, clicked) of every row, in table order."""
    return [
        (run.session_ids[s], q, r, run.strings[d], c)
        for s, q, r, d, c in zip(
            run.session.tolist(),
            run.query_index.tolist(),
            run.rank.tolist(),
            run.doc.tolist(),
            run.clicked.tolist(),
            strict=True,
        )
    ]


def assert_same_run(a: SessionRun, b: SessionRun, *, lines: bool = True) -> None:
    assert rows(a) == rows(b)
    assert a.session_ids == b.session_ids
    assert a.num_queries.tolist() == b.num_queries.tolist()
    assert a.queries == b.queries
    assert a.has_clicks == b.has_clicks
    if lines:
        assert a.line.tolist() == b.line.tolist()
        assert a.session_lines == b.session_lines


def problems(caught: pytest.ExceptionInfo[FormatError]) -> list[tuple[str, int, str]]:
    return [(p.file, p.line, p.message) for p in caught.value.problems]


def python_run(data: bytes, pool: StringPool | None = None) -> SessionRun:
    """The line-by-line reader, which the fast path must agree with."""
    data, name = lines_module.load(data, None)  # the BOM removed, as every reader does
    return sessions_module._read_run_lines(
        data, name, pool or new_pool(), sessions_module._is_jsonl(data, name)
    )


# -- the running example (spec section 0) --------------------------------------------------------

EXAMPLE = [
    ("s1", 1, 1, "d1", False),
    ("s1", 1, 2, "d2", False),
    ("s1", 1, 3, "d3", True),
    ("s1", 1, 4, "d4", False),
    ("s1", 2, 1, "d5", True),
    ("s1", 2, 2, "d2", True),
    ("s1", 2, 3, "d6", False),
]
EXAMPLE_QUERIES = {("s1", 1): "session evaluation", ("s1", 2): "session evaluation measures"}


def test_running_example_tsv() -> None:
    run = read_session_run(SESSION_FILES / "run.tsv")
    assert isinstance(run, SessionRun)
    assert rows(run) == EXAMPLE
    assert len(run) == 7
    assert run.session_ids == ("s1",)
    assert run.num_queries.tolist() == [2]
    assert run.queries == EXAMPLE_QUERIES
    assert run.has_clicks
    assert run.line.tolist() == [3, 4, 5, 6, 7, 8, 9]  # after a comment and the header
    assert run.session_lines == {"s1": 3}
    assert run.source == str(SESSION_FILES / "run.tsv")
    assert (run.session.dtype, run.query_index.dtype, run.rank.dtype) == (np.int32, np.int32, np.int64)
    assert (run.doc.dtype, run.clicked.dtype, run.line.dtype, run.num_queries.dtype) == (
        np.int32,
        np.bool_,
        np.int64,
        np.int32,
    )


def test_running_example_jsonl_reads_to_the_same_table() -> None:
    tsv, jsonl = read_session_run(SESSION_FILES / "run.tsv"), read_session_run(SESSION_FILES / "run.jsonl")
    assert_same_run(tsv, jsonl, lines=False)
    assert jsonl.line.tolist() == [1, 2, 3, 4, 5, 6, 7]
    # JSONL is told from the content too, when the name says nothing
    assert_same_run(jsonl, read_session_run((SESSION_FILES / "run.jsonl").read_bytes()))


def test_running_example_qrels_share_the_pool_with_the_run() -> None:
    pool = new_pool()
    run = read_session_run(SESSION_FILES / "run.tsv", pool=pool)
    qrels = read_session_qrels(SESSION_FILES / "qrels.txt", pool=pool)
    assert isinstance(qrels, SessionQrels)
    assert qrels.session_ids == ("s1",)
    assert qrels.query_index.tolist() == [0] * 6
    assert qrels.grade.tolist() == [0, 2, 1, 0, 1, 2]
    assert qrels.grade.dtype == np.int64
    assert qrels.line.tolist() == [2, 3, 4, 5, 6, 7]
    grades = dict(zip(qrels.doc.tolist(), qrels.grade.tolist(), strict=True))
    assert [grades.get(d, 0) for d in run.doc.tolist()] == [0, 2, 1, 0, 1, 2, 0]  # d6 unjudged
    assert qrels.strings[int(qrels.doc[-1])] == "d7"


def test_running_example_sessions_and_ratings() -> None:
    topics = read_sessions(SESSION_FILES / "sessions.tsv")
    assert isinstance(topics, SessionTopics)
    assert topics.session_ids == ("s1",)
    assert topics.num_queries.tolist() == [2]
    assert topics.queries == EXAMPLE_QUERIES
    assert topics.session_lines == {"s1": 2}
    run = read_session_run(SESSION_FILES / "run.tsv")
    check_run_against(run, topics)
    check_qrels_against(read_session_qrels(SESSION_FILES / "qrels.txt"), topics)
    derived = run.topics()
    assert (derived.session_ids, derived.num_queries.tolist(), derived.queries) == (
        ("s1",),
        [2],
        EXAMPLE_QUERIES,
    )
    ratings = read_ratings(SESSION_FILES / "ratings.tsv")
    assert (ratings.session_ids, ratings.names, ratings.values.tolist(), ratings.lines.tolist()) == (
        ("s1",),
        ("satisfaction",),
        [[4.0]],
        [2],
    )


# -- every malformed fixture names its file and line ---------------------------------------------


class Case(NamedTuple):
    name: str
    kind: str
    line: int
    message: str


CASES = [
    Case(n, k, int(line), m)
    for n, k, line, m in (
        row.split("\t") for row in (BAD / "EXPECTED.tsv").read_text("utf-8").splitlines() if row
    )
]


def test_bad_fixture_set_is_complete() -> None:
    assert {c.name for c in CASES} == {p.name for p in BAD.iterdir()} - {"EXPECTED.tsv"}
    assert {c.kind for c in CASES} == set(READERS)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_fixture_is_rejected_at_its_line(case: Case) -> None:
    path = BAD / case.name
    with pytest.raises(FormatError) as caught:
        READERS[case.kind](path)
    first = caught.value.problems[0]
    assert (first.file, first.line) == (str(path), case.line), first.render()
    assert case.message in first.message
    with pytest.raises(FormatError) as named:  # bytes: the name given is the one in messages
        READERS[case.kind](path.read_bytes(), name=case.name)
    assert named.value.problems[0].file == case.name
    report = validate(path, kind=case.kind)
    assert not report.ok
    assert (report.errors[0].line, report.errors[0].message) == (first.line, first.message)


# -- session runs: reading -----------------------------------------------------------------------


def test_rows_are_sorted_and_a_session_may_be_split() -> None:
    data = b"s2\t1\t2\tb\ns10\t1\t1\tx\ns2\t1\t1\ta\ns10\t2\t1\ty\ns2\t2\t1\tc\n"
    run = read_session_run(data)
    assert run.session_ids == ("s10", "s2")  # Python string order
    assert rows(run) == [
        ("s10", 1, 1, "x", False),
        ("s10", 2, 1, "y", False),
        ("s2", 1, 1, "a", False),
        ("s2", 1, 2, "b", False),
        ("s2", 2, 1, "c", False),
    ]
    assert run.line.tolist() == [2, 4, 3, 1, 5]
    assert run.session_lines == {"s10": 2, "s2": 1}
    assert run.num_queries.tolist() == [2, 2]
    assert not run.has_clicks
    assert_same_run(run, python_run(data))


def test_ranks_are_kept_as_written() -> None:
    run = read_session_run(b"s\t1\t10\tb\ns\t1\t3\ta\n")
    assert run.rank.tolist() == [3, 10]
    assert [run.strings[d] for d in run.doc.tolist()] == ["a", "b"]


@pytest.mark.parametrize(
    "data",
    [
        b"s1\t1\t1\td1\ns1\t2\t0\t-\ns1\t3\t1\td2\n",
        b'{"session_id": "s1", "query_index": 1, "rank": 1, "doc_id": "d1"}\n'
        b'{"session_id": "s1", "query_index": 2, "doc_id": null}\n'
        b'{"session_id": "s1", "query_index": 3, "rank": 1, "doc_id": "d2"}\n',
        b'{"session_id": "s1", "query_index": 1, "rank": 1, "doc_id": "d1"}\n'
        b'{"session_id": "s1", "query_index": 2, "rank": 0, "doc_id": "-"}\n'
        b'{"session_id": "s1", "query_index": 3, "rank": 1, "doc_id": "d2"}\n',
    ],
    ids=["tsv", "jsonl-null", "jsonl-dash"],
)
def test_no_results_marker_counts_the_query_but_adds_no_row(data: bytes) -> None:
    run = read_session_run(data)
    assert rows(run) == [("s1", 1, 1, "d1", False), ("s1", 3, 1, "d2", False)]
    assert run.num_queries.tolist() == [3]
    assert "-" not in list(run.strings)


def test_a_session_of_only_empty_queries() -> None:
    run = read_session_run(b"s1\t1\t0\t-\t\tfirst try\ns1\t2\t0\t-\n")
    assert len(run) == 0
    assert run.session_ids == ("s1",)
    assert run.num_queries.tolist() == [2]
    assert run.queries == {("s1", 1): "first try"}
    assert run.session_lines == {"s1": 1}


def test_header_comments_blank_lines_bom_and_crlf() -> None:
    data = (
        b"\xef\xbb\xbf# produced by a test\r\n"
        b"session_id\tquery_index\trank\tdoc_id\r\n"
        b"\r\n"
        b"s1\t1\t1\td1\r\n"
        b"  # an indented comment\r\n"
        b"s1\t1\t2\td2"  # no newline at the end
    )
    run = read_session_run(data)
    assert rows(run) == [("s1", 1, 1, "d1", False), ("s1", 1, 2, "d2", False)]
    assert run.line.tolist() == [4, 6]
    assert_same_run(run, python_run(data))


def test_a_header_later_in_the_file_is_an_error() -> None:
    with pytest.raises(FormatError) as caught:
        read_session_run(b"s1\t1\t1\td1\nsession_id\tquery_index\trank\tdoc_id\n")
    assert problems(caught) == [("<memory>", 2, "query index 'query_index' is not an integer")]


def test_clicked_values() -> None:
    values = ["1", "0", "true", "FALSE", "Yes", "no", ""]
    data = "".join(f"s\t1\t{r}\td{r}\t{v}\n" for r, v in enumerate(values, start=1)).encode()
    run = read_session_run(data)
    assert run.clicked.tolist() == [True, False, True, False, True, False, False]
    assert run.has_clicks
    assert_same_run(run, python_run(data))
    some = read_session_run(b"s\t1\t1\ta\ns\t1\t2\tb\t1\n")  # one line with a clicked column is enough
    assert some.has_clicks
    assert some.clicked.tolist() == [False, True]


def test_query_texts_may_be_given_once_and_are_stripped() -> None:
    data = b"s\t1\t1\ta\t\t  what cats eat \ns\t1\t2\tb\ns\t1\t3\tc\t0\twhat cats eat\ns\t2\t1\td\t\t\n"
    run = read_session_run(data)
    assert run.queries == {("s", 1): "what cats eat"}
    assert run.num_queries.tolist() == [2]
    assert_same_run(run, python_run(data))


def test_spaces_around_fields_are_ignored_by_both_readers() -> None:
    data = b" s1 \t 1\t1 \t d1\t 1 \n"
    assert sessions_module._fast_run(split_tsv(data, 4, 6), "x", new_pool()) is None
    run = read_session_run(data)
    assert rows(run) == [("s1", 1, 1, "d1", True)]


def test_the_fast_path_reads_plain_files() -> None:
    """The numpy pass must not give up on ordinary files (the benchmark depends on it)."""
    data = (SESSION_FILES / "run.tsv").read_bytes()
    fields = split_tsv(data, 4, 6)
    assert fields is not None
    fast = sessions_module._fast_run(fields, "x", new_pool())
    assert fast is not None
    assert_same_run(fast, python_run(data))
    qrels = split_words((SESSION_FILES / "qrels.txt").read_bytes(), 4)
    assert qrels is not None
    assert sessions_module._fast_qrels(qrels, "x", new_pool()) is not None
    topics = split_tsv((SESSION_FILES / "sessions.tsv").read_bytes(), 2, 3)
    assert topics is not None
    assert sessions_module._fast_sessions(topics, "x") is not None


# -- session runs: errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"s\tone\t1\td\n", 1, "query index 'one' is not an integer"),
        (b"s\t-1\t1\td\n", 1, "query index -1 must be 1 or more"),
        (b"s\t99999999999\t1\td\n", 1, "query index 99999999999 is too large"),
        (b"s\t1\t1.5\td\n", 1, "rank '1.5' is not an integer"),
        (
            b"s\t1\t0\td\n",
            1,
            "rank 0 must be 1 or more (rank 0 with doc_id '-' marks a query with no results)",
        ),
        (
            b"s\t1\t-2\td\n",
            1,
            "rank -2 must be 1 or more (rank 0 with doc_id '-' marks a query with no results)",
        ),
        (b"s\t1\t1\t-\n", 1, "a no-results line (doc_id '-' or null) must have rank 0, not 1"),
        (b"s\t1\t0\t-\t1\n", 1, "a no-results line (doc_id '-' or null) cannot be clicked"),
        (
            b"s\t1\t0\t-\ns\t1\t0\t-\n",
            2,
            "query 1 of session 's' is marked as having no results twice (first on line 1)",
        ),
        (
            b"s\t1\t1\td\ns\t1\t0\t-\n",
            2,
            "query 1 of session 's' is marked as having no results, but line 1 lists a document for it",
        ),
        (b"\t1\t1\td\n", 1, "empty session id"),
        (b"s\t1\t1\t\n", 1, "empty doc id"),
        (b"s\t1\t1\td e\n", 1, "doc id 'd e' contains whitespace"),
        (b"a b\t1\t1\td\n", 1, "session id 'a b' contains whitespace"),
        (
            b"s\t1\t1\td\t0\tq\textra\n",
            1,
            f"expected 4 to 6 tab-separated fields ({sessions_module.RUN_COLUMNS}), found 7",
        ),
        (b"s\t1\t1\td\ns\t1\t2\td\xff\n", 2, "bytes that are not UTF-8 (byte 0xff)"),
        (b"s\t1\t1\td\ns\t1\t2\td\x00\n", 2, "NUL character in line"),
        (b"# nothing here\n\n", 0, "empty file: no sessions"),
        (b'{"session_id": "s", "query_index": 1, "rank": 1}\n', 1, "missing key 'doc_id'"),
        (b'{"session_id": "s", "query_index": 1, "doc_id": "d"}\n', 1, "missing key 'rank'"),
        (
            b'{"session_id": 7, "query_index": 1, "rank": 1, "doc_id": "d"}\n',
            1,
            "'session_id' must be a string, found an integer",
        ),
        (
            b'{"session_id": "s", "query_index": true, "rank": 1, "doc_id": "d"}\n',
            1,
            "'query_index' must be an integer, found a boolean",
        ),
        (
            b'{"session_id": "s", "query_index": 1, "rank": 1.0, "doc_id": "d"}\n',
            1,
            "'rank' must be an integer, found a number",
        ),
        (
            b'{"session_id": "s", "query_index": 1, "rank": 1, "doc_id": 3}\n',
            1,
            "'doc_id' must be a string or null, found an integer",
        ),
        (
            b'{"session_id": "s", "query_index": 1, "rank": 1, "doc_id": "d", "clicked": 2}\n',
            1,
            "'clicked' must be true, false, 0 or 1, found 2",
        ),
        (
            b'{"session_id": "s", "query_index": 1, "rank": 1, "doc_id": "d", "query": 5}\n',
            1,
            "'query' must be a string, found an integer",
        ),
        (
            b'{"session_id": "s", "query_index": 1, "rank": 1, "doc_id": "d"\n',
            1,
            "bad JSON: Expecting ',' delimiter at column 63",
        ),
        (b'["s", 1, 1, "d"]\n', 1, "expected a JSON object, found an array"),
    ],
)
def test_run_errors(data: bytes, line: int, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        read_session_run(data, name="r.jsonl" if data.startswith((b"{", b"[")) else "r.tsv")
    first = caught.value.problems[0]
    assert (first.line, first.message) == (line, message)


def test_run_error_columns() -> None:
    with pytest.raises(FormatError) as caught:
        read_session_run(b"s1\t1\tx\td\n")
    assert str(caught.value) == "<memory>:1:6: error: rank 'x' is not an integer"


def test_every_run_problem_is_listed_in_line_order_then_the_gaps() -> None:
    data = b"s\t1\t1\ta\ns\t1\tx\tb\ns\t1\t2\ta\nt\t2\t1\ta\ns\t1\t3\tc\tmaybe\ns\t4\t1\td\n"
    with pytest.raises(FormatError) as caught:
        read_session_run(data, name="r")
    assert problems(caught) == [
        ("r", 2, "rank 'x' is not an integer"),
        ("r", 3, "document 'a' is listed twice in query 1 of session 's' (first on line 1)"),
        ("r", 5, "clicked value 'maybe' is not one of 0 1 true false yes no (or empty)"),
        ("r", 4, "session 't' has no query 1"),
        ("r", 6, "session 's' jumps from query 1 to query 4"),
    ]


def test_a_query_whose_only_line_is_bad_still_counts_for_the_gap_check() -> None:
    with pytest.raises(FormatError) as caught:
        read_session_run(b"s\t1\t1\ta\ns\t2\tx\tb\ns\t3\t1\tc\n")
    assert problems(caught) == [("<memory>", 2, "rank 'x' is not an integer")]


def test_problems_are_capped_at_50() -> None:
    data = b"".join(b"s\t1\tx\td\n" for _ in range(60))
    with pytest.raises(FormatError) as caught:
        read_session_run(data)
    assert len(caught.value.problems) == 50
    assert caught.value.more == 10
    assert str(caught.value).endswith("(and 59 more problems)")


def test_missing_file() -> None:
    with pytest.raises(FormatError) as caught:
        read_session_run(SESSION_FILES / "nope.tsv")
    assert problems(caught) == [(str(SESSION_FILES / "nope.tsv"), 0, "no such file")]


# -- session qrels --------------------------------------------------------------------------------


def test_qrels_session_level_spellings_per_query_labels_and_header() -> None:
    data = b"session_id query_index doc_id grade\ns1 0 a 1\ns1 Q0 b -1\ns1 - c 2\ns2 1 a 3\ns2 2 a 0\n"
    qrels = read_session_qrels(data, name="q")
    assert qrels.session_ids == ("s1", "s2")
    assert qrels.session.tolist() == [0, 0, 0, 1, 1]
    assert qrels.query_index.tolist() == [0, 0, 0, 1, 2]
    assert [qrels.strings[d] for d in qrels.doc.tolist()] == ["a", "b", "c", "a", "a"]
    assert qrels.grade.tolist() == [1, -1, 2, 3, 0]
    assert qrels.line.tolist() == [2, 3, 4, 5, 6]
    assert len(qrels) == 5
    python = sessions_module._read_qrels_lines(data, "q", new_pool(), False)
    assert (
        python.session.tolist(),
        python.query_index.tolist(),
        python.grade.tolist(),
        python.line.tolist(),
    ) == (
        qrels.session.tolist(),
        qrels.query_index.tolist(),
        qrels.grade.tolist(),
        qrels.line.tolist(),
    )


def test_qrels_jsonl() -> None:
    data = b'{"session_id": "s1", "doc_id": "a", "grade": 2}\n{"session_id": "s2", "query_index": 1, "doc_id": "a", "grade": 1}\n'
    qrels = read_session_qrels(data)
    assert (qrels.session_ids, qrels.query_index.tolist(), qrels.grade.tolist()) == (
        ("s1", "s2"),
        [0, 1],
        [2, 1],
    )


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"s 0 a 1\ns x a 1\n", 2, "query index 'x' is not an integer"),
        (b"s 0 a 1001\n", 1, "grade 1001 is out of range (-1000..1000)"),
        (
            b"s 1 a 1\ns 1 a 2\n",
            2,
            "document 'a' is judged twice for query 1 of session 's' (first on line 1)",
        ),
        (
            b"s 1 a 1\ns 0 b 2\n",
            2,
            "session 's' mixes session-level and per-query labels (line 2 is session-level, line 1 was per-query)",
        ),
        (b"s 0 a 1 extra\n", 1, "expected 4 columns (session_id query_index doc_id grade), found 5"),
        (b"\n# only a comment\n", 0, "empty file: no judgments"),
        (
            b'{"session_id": "s", "doc_id": "a", "grade": true}\n',
            1,
            "'grade' must be an integer, found a boolean",
        ),
        (
            b'{"session_id": "s", "doc_id": "a", "grade": 1, "iteration": 0}\n',
            1,
            "unknown key 'iteration' (the keys are session_id, query_index, doc_id, grade)",
        ),
    ],
)
def test_qrels_errors(data: bytes, line: int, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        read_session_qrels(data, name="q")
    assert problems(caught)[0] == ("q", line, message)


def test_a_mixing_session_is_reported_once() -> None:
    with pytest.raises(FormatError) as caught:
        read_session_qrels(b"s 0 a 1\ns 1 b 1\ns 2 c 1\n")
    assert [p.line for p in caught.value.problems] == [2]


# -- session lists and ratings -------------------------------------------------------------------


def test_sessions_tsv_and_jsonl() -> None:
    tsv = read_sessions(
        b"session_id\tquery_index\tquery\ns2\t1\tdogs\ns1\t2\t\ns1\t1\tcats and mice\ns2\t2\n"
    )
    jsonl = read_sessions(
        b'{"session_id": "s2", "query_index": 1, "query": "dogs"}\n{"session_id": "s1", "query_index": 2}\n'
        b'{"session_id": "s1", "query_index": 1, "query": "cats and mice"}\n{"session_id": "s2", "query_index": 2, "query": ""}\n'
    )
    for topics, first in ((tsv, {"s1": 3, "s2": 2}), (jsonl, {"s1": 2, "s2": 1})):
        assert topics.session_ids == ("s1", "s2")
        assert topics.num_queries.tolist() == [2, 2]
        assert topics.queries == {("s1", 1): "cats and mice", ("s2", 1): "dogs"}
        assert topics.session_lines == first
    python = sessions_module._read_sessions_lines(b"s2\t1\tdogs\ns1\t1\tcats\n", "x", False)
    assert (python.session_ids, python.num_queries.tolist(), python.queries) == (
        ("s1", "s2"),
        [1, 1],
        {("s1", 1): "cats", ("s2", 1): "dogs"},
    )


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"s1\t2\tq\n", 1, "session 's1' has no query 1"),
        (b"s1\n", 1, f"expected 2 or 3 tab-separated fields ({sessions_module.SESSIONS_COLUMNS}), found 1"),
        (b"s1\t0\tq\n", 1, "query index 0 must be 1 or more"),
        (
            b'{"session_id": "s1", "query_index": 1, "text": "q"}\n',
            1,
            "unknown key 'text' (the keys are session_id, query_index, query)",
        ),
        (b"", 0, "empty file: no sessions"),
    ],
)
def test_sessions_errors(data: bytes, line: int, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        read_sessions(data)
    assert problems(caught)[0] == ("<memory>", line, message)


def test_ratings_without_header_and_with_several_columns() -> None:
    plain = read_ratings(b"s2 3\n# comment\ns1\t-0.5\n")
    assert (plain.session_ids, plain.names, plain.values.tolist(), plain.lines.tolist()) == (
        ("s2", "s1"),
        ("rating",),
        [[3.0], [-0.5]],
        [1, 3],
    )
    wide = read_ratings(b"session_id\tsatisfaction\teffort\ns1\t4\t1e1\n")
    assert (wide.names, wide.values.tolist(), wide.values.shape) == (
        ("satisfaction", "effort"),
        [[4.0, 10.0]],
        (1, 2),
    )


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"session_id a b\ns1 1\n", 2, "expected 3 columns (session_id a b), found 2"),
        (b"session_id a b\ns1 1 nan\n", 2, "value 'nan' (column 'b') is not a finite number"),
        (b"s1 inf\n", 1, "value 'inf' is not a finite number; a header line must start with session_id"),
        (b"session_id\ns1\n", 1, "the header line names no value column"),
        (b"session_id a a\ns1 1 2\n", 1, "the header line names the column 'a' twice"),
        (b"session_id a\n", 1, "no ratings below the header"),
        (b"", 0, "empty file: no ratings"),
    ],
)
def test_ratings_errors(data: bytes, line: int, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        read_ratings(data)
    assert problems(caught)[0] == ("<memory>", line, message)


# -- cross checks --------------------------------------------------------------------------------

TOPICS = b"s1\t1\ns1\t2\ns2\t1\n"


def test_check_qrels_against_topics() -> None:
    topics = read_sessions(TOPICS, name="topics.tsv")
    check_qrels_against(read_session_qrels(b"s1 2 a 1\ns2 0 b 1\n"), topics)
    qrels = read_session_qrels(b"s1 1 a 1\ns9 0 a 1\ns1 3 b 1\ns9 0 b 1\ns2 1 a 1\ns2 2 a 1\n", name="q")
    with pytest.raises(FormatError) as caught:
        check_qrels_against(qrels, topics)
    assert problems(caught) == [
        ("q", 2, "unknown session 's9' (not in topics.tsv)"),
        ("q", 3, "query 3 of session 's1' is labelled, but the session has 2 queries in topics.tsv"),
        ("q", 6, "query 2 of session 's2' is labelled, but the session has 1 query in topics.tsv"),
    ]


def test_check_run_against_topics() -> None:
    topics = read_sessions(TOPICS, name="topics.tsv")
    check_run_against(read_session_run(b"s1\t1\t1\ta\ns1\t2\t0\t-\n"), topics)  # s2 missing: fine
    run = read_session_run(b"s1\t1\t1\ta\ns3\t1\t1\ta\ns2\t1\t1\ta\ns2\t2\t1\ta\n", name="r")
    with pytest.raises(FormatError) as caught:
        check_run_against(run, topics)
    assert problems(caught) == [
        ("r", 1, "session 's1' has 1 query here but 2 in topics.tsv"),
        ("r", 2, "unknown session 's3' (not in topics.tsv)"),
        ("r", 3, "session 's2' has 2 queries here but 1 in topics.tsv"),
    ]


# -- validate and detect_kind ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("run.tsv", "session-run"),
        ("run.jsonl", "session-run"),
        ("sessions.tsv", "sessions"),
        ("ratings.tsv", "ratings"),
    ],
)
def test_detect_session_kinds(name: str, kind: str) -> None:
    assert detect_kind((SESSION_FILES / name).read_bytes(), name) == kind


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b'{"session_id": "s", "doc_id": "d", "grade": 1}\n', "session-qrels"),
        (b'{"session_id": "s", "query_index": 1, "query": "q"}\n', "sessions"),
        (b"session_id\tquery_index\tdoc_id\tgrade\n", "session-qrels"),
    ],
)
def test_detect_session_kinds_from_keys_and_headers(head: bytes, kind: str) -> None:
    assert detect_kind(head, "x") == kind


def test_validate_session_files() -> None:
    kinds = {"run.tsv": "session-run", "run.jsonl": "session-run", "qrels.txt": "session-qrels"}
    for name, kind in kinds.items():
        report = validate(SESSION_FILES / name, kind=kind)
        assert report.ok and report.problems == [], name
    report = validate([SESSION_FILES / n for n in ("run.tsv", "run.jsonl", "sessions.tsv", "ratings.tsv")])
    assert report.ok and report.problems == []


# -- round trip: random valid runs written as TSV and JSONL read back the same --------------------

ID = st.text(alphabet="abcxyz019-_.:é", min_size=1, max_size=6).filter(lambda s: s != "-")
TEXT = st.text(alphabet="ab yé", max_size=8).map(str.strip)


@st.composite
def session_runs(draw: st.DrawFn) -> list[tuple[str, int, int, str | None, bool, str]]:
    """Rows (session, query index, rank, doc or None for no results, clicked, text), shuffled."""
    out = []
    for sid in draw(st.lists(ID, min_size=1, max_size=4, unique=True)):
        for qi in range(1, draw(st.integers(1, 3)) + 1):
            text = draw(TEXT)
            docs = draw(st.lists(ID, max_size=4, unique=True))
            if not docs:
                out.append((sid, qi, 0, None, False, text))
                continue
            ranks = sorted(
                draw(st.lists(st.integers(1, 10**12), min_size=len(docs), max_size=len(docs), unique=True))
            )
            for k, (doc, rank) in enumerate(zip(docs, ranks, strict=True)):
                out.append(
                    (sid, qi, rank, doc, draw(st.booleans()), text if k == 0 or draw(st.booleans()) else "")
                )
    return draw(st.permutations(out))


def write_tsv(data: list[tuple[str, int, int, str | None, bool, str]], header: bool) -> bytes:
    lines = ["session_id\tquery_index\trank\tdoc_id\tclicked\tquery"] if header else []
    lines += [f"{s}\t{q}\t{r}\t{d or '-'}\t{'1' if c else ''}\t{t}" for s, q, r, d, c, t in data]
    return ("\n".join(lines) + "\n").encode()


def write_jsonl(data: list[tuple[str, int, int, str | None, bool, str]]) -> bytes:
    objects = [
        {
            "session_id": s,
            "query_index": q,
            "doc_id": d,
            "clicked": c,
            **({"rank": r} if d else {}),
            **({"query": t} if t else {}),
        }
        for s, q, r, d, c, t in data
    ]
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects).encode()


@settings(max_examples=150, deadline=None)
@given(session_runs(), st.booleans())
def test_round_trip(data: list[tuple[str, int, int, str | None, bool, str]], header: bool) -> None:
    expected = sorted((s, q, r, d, c) for s, q, r, d, c, _ in data if d is not None)
    sessions = sorted({s for s, *_ in data})
    counts = {s: max(q for t, q, *_ in data if t == s) for s in sessions}
    texts = {(s, q): t for s, q, _, _, _, t in data if t}
    pool = new_pool()
    tsv = read_session_run(write_tsv(data, header), pool=pool)
    jsonl = read_session_run(write_jsonl(data), pool=pool)
    for run in (tsv, jsonl):
        assert rows(run) == expected
        assert run.session_ids == tuple(sessions)
        assert run.num_queries.tolist() == [counts[s] for s in sessions]
        assert run.queries == texts
        assert run.has_clicks
        assert run.strings is pool
    assert tsv.line.tolist() == (jsonl.line + header).tolist()
    assert_same_run(tsv, python_run(write_tsv(data, header)))
    assert_same_run(jsonl, python_run(write_jsonl(data)))


# -- the fast path accepts only what the line reader reads the same way ---------------------------

NOISE = ["", " ", "s1", " s1", "s1 ", "a b", "#c", "session_id", "1", "2", "01", "+1", "0", "-1", "x", " 1"]
NOISE += ["1.5", "-", "d 1", "maybe", "YES", "true", " cats ", "a\x0bb", "é", "x\ty"]
ODD_LINES = ["", "# comment", "   ", "session_id\tquery_index\trank\tdoc_id", "  # c\t1\t2\t3", "\t\t\t"]


@st.composite
def mutated(draw: st.DrawFn, lines: list[str]) -> bytes:
    """``lines`` with up to two fields replaced by odd values or odd lines inserted."""
    lines = list(lines)
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(lines) - 1))
        if draw(st.booleans()):
            lines.insert(i, draw(st.sampled_from(ODD_LINES)))
        else:
            fields = lines[i].split("\t")
            fields[draw(st.integers(0, len(fields) - 1))] = draw(st.sampled_from(NOISE))
            lines[i] = "\t".join(fields)
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return (end.join(lines) + draw(st.sampled_from(["", end]))).encode()


@st.composite
def noisy_runs(draw: st.DrawFn) -> bytes:
    data = draw(session_runs())
    return draw(mutated(write_tsv(data, draw(st.booleans())).decode().splitlines()))


@st.composite
def noisy_sessions(draw: st.DrawFn) -> bytes:
    queries = {(s, q): t for s, q, _, _, _, t in draw(session_runs())}
    return draw(mutated([f"{s}\t{q}\t{t}" for (s, q), t in queries.items()]))


@st.composite
def noisy_qrels(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        fields = [
            draw(st.sampled_from(["s1", "s2", "s1", "é", "#c", "session_id"])),
            draw(st.sampled_from(["0", "0", "1", "2", "Q0", "-", "01", "+1", "-1", "x", "q0"])),
            draw(st.sampled_from(["d1", "d2", "d3", "d1", "-"])),
            draw(st.sampled_from(["0", "1", "2", "-1", "+2", "1000", "1001", "x", "1.0"])),
        ]
        if draw(st.integers(0, 9)) == 0:
            fields = [*fields[: draw(st.integers(0, 5))], "extra"]
        separators = [draw(st.sampled_from([" ", "\t", "  ", " \x0b"])) for _ in fields]
        lines.append(
            draw(st.sampled_from(["", " "])) + "".join(f + s for f, s in zip(fields, separators, strict=True))
        )
    return "\n".join(lines).encode()


def line_reader(read: Callable[[], T]) -> T | None:
    """What the line reader makes of a file: its table, or None when it names problems."""
    try:
        return read()
    except FormatError:
        return None


@settings(max_examples=400, deadline=None)
@given(noisy_runs())
def test_fast_run_agrees_with_the_line_reader(data: bytes) -> None:
    fields = split_tsv(data, 4, 6)
    fast = None if fields is None else sessions_module._fast_run(fields, "<memory>", new_pool())
    slow = line_reader(lambda: python_run(data))
    if fast is not None:
        assert slow is not None
        assert_same_run(fast, slow)


@settings(max_examples=300, deadline=None)
@given(noisy_sessions())
def test_fast_sessions_agree_with_the_line_reader(data: bytes) -> None:
    fields = split_tsv(data, 2, 3)
    fast = None if fields is None else sessions_module._fast_sessions(fields, "<memory>")
    slow = line_reader(lambda: sessions_module._read_sessions_lines(data, "<memory>", False))
    if fast is not None:
        assert slow is not None
        assert (fast.session_ids, fast.num_queries.tolist(), fast.queries, fast.session_lines) == (
            slow.session_ids,
            slow.num_queries.tolist(),
            slow.queries,
            slow.session_lines,
        )


@settings(max_examples=300, deadline=None)
@given(noisy_qrels())
def test_fast_qrels_agree_with_the_line_reader(data: bytes) -> None:
    fields = split_words(data, 4)
    fast = None if fields is None else sessions_module._fast_qrels(fields, "<memory>", new_pool())
    slow = line_reader(lambda: sessions_module._read_qrels_lines(data, "<memory>", new_pool(), False))
    if fast is not None:
        assert slow is not None
        for column in ("session", "query_index", "doc", "grade", "line"):
            assert getattr(fast, column).tolist() == getattr(slow, column).tolist()
        assert fast.session_ids == slow.session_ids
