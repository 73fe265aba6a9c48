"""register_benchmark: the same files again change nothing; other files are a conflict that says
what differs; a corpus path is stored normalised and shown by its file name only."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ragbench.errors import ConflictError
from ragbench.store import service
from ragbench.store.models import Benchmark, QrelsVersion, User

TOPICS = "".join(f"<top>\n<num> Number: {q}\n<title> topic {q}\n</top>\n" for q in (301, 302, 303))
QRELS = "301 0 d1 1\n301 0 d2 0\n302 0 d3 2\n303 0 d4 1\n"


def register(run_in: Callable[..., object], admin: User, **changes: object) -> tuple[Benchmark, bool]:
    kwargs: dict[str, object] = {
        "topics_text": TOPICS,
        "qrels_text": QRELS,
        "corpus_ref": "data/../data/c.trec",
    }
    kwargs.update(changes)
    return run_in(service.register_benchmark, admin, "coll", **kwargs)  # type: ignore[return-value]


def test_same_files_are_a_no_op(run_in: Callable[..., object], users: dict[str, User], factory) -> None:
    benchmark, created = register(run_in, users["root"])
    assert created
    assert benchmark.corpus_ref == os.path.join(os.getcwd(), "data", "c.trec")  # absolute, no ".."
    assert service.public_ref(benchmark.corpus_ref) == "c.trec"
    # The same judgments written otherwise (order, spacing, a comment) and the same topics are the same files.
    reordered = "# same\n303 0 d4 1\n302  0 d3 2\n301 0 d2 0\n301 0 d1 1\n"
    again, created = register(run_in, users["root"], qrels_text=reordered)
    assert (created, again.id) == (False, benchmark.id)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Benchmark)) == 1
        assert s.scalar(select(func.count()).select_from(QrelsVersion)) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"topics_text": TOPICS + "<top>\n<num> Number: 304\n<title> new\n</top>\n"},
            "topics differ: 1 topic(s) only in the new file ('304')",
        ),
        (
            {"topics_text": TOPICS.replace("topic 302", "other words")},
            "topics differ: 1 with other text ('302')",
        ),
        (
            {"qrels_text": QRELS.replace("302 0 d3 2", "302 0 d3 1")},
            "qrels differ from version 1: 1 judgment(s) regraded (e.g. topic '302', document 'd3')",
        ),
        (
            {"qrels_text": QRELS + "303 0 d9 0\n"},
            "qrels differ from version 1: 1 judgment(s) only in the new file (e.g. topic '303', document 'd9')",
        ),
        ({"measures": ["AP"]}, "measures differ: stored nDCG@10, AP, P@10, R@1000, RR, Bpref"),
        ({"hidden": True}, "visibility differs: stored public"),
    ],
)
def test_other_files_are_a_conflict_saying_what_differs(
    run_in: Callable[..., object], users: dict[str, User], changes: dict[str, object], message: str
) -> None:
    register(run_in, users["root"])
    with pytest.raises(ConflictError) as caught:
        register(run_in, users["root"], **changes)
    assert str(caught.value).startswith("benchmark 'coll' exists with other files: ")
    assert message in str(caught.value)


def test_many_differences_are_named_up_to_five(run_in: Callable[..., object], users: dict[str, User]) -> None:
    register(run_in, users["root"])
    more = TOPICS + "".join(f"<top>\n<num> Number: {q}\n<title> t\n</top>\n" for q in range(400, 407))
    with pytest.raises(ConflictError, match=r"7 topic\(s\) only in the new file \('400', '401', '402', '403', "
                       r"'404' and 2 more\)"):  # fmt: skip
        register(run_in, users["root"], topics_text=more)


def test_a_corpus_reference_that_is_no_path_is_kept(tmp_path: Path) -> None:
    assert service.normalize_ref("msmarco-passage/dev") == "msmarco-passage/dev"  # an ir_datasets id
    assert service.normalize_ref("https://example.org/c.jsonl") == "https://example.org/c.jsonl"
    assert service.public_ref("https://example.org/c.jsonl") == "https://example.org/c.jsonl"
    assert service.normalize_ref(str(tmp_path / "a" / ".." / "c.jsonl")) == str(tmp_path / "c.jsonl")
    assert service.public_ref("C:\\Users\\me\\c.jsonl") == "c.jsonl"
