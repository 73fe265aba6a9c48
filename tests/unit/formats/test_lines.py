"""The shared line helpers: CR-only files read line by line, and a bound on what is read."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from ragbench.errors import FormatError
from ragbench.evaluation.engine import evaluate
from ragbench.formats import validate
from ragbench.formats.lines import has_lone_cr, line_break_notes, load, universal_newlines
from ragbench.formats.trec import read_qrels, read_run
from ragbench.settings import get_settings

RUN = b"301 Q0 d1 1 2.0 a\n301 Q0 d2 2 1.0 a\n302 Q0 d3 1 1.0 a\n302 Q0 d9 2 0.5 a\n"
QRELS = b"301 0 d1 1\n301 0 d2 0\n302 0 d3 1\n302 0 d4 1\n"


def as_cr(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r")


@pytest.mark.parametrize(
    ("raw", "lines"),
    [
        (b"a\rb\rc", b"a\nb\nc"),
        (b"a\r\nb\r\n", b"a\r\nb\r\n"),  # CRLF untouched (its CR is trailing whitespace)
        (b"a\r\nb\rc\n", b"a\nb\nc\n"),  # mixed: every break a break
        (b"a\nb\n", b"a\nb\n"),
    ],
)
def test_universal_newlines(raw: bytes, lines: bytes) -> None:
    assert universal_newlines(raw) == lines
    assert has_lone_cr(raw) == (raw != lines and b"\r\n" not in lines)


def test_cr_only_run_and_qrels_read_as_every_line(tmp_path: Path) -> None:
    run, qrels = read_run(as_cr(RUN)), read_qrels(as_cr(QRELS))
    assert (len(run), len(qrels)) == (len(read_run(RUN)), len(read_qrels(QRELS))) == (4, 4)
    (tmp_path / "r").write_bytes(as_cr(RUN))
    (tmp_path / "q").write_bytes(as_cr(QRELS))
    measures = ["P@2", "AP", "nDCG@10"]
    assert (
        evaluate(tmp_path / "q", tmp_path / "r", measures).aggregate
        == evaluate(QRELS, RUN, measures).aggregate
    )
    note = line_break_notes(as_cr(RUN), "r")
    assert (
        len(note) == 1
        and note[0].severity == "warning"
        and "4 lines end with a lone carriage return" in note[0].message
    )
    assert line_break_notes(RUN.replace(b"\n", b"\r\n"), "r") == []


def test_validate_reports_cr_only_files_and_reads_their_kind(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_bytes(as_cr(QRELS))
    report = validate(tmp_path / "x.txt")
    assert report.ok and [p.severity for p in report.problems] == ["warning"]
    assert "lone carriage return" in report.problems[0].message
    (tmp_path / "y.txt").write_bytes(as_cr(QRELS) + b"302 0 d5 x\r")
    bad = validate(tmp_path / "y.txt", kind="qrels")
    assert [p.line for p in bad.errors] == [5]  # the line number counts CR-only lines


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RAGBENCH_MAX_INPUT_BYTES", "100000")
    get_settings.cache_clear()
    yield 100_000
    get_settings.cache_clear()


def test_a_file_that_never_ends_stops_at_the_limit(tmp_path: Path, small_limit: int) -> None:
    with pytest.raises(FormatError, match="larger than 100,000 bytes"):
        load("/dev/zero", None)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    stop = threading.Event()

    def write_forever() -> None:
        try:
            with fifo.open("wb") as out:
                while not stop.is_set():
                    out.write(b"301 Q0 d 1 1 a\n" * 1000)
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=write_forever, daemon=True)
    writer.start()
    try:
        with pytest.raises(FormatError, match="never ends"):
            read_run(str(fifo))
    finally:
        stop.set()
        writer.join(timeout=10)
    big = tmp_path / "big"
    big.write_bytes(b"x" * (small_limit + 1))
    with pytest.raises(FormatError, match="RAGBENCH_MAX_INPUT_BYTES"):
        load(big, None)
    assert load(RUN, None)[0] == RUN
