"""No traceback, ever: 5,000+ mutated files fed to every CLI reader, in process.

Each seed is a valid file of one kind (run, qrels in TREC and BEIR form, topics in TREC, SGML,
TSV and JSONL form, corpora in JSONL, TREC SGML and TSV form, session runs and qrels, lengths),
read by the commands that read it (``validate``, ``eval``, ``compare``, ``session-eval``). Each
mutation flips, inserts or deletes bytes (NUL, invalid UTF-8, tags, braces, tabs, digits),
duplicates, swaps or drops lines, truncates, or gzips the result. The command must end with
status 0 (the mutation left the file valid) or 2 (a user error, reported), print no traceback,
and raise nothing but a clean exit; most mutations must be caught.
"""

from __future__ import annotations

import gzip
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragbench.cli import app

MUTATIONS = int(os.environ.get("FUZZ_MUTATIONS", "5200"))
CLI_EVERY = 20
"""Every CLI_EVERY-th mutated file goes through a whole command (Typer's CliRunner); the others
through the command's reader behind the CLI's error wrapper, which is what a command runs."""
RUN = b"".join(
    f"{q} Q0 d{d} {r} {10 - r * 0.5} tag\n".encode() for q in (1, 2) for r, d in enumerate(range(1, 9), 1)
)
QRELS = b"1 0 d1 1\n1 0 d2 0\n1 0 d3 2\n2 0 d4 1\n2 0 d5 0\n"
SEEDS: dict[str, tuple[str, bytes]] = {
    "run": ("run.txt", RUN),
    "qrels": ("qrels.txt", QRELS),
    "beir-qrels": ("qrels.tsv", b"query-id\tcorpus-id\tscore\n1\td1\t1\n1\td2\t0\n2\td4\t2\n"),
    "trec-topics": (
        "topics.txt",
        b"<top>\n<num> Number: 1\n<title> jet engines\n<desc> Description:\nx\n</top>\n",
    ),
    "sgml-topics": ("topics.sgml", b"<DOC>\n<DOCNO> 1 </DOCNO>\njet engines\n</DOC>\n"),
    "tsv-topics": ("queries.tsv", b"1\tjet engines\n2\trocket launch\n"),
    "jsonl-topics": ("queries.jsonl", b'{"_id": "1", "text": "jet"}\n{"qid": "2", "query": "rocket"}\n'),
    "jsonl-corpus": (
        "corpus.jsonl",
        b'{"id": "d1", "contents": "a jet"}\n{"_id": "d2", "title": "T", "text": "b"}\n',
    ),
    "trec-corpus": (
        "corpus.trec",
        b"<DOC>\n<DOCNO> d1 </DOCNO>\n<HEADLINE>\njets &amp; more\n</HEADLINE>\n<TEXT>\n<P>words</P>\n</TEXT>\n</DOC>\n",
    ),
    "tsv-corpus": ("collection.tsv", b"d1\tthe first passage about jet engines\nd2\tthe second one\n"),
    "session-run": (
        "session-run.tsv",
        b"session_id\tquery_index\trank\tdoc_id\tclicked\ns1\t1\t1\td1\t1\ns1\t2\t1\td2\t0\n",
    ),
    "session-qrels": ("session-qrels.txt", b"s1 0 d1 2\ns1 0 d2 0\n"),
    "lengths": ("lengths.txt", b"d1 120 3400\nd2 100 2000\n"),
}
NOISE = [b"\x00", b"\xff", b"\xc3", b"<", b">", b"</DOC>", b"<DOC>", b"{", b"}", b'"', b"\t", b" ", b"\n", b"#",
         b"-1", b"nan", b"9" * 25, b"\r", b"\xef\xbb\xbf", b"&", b"<DOCNO>", b"all"]  # fmt: skip


def mutate(data: bytes, rng: random.Random) -> bytes:
    for _ in range(rng.randint(1, 3)):
        lines = data.split(b"\n")
        choice = rng.randrange(9)
        at = rng.randrange(len(data) + 1)
        if choice == 0 and data:
            data = data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]
        elif choice == 1:
            data = data[:at] + rng.choice(NOISE) + data[at:]
        elif choice == 2:
            data = data[:at] + data[at + rng.randint(1, 8) :]
        elif choice == 3 and lines:
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
            data = b"\n".join(lines)
        elif choice == 4 and len(lines) > 1:
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            data = b"\n".join(lines)
        elif choice == 5 and lines:
            del lines[rng.randrange(len(lines))]
            data = b"\n".join(lines)
        elif choice == 6:
            data = data[:at]
        elif choice == 7:
            data = data.replace(b" ", b"\t") if rng.random() < 0.5 else data.replace(b"\t", b" ")
        else:
            fields = data.split()
            if fields:
                data = data.replace(rng.choice(fields), rng.choice(NOISE), 1)
    if rng.random() < 0.05:
        data = gzip.compress(data, mtime=0)
        if rng.random() < 0.5:
            data = data[: rng.randrange(len(data))]
    return data


