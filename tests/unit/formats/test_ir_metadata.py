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


# libyaml (PyYAML's C loader, used when built in) reports an unclosed bracket where the stream ends
# and refuses deep nesting itself; the Python loader reports the bracket's line and recurses.
@pytest.mark.parametrize(
    ("data", "lines", "message"),
    [
        (b"# ir_metadata.start\n# tag: x\n" + LINE, {1}, "ir_metadata header: no '# ir_metadata.end' line before the results"),
        (b"# ir_metadata.start\n# tag: x\n", {1}, "ir_metadata header: no '# ir_metadata.end' line"),
        (b"# ir_metadata.start\n# tag: x\n# m: [1, 2\n# ir_metadata.end\n" + LINE, {3, 4}, "ir_metadata header is not YAML"),
        (b"# ir_metadata.start\n# - a list\n# ir_metadata.end\n" + LINE, {1}, "must be a YAML mapping, found list"),
        (b"# ir_metadata.start\n# a: &x [1, 2]\n# b: [*x, *x]\n# ir_metadata.end\n" + LINE, {3}, "YAML aliases (*name) are not allowed"),
        (b"# ir_metadata.start\n# a: " + b"[" * 1000 + b"]" * 1000 + b"\n# ir_metadata.end\n" + LINE, {1, 2}, "nest"),
    ],
)  # fmt: skip
def test_bad_headers_name_the_line(data: bytes, lines: set[int], message: str) -> None:
    with pytest.raises(FormatError) as caught:
        read_ir_metadata(data, "r.run")
    [problem] = caught.value.problems
    assert problem.file == "r.run" and problem.line in lines
    assert message in problem.message


def test_mutated_headers_are_read_or_refused_with_a_format_error() -> None:
    import random

    rng = random.Random(16)
    seed = format_run(
        {"1": [("d1", 2.0)]}, "t", {"tag": "t", "method": {"retrieval": [{"k1": 0.9}]}, "depth": 10}
    )
    noise = [
        b"#",
        b"\n",
        b":",
        b"[",
        b"{",
        b"- ",
        b"\x00",
        b"\xff",
        b"&a",
        b"*a",
        b"!!python/object:os.system",
        b"  ",
    ]
    for _ in range(500):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data) + 1)
            data[at:at] = rng.choice(noise)
        try:
            header = read_ir_metadata(bytes(data))
        except FormatError as exc:
            assert exc.problems and exc.problems[0].line >= 1
        else:
            assert header is None or isinstance(header, dict)
