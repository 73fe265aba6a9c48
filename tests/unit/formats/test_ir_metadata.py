"""read_ir_metadata: the YAML header of a run file, as ragbench run writes it and others do."""

from __future__ import annotations

import pytest

from ragbench.errors import FormatError
from ragbench.formats.ir_metadata import read_ir_metadata
from ragbench.formats.trec import read_run
from ragbench.jobs.runfile import format_run

LINE = b"301 Q0 d1 1 2.5 bm25\n"


def test_the_header_ragbench_writes_reads_back() -> None:
    header = {
        "tag": "bm25",
        "research goal": {"description": "a baseline: k1 0.9, b 0.4"},
        "method": {"retrieval": [{"name": "bm25", "method": "bm25", "k1": 0.9, "b": 0.4}]},
        "data": {"test collection": {"name": "cacm", "corpus": None}},
        "depth": 1000,
    }
    data = format_run({"301": [("d1", 2.5)]}, "bm25", header)
    assert data.startswith(b"# ir_metadata.start\n# tag: bm25\n")
    assert read_ir_metadata(data) == header
    assert len(read_run(data)) == 1  # the run readers skip the header


def test_a_hand_written_header() -> None:
    data = (
        b"#ir_metadata.start\n#tag: x\n# platform:\n#   hardware: {cpu: 2 cores}\n"
        b"# date: 2024-05-01\n#ir_metadata.end\n" + LINE
    )
    assert read_ir_metadata(data) == {
        "tag": "x",
        "platform": {"hardware": {"cpu": "2 cores"}},
        "date": "2024-05-01",
    }


@pytest.mark.parametrize(
    "data",
    [
        LINE,
        b"# a plain comment\n" + LINE,
        LINE + b"# ir_metadata.start\n# tag: late\n# ir_metadata.end\n",  # after the results: not a header
        b"",
    ],
)
def test_files_without_a_header(data: bytes) -> None:
    assert read_ir_metadata(data) is None


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"# ir_metadata.start\n# tag: x\n" + LINE, 1, "ir_metadata header: no '# ir_metadata.end' line before the results"),
        (b"# ir_metadata.start\n# tag: x\n", 1, "ir_metadata header: no '# ir_metadata.end' line"),
        (b"# ir_metadata.start\n# tag: x\n# m: [1, 2\n# ir_metadata.end\n" + LINE, 3, "ir_metadata header is not YAML"),
        (b"# ir_metadata.start\n# - a list\n# ir_metadata.end\n" + LINE, 1, "must be a YAML mapping, found list"),
    ],
)  # fmt: skip
def test_bad_headers_name_the_line(data: bytes, line: int, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        read_ir_metadata(data, "r.run")
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == ("r.run", line)
    assert message in problem.message
