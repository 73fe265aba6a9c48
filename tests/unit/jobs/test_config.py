"""Pipeline configs: what is accepted, and errors that name the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragbench.errors import InputError
from ragbench.jobs.config import load_pipeline


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "topics.tsv").write_text("1\tcomputer science\n2\ttime sharing\n")
    (tmp_path / "qrels.txt").write_text("1 0 d1 1\n")
    (tmp_path / "corpus.jsonl").write_text('{"id": "d1", "contents": "x"}\n')
    return tmp_path


def write(folder: Path, text: str) -> Path:
    path = folder / "pipe.yaml"
    path.write_text(text)
    return path


GOOD = """name: hybrid
benchmark: cacm
corpus: corpus.jsonl
topics: topics.tsv
qrels: qrels.txt
measures: [AP, P@30]
depth: 100
retrievers:
  - type: bm25
    index: idx/bm25
    rm3: true
  - type: dense
    name: minilm
    index: idx/dense
fusion: {method: combsum, normalization: zscore, weights: [1, 0.5]}
ray: {parallelism: 2, batch_size: 8}
"""


def test_a_full_config_resolves_paths_against_its_folder(folder: Path) -> None:
    config = load_pipeline(write(folder, GOOD))
    assert config.name == "hybrid"
    assert config.topics == str(folder / "topics.tsv")
    assert config.output == str(folder / "runs" / "hybrid.run")
    assert [r.name for r in config.retrievers] == ["bm25", "minilm"]
    assert config.retrievers[0].options == {"index": "idx/bm25", "rm3": True}
    assert config.retrievers[1].path("idx/dense") == str(folder / "idx" / "dense")
    assert config.fusion == {"method": "combsum", "k": 60.0, "normalization": "zscore", "weights": (1.0, 0.5)}
    assert (config.ray.parallelism, config.ray.batch_size, config.ray.enabled) == (2, 8, None)
    assert config.measures == ("AP", "P@30")
    assert config.depth == 100


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("depth: 100", "depth: -3"), r"pipe.yaml:7: depth: expected a positive whole number"),
        (lambda t: t.replace("name: hybrid", "name: 'a b'"), r"pipe.yaml:1: name: 'a b'"),
        (lambda t: t.replace("topics: topics.tsv", "topics: nope.tsv"), r"pipe.yaml:4: topics: no such file"),
        (lambda t: t.replace("depth: 100", "depht: 100"), r"pipe.yaml:7: depht: unknown key"),
        (lambda t: t.replace("fusion: {method: combsum, normalization: zscore, weights: [1, 0.5]}", ""),
         r"pipe.yaml:8: retrievers: 2 retrievers need a fusion"),
        (lambda t: t.replace("weights: [1, 0.5]", "weights: [1]"), r"pipe.yaml:15: fusion.weights: expected 2"),
        (lambda t: t.replace("    name: minilm\n", "    name: bm25\n"),
         r"pipe.yaml:13: retrievers\[1\].name: 'bm25' is used twice"),
        (lambda t: t.replace("  - type: dense", "  - kind: dense"), r"pipe.yaml:12: retrievers\[1\]: every retriever"),
        (lambda t: t.replace("measures: [AP, P@30]", "measures: [NotAMeasure@3]"), r"pipe.yaml:6: measures:"),
        (lambda t: t.replace("ray: {parallelism: 2, batch_size: 8}", "ray: {workers: 2}"), r"pipe.yaml:16: ray.workers"),
        (lambda t: t + "retrievers: [\n", r"pipe.yaml:\d+: not valid YAML"),
        (lambda t: "- just\n- a list\n", r"pipe.yaml:1: a pipeline config is a YAML mapping"),
        (lambda t: t.replace("name: hybrid\n", ""), r"pipe.yaml:1: name: is required"),
    ],
)  # fmt: skip
def test_errors_name_file_line_and_key(folder: Path, edit, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_pipeline(write(folder, edit(GOOD)))


def test_missing_config_file(folder: Path) -> None:
    with pytest.raises(InputError, match="no such pipeline config"):
        load_pipeline(folder / "absent.yaml")


def test_non_utf8_config(folder: Path) -> None:
    path = folder / "pipe.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(InputError, match="not UTF-8"):
        load_pipeline(path)
