"""Every malformed fixture in tests/fixtures/bad/ is rejected at the line EXPECTED.tsv names.

EXPECTED.tsv has one row per fixture: ``filename<TAB>kind<TAB>line<TAB>message substring``, kind
one of run, qrels, topics, corpus, lengths; line 0 means the whole file (an empty one, say). Files
ending in ``.gz`` are gzip-compressed (a truncated one among them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from support.paths import FIXTURES

from ragbench.errors import FormatError
from ragbench.formats import Problem, iter_corpus, read_qrels, read_run, read_topics, validate
from ragbench.formats.detect import detect_path
from ragbench.formats.lengths import read_lengths

BAD = FIXTURES / "bad"


class Case(NamedTuple):
    name: str
    kind: str
    line: int
    message: str


def load_cases() -> list[Case]:
    rows = (BAD / "EXPECTED.tsv").read_text(encoding="utf-8").splitlines()
    return [Case(n, k, int(line), m) for n, k, line, m in (row.split("\t") for row in rows if row)]


CASES = load_cases()
READERS: dict[str, Callable[[Path], object]] = {
    "run": read_run,
    "qrels": read_qrels,
    "topics": read_topics,
    "corpus": lambda path: list(iter_corpus(path)),
    "lengths": read_lengths,
}


def assert_first_error(problems: list[Problem], case: Case) -> None:
    errors = [p for p in problems if p.severity == "error"]
    assert errors, f"{case.name}: no error reported"
    first = errors[0]
    assert first.line == case.line and case.message in first.message, first.render()
    assert first.file.endswith(case.name)


def test_fixture_set_is_complete() -> None:
    assert len(CASES) >= 80
    listed = {c.name for c in CASES}
    assert len(listed) == len(CASES), "a fixture is listed twice"
    on_disk = {p.name for p in BAD.iterdir()} - {"EXPECTED.tsv"}
    assert on_disk == listed
    assert {c.kind for c in CASES} == {"run", "qrels", "topics", "corpus", "lengths"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reader_rejects_fixture(case: Case) -> None:
    with pytest.raises(FormatError) as caught:
        READERS[case.kind](BAD / case.name)
    assert_first_error(caught.value.problems, case)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_validate_reports_fixture(case: Case) -> None:
    report = validate(BAD / case.name, kind=case.kind)
    assert not report.ok
    assert_first_error(report.problems, case)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_validate_detects_the_kind_of_fixture(case: Case) -> None:
    assert detect_path(BAD / case.name).kind == case.kind
    assert_first_error(validate(BAD / case.name).problems, case)
