"""Parse and validate the files of a benchmark: TREC runs and qrels (also BEIR TSV), topics, corpora
(JSONL, TREC SGML, TSV), sessions, lengths and run headers (ir_metadata).

Every reader raises :class:`ragbench.errors.FormatError` whose ``problems`` name the file, the
line, the column and the problem in a plain sentence; :func:`validate` collects them, with
warnings, into a :class:`ValidationReport`. Nothing here imports more than numpy.
"""

from ragbench.formats.corpus import Document, check_corpus, corpus_hash, iter_corpus
from ragbench.formats.problems import Problem, ValidationReport
from ragbench.formats.sessions import (
    SessionQrels,
    SessionRatings,
    SessionRun,
    SessionTopics,
    check_qrels_against,
    check_run_against,
    read_ratings,
    read_session_qrels,
    read_session_run,
    read_sessions,
)
from ragbench.formats.tables import QrelsTable, RunTable
from ragbench.formats.topics import Topic, read_topics
from ragbench.formats.trec import read_qrels, read_run
from ragbench.formats.validate import detect_kind, validate

__all__ = (
    "Document",
    "Problem",
    "QrelsTable",
    "RunTable",
    "SessionQrels",
    "SessionRatings",
    "SessionRun",
    "SessionTopics",
    "Topic",
    "ValidationReport",
    "check_corpus",
    "check_qrels_against",
    "check_run_against",
    "corpus_hash",
    "detect_kind",
    "iter_corpus",
    "read_qrels",
    "read_ratings",
    "read_run",
    "read_session_qrels",
    "read_session_run",
    "read_sessions",
    "read_topics",
    "validate",
)
