"""``ragbench train blockrank`` as a user runs it, on CACM with the packaged SmolLM2 (CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli_runner import ragbench

pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def cacm_index(cacm_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from indexers.bm25 import build_bm25_index

    index = tmp_path_factory.mktemp("bm25") / "cacm"
    build_bm25_index(cacm_data / "cacm.jsonl", index)
    return index


def _lm_or_skip() -> None:
    from rankers.lm import resolve_lm

    try:
        resolve_lm(None)
    except Exception as exc:
        pytest.skip(f"the default LM is not available: {exc}")


def test_synthetic_training_end_to_end(cacm_data: Path, cacm_index: Path, tmp_path: Path) -> None:
    _lm_or_skip()
    out = tmp_path / "ckpt"
    corpus = cacm_data / "cacm.jsonl"
    done = ragbench(
        "train", "blockrank", "--corpus", corpus, "--index", cacm_index, "--synthetic", "4",
        "--steps", "2", "--candidates", "6", "--chunk", "32", "--out", out, "--device", "cpu",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "step 2/2" in done.stderr
    manifest = json.loads((out / "ragbench-manifest.json").read_text())
    assert manifest["reranker"] == {"layer": 18, "chunk": 32, "ids": "docid", "signal": 2, "offset": None}
    training = manifest["training"]
    assert (training["source"], training["steps"], training["candidates"], training["device"]) == (
        "synthetic",
        2,
        6,
        "cpu",
    )
    assert len(training["losses"]) == 2 and all(len(pair) == 2 for pair in training["losses"])
    counts = training["synthetic"]
    assert counts["sampled"] == 4 and counts["generated"] == 4 and counts["round_trip_k"] == 6
    assert counts["kept"] == training["lists"] >= 1
    assert counts["kept"] + counts["round_trip_dropped"] + counts["empty"] + counts["no_hits"] == 4
    assert (out / "config.json").is_file() and (out / "tokenizer.json").is_file()

    # The generated queries are cached beside the checkpoint: a rerun writes none.
    cached = [json.loads(line) for line in (out / "synthetic-queries.jsonl").read_text().splitlines()]
    assert len(cached) == 4 and all(row["query"] == row["query"].strip() for row in cached)
    from indexers.bm25 import BM25Retriever
    from rankers.blockrank.lists import synthetic_lists
    from rankers.lm import load_lm

    documents = {json.loads(line)["id"]: json.loads(line)["contents"] for line in corpus.open()}
    lists, stats = synthetic_lists(
        documents, cacm_index, load_lm(device="cpu"), 4, 6, 0, out_dir=out,
        retriever=BM25Retriever(str(cacm_index)),
    )  # fmt: skip
    assert (stats.generated, stats.cached, stats.kept) == (0, 4, counts["kept"])
    assert {item.query for item in lists} <= {row["query"] for row in cached}
    for item in lists:
        source = item.query_id.removeprefix("synthetic:")
        assert item.positives == {source} and len(item.candidates) == 6
        assert source in {d for d, _ in item.candidates}


def test_training_from_qrels(cacm_data: Path, cacm_index: Path, tmp_path: Path) -> None:
    _lm_or_skip()
    # two topics only, to keep the test short
    topics = tmp_path / "topics.tsv"
    topics.write_text("1\ttime sharing system for IBM computers\n10\tparallel languages and algorithms\n")
    out = tmp_path / "ckpt"
    done = ragbench(
        "train", "blockrank", "--corpus", cacm_data / "cacm.jsonl", "--index", cacm_index,
        "--topics", topics, "--qrels", cacm_data / "qrels.cacm.txt", "--epochs", "1", "--batch-size", "2",
        "--micro-batch", "2", "--candidates", "4", "--chunk", "16", "--layer", "10", "--out", out,
        "--device", "cpu",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "ragbench-manifest.json").read_text())
    assert manifest["reranker"]["layer"] == 10
    assert manifest["training"]["source"] == "qrels"
    assert manifest["training"]["lists"] == 2 and manifest["training"]["steps"] == 1
    assert not (out / "synthetic-queries.jsonl").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--synthetic", "4", "--qrels", "{qrels}", "--topics", "{topics}"], "exactly one"),
        ([], "exactly one"),
        (["--qrels", "{qrels}"], "--qrels needs --topics"),
        (["--synthetic", "0"], "--synthetic 0"),
        (["--synthetic", "4", "--tau", "0"], "--tau"),
        (["--synthetic", "4", "--lr", "-1"], "--lr"),
        (["--synthetic", "4", "--steps", "0"], "--steps"),
        (["--synthetic", "4", "--steps", "2", "--epochs", "1"], "not both"),
        (["--synthetic", "4", "--candidates", "1"], "--candidates"),
        (["--synthetic", "4", "--ids", "nope"], "--ids"),
        (["--synthetic", "4", "--corpus", "{missing}"], "no such corpus"),
        (["--synthetic", "4", "--index", "{missing}"], "no such index"),
        (["--topics", "{missing}", "--qrels", "{qrels}"], "no such topics"),
    ],
)
def test_bad_input_exits_2_with_one_message(
    cacm_data: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    index = tmp_path / "index"
    index.mkdir()
    names = {
        "qrels": str(cacm_data / "qrels.cacm.txt"),
        "topics": str(cacm_data / "topics.cacm.txt"),
        "missing": str(tmp_path / "missing"),
    }
    base = ["--corpus", str(cacm_data / "cacm.jsonl"), "--index", str(index), "--out", str(tmp_path / "o")]
    done = ragbench("train", "blockrank", *base, *(a.format(**names) for a in args))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert message in done.stderr
    assert not (tmp_path / "o").exists()


def test_a_non_integer_option_exits_2(tmp_path: Path) -> None:
    done = ragbench("train", "blockrank", "--corpus", "c", "--index", "i", "--out", "o", "--steps", "two")
    assert done.returncode == 2 and "Traceback" not in done.stderr