def commands(kind: str, path: Path, folder: Path) -> list[list[str]]:
    """The commands that read a file of ``kind``, with valid companions."""
    good_run, good_qrels = folder / "good.run", folder / "good.qrels"
    lengths = ["--lengths", str(path)]
    readers: dict[str, Callable[[], list[list[str]]]] = {
        "run": lambda: [
            ["eval", str(good_qrels), str(path)],
            ["compare", str(good_qrels), str(good_run), str(path)],
        ],
        "qrels": lambda: [["eval", str(path), str(good_run)]],
        "beir-qrels": lambda: [["eval", str(path), str(good_run)]],
        "session-run": lambda: [["session-eval", str(folder / "good.sqrels"), str(path)]],
        "session-qrels": lambda: [["session-eval", str(path), str(folder / "good.srun")]],
        "lengths": lambda: [
            [
                "session-eval",
                str(folder / "good.sqrels"),
                str(folder / "good.srun"),
                "-m",
                "NUM(cost=chars)",
                *lengths,
            ]
        ],
    }
    found = [["validate", str(path)]]
    return found + readers.get(kind, list)()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "good.run").write_bytes(RUN)
    (folder / "good.qrels").write_bytes(QRELS)
    (folder / "good.srun").write_bytes(SEEDS["session-run"][1])
    (folder / "good.sqrels").write_bytes(SEEDS["session-qrels"][1])
    return folder


def reader(kind: str) -> Callable[[Path], object]:
    """The reader a command calls for ``kind``."""
    from ragbench.formats import (
        iter_corpus,
        read_qrels,
        read_run,
        read_session_qrels,
        read_session_run,
        read_topics,
    )
    from ragbench.formats.lengths import read_lengths

    if kind.endswith("corpus"):
        return lambda path: list(iter_corpus(path))
    found: dict[str, Callable[[Path], object]] = {
        "run": read_run, "qrels": read_qrels, "beir-qrels": read_qrels, "session-run": read_session_run,
        "session-qrels": read_session_qrels, "lengths": read_lengths,
    }  # fmt: skip
    return found.get(kind, read_topics)


def through_wrapper(kind: str, path: Path) -> int:
    """The reader behind the CLI's error wrapper: 0 when it read the file, else the exit status."""
    import typer

    from ragbench.cli.console import user_errors

    try:
        user_errors(reader(kind))(path)
    except typer.Exit as exit_:
        return int(exit_.exit_code)
    return 0


def test_mutated_files_never_end_in_a_traceback(folder: Path) -> None:
    rng = random.Random(20261203)
    runner = CliRunner()
    outcomes = {0: 0, 2: 0}
    kinds = list(SEEDS)
    for n in range(MUTATIONS):
        kind = kinds[n % len(kinds)]
        name, seed = SEEDS[kind]
        path = folder / f"m{n % 50}-{name}"
        path.write_bytes(mutate(seed, rng))
        if n % CLI_EVERY:  # the reader and the CLI's error wrapper, in process: cheap
            status = through_wrapper(kind, path)  # anything but a user error propagates and fails
            assert status in (0, 2), f"{kind} reader on {path.read_bytes()[:300]!r}: exit {status}"
            outcomes[status] += 1
            continue
        argv = rng.choice(commands(kind, path, folder))
        result = runner.invoke(app, argv, catch_exceptions=True)
        where = f"ragbench {' '.join(argv)} on {path.read_bytes()[:300]!r}"
        assert result.exit_code in (0, 2), (
            f"{where}: exit {result.exit_code}\n{result.output}\n{result.exception!r}"
        )
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"{where}: {result.exception!r}"
        )
        assert "Traceback" not in result.output, where
        outcomes[result.exit_code] += 1
    assert sum(outcomes.values()) >= min(5000, MUTATIONS)
    assert outcomes[2] >= 0.6 * MUTATIONS, outcomes  # most mutations break the file, and are reported
