"""RAG answer files: every malformed fixture is a file:line error; the three layouts read; warnings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.paths import FIXTURES

from ragbench.errors import FormatError
from ragbench.formats import detect_kind, validate
from ragbench.formats.rag import check_rag, count_words, read_rag, split_sentences, write_trec_rag

BAD = FIXTURES / "bad_rag"
TOPICS = {"1": "time sharing", "2": "compilers"}
CASES = [row.split("\t") for row in (BAD / "EXPECTED.tsv").read_text(encoding="utf-8").splitlines() if row]


def test_at_least_25_malformed_files_each_listed_once() -> None:
    assert len(CASES) >= 25
    assert {c[0] for c in CASES} == {p.name for p in BAD.glob("*.jsonl")}


@pytest.mark.parametrize(("name", "line", "message"), CASES, ids=[c[0] for c in CASES])
def test_each_malformed_file_is_an_error_at_its_line(name: str, line: str, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        read_rag(BAD / name, topics=TOPICS)
    first = caught.value.problems[0]
    assert first.line == int(line) and message in first.message, first.render()
    assert first.file.endswith(name) and first.severity == "error"
    assert detect_kind((BAD / name).read_bytes()[:4096], name) in ("rag", "qa")
    if name not in ("rag_unknown_topic.jsonl", "rag_changed_topic_text.jsonl"):  # need the topics
        assert any(p.line == int(line) for p in validate(BAD / name).errors)


def answer(topic: str, text: str, cites: list[int], refs: list[str], **extra: object) -> str:
    return json.dumps({"run_id": "r", "topic_id": topic, "topic": TOPICS[topic], "references": refs,
                       "answer": [{"text": text, "citations": cites}], **extra})  # fmt: skip


def test_2024_form_reads_with_warnings_for_length_missing_topics_and_declared_length() -> None:
    long = " ".join(["word"] * 401) + "."
    data = (answer("1", long, [0, 1], ["a", "b"], response_length=3) + "\n").encode()
    run = read_rag(data, name="r.jsonl", topics=TOPICS)
    a = run.answers["1"]
    assert (run.run_id, run.format, a.references, a.sentences[0].citations) == (
        "r",
        "trec-rag-2024",
        ("a", "b"),
        (0, 1),
    )
    assert a.words == 401 and a.citation_count == 2
    messages = [p.message for p in run.warnings]
    assert any("401 words, over the limit of 400" in m for m in messages)
    assert any("response_length says 3" in m for m in messages)
    assert any("1 topic(s) of the benchmark have no answer: '2'; they score 0" in m for m in messages)
    assert all(p.severity == "warning" for p in run.warnings)


def test_2025_form_takes_citations_as_indexes_or_segment_ids() -> None:
    line = {"metadata": {"team_id": "t", "run_id": "x", "narrative_id": "2", "type": "automatic"},
            "references": ["s1", "s2"], "answer": [{"text": "A b.", "citations": ["s2", 0]}]}  # fmt: skip
    run = read_rag(json.dumps(line).encode(), topics=TOPICS)
    assert run.format == "trec-rag-2025" and run.team_id == "t"
    assert run.answers["2"].sentences[0].citations == (1, 0)


def test_qa_form_splits_sentences_and_keeps_reference_and_contexts() -> None:
    line = {"query_id": "q1", "query": "why", "response": "First one. Second one! Third?", "gt_answer": "Ref.",
            "contexts": ["c1", {"doc_id": "d", "text": "c2"}]}  # fmt: skip
    a = read_rag(json.dumps(line).encode()).answers["q1"]
    assert [s.text for s in a.sentences] == ["First one.", "Second one!", "Third?"]
    assert a.gt_answer == "Ref." and a.contexts == ("c1", "c2") and a.references == ()


def test_words_are_counted_as_whitespace_tokens_and_the_writer_round_trips() -> None:
    assert count_words(["a  b\tc", "d-e f."]) == 5
    assert split_sentences("Dr. No. Yes") == ["Dr.", "No.", "Yes"]
    run = read_rag((answer("1", "One two.", [0], ["a"]) + "\n" + answer("2", "Three.", [], ["b"])).encode())
    again = read_rag(write_trec_rag("r", list(run.answers.values())))
    assert again.answers == run.answers or [a.sentences for a in again.answers.values()] == [
        a.sentences for a in run.answers.values()
    ]


def test_the_reference_cap_is_configurable(tmp_path: Path) -> None:
    data = answer("1", "A.", [0], [f"d{i}" for i in range(3)]).encode()
    assert check_rag(data, max_references=3) == []
    assert "3 references; at most 2" in check_rag(data, max_references=2)[0].message
    with pytest.raises(FormatError, match="no answers"):
        read_rag(b"\n\n")
