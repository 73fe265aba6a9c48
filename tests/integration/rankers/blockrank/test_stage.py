"""LM rerankers in `ragbench run`: BlockRank and the full-attention baseline on Ray actors, with
per-query latency and token counts in the stored run's metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli_runner import ragbench

pytest.importorskip("torch")

from ragbench.jobs.config import load_pipeline
from ragbench.jobs.pipeline import run_pipeline
from ragbench.store import service
from ragbench.store.db import make_engine, session_factory, upgrade

TOPICS = {"10": "parallel languages", "19": "parallel algorithms", "25": "distributed computing performance"}

CONFIG = """name: {name}
benchmark: cacm
corpus: {data}/cacm.jsonl
topics: {topics}
qrels: {data}/qrels.cacm.txt
measures: [nDCG@10, AP]
depth: 20
retrievers:
  - type: bm25
    index: {index}
reranker:
  type: {reranker}
  candidates: 6
  chunk: 24
  batch_size: 2
ray: {ray}
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rerank")
    (path / "topics.tsv").write_text("".join(f"{q}\t{t}\n" for q, t in TOPICS.items()))
    return path


def write(workdir: Path, cacm_data: Path, name: str, reranker: str, ray: str) -> Path:
    path = workdir / f"{name}.yaml"
    path.write_text(
        CONFIG.format(
            name=name, data=cacm_data, topics=workdir / "topics.tsv", index=workdir / "bm25",
            reranker=reranker, ray=ray,
        )
    )  # fmt: skip
    return path


def test_blockrank_on_ray_stores_per_query_stats(workdir: Path, cacm_data: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ragbench.db'}"
    upgrade(url)
    path = write(
        workdir, cacm_data, "blockrank", "blockrank", "{enabled: true, parallelism: 2, batch_size: 2}"
    )
    done = ragbench("run", path, env={"RAGBENCH_DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    assert "rerank blockrank: 3 queries, per query" in done.stderr
    # the same config in this process ranks the same: the run files are the same bytes
    local = run_pipeline(load_pipeline(path), use_ray=False, store=False)
    assert (workdir / "runs" / "blockrank.run").read_bytes() == local.run_bytes
    for query in TOPICS:
        head = local.ranking[query][:6]
        assert sum(score for _, score in head) == pytest.approx(1.0, abs=1e-5)  # attention shares
    stats = local.stage_stats["rerank blockrank"]
    assert set(stats) == set(TOPICS)
    assert all(row["documents"] == 6 and row["prompt_tokens"] > 6 * 24 for row in stats.values())
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            stored = service.get_run(s, 1).system.metadata_["stages"]["rerank blockrank"]
    finally:
        engine.dispose()
    assert set(stored["per_query"]) == set(TOPICS)
    assert stored["summary"]["queries"] == 3
    assert stored["summary"]["prompt_tokens_total"] == sum(row["prompt_tokens"] for row in stats.values())
    assert all(row["seconds"] > 0 for row in stored["per_query"].values())


def test_full_attention_baseline_reranks_the_same_candidates(workdir: Path, cacm_data: Path) -> None:
    block = run_pipeline(load_pipeline(write(workdir, cacm_data, "b", "blockrank", "false")), store=False)
    full = run_pipeline(load_pipeline(write(workdir, cacm_data, "f", "full-attention", "false")), store=False)
    for query in TOPICS:
        assert sorted(d for d, _ in block.ranking[query][:6]) == sorted(d for d, _ in full.ranking[query][:6])
        assert [d for d, _ in block.ranking[query][6:]] == [d for d, _ in full.ranking[query][6:]]
    assert block.ranking != full.ranking  # different attention, different order somewhere
    assert "full-attention" in full.run_bytes.split(b"# ir_metadata.end")[0].decode()


def test_bad_reranker_options_name_the_line(workdir: Path, cacm_data: Path) -> None:
    path = write(workdir, cacm_data, "bad", "blockrank", "false")
    path.write_text(path.read_text().replace("  chunk: 24\n", "  chunk: 24\n  layer: 40\n  route: fast\n"))
    done = ragbench("run", path, "--no-store")
    assert done.returncode == 2
    assert "retrieve bm25" not in done.stderr  # checked before any stage runs
    assert "bad.yaml:11: reranker.route: 'fast': use one of linear, reference" in done.stderr
    path.write_text(path.read_text().replace("  route: fast\n", ""))
    done = ragbench("run", path, "--no-store")
    assert done.returncode == 2
    assert (
        "bad.yaml:11: reranker.layer: layer 40 is outside 0..29" in done.stderr
        and "Traceback" not in done.stderr
    )
    path.write_text(path.read_text().replace("  layer: 40\n", "  signal: 3\n"))
    done = ragbench("run", path, "--no-store")
    assert done.returncode == 2 and "retrieve bm25" not in done.stderr
    assert "bad.yaml:11: reranker.signal: use 1 or 2" in done.stderr


def test_a_broken_checkpoint_manifest_is_named(workdir: Path, cacm_data: Path, tmp_path: Path) -> None:
    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    (checkpoint / "ragbench-manifest.json").write_text('{"reranker": ')
    path = write(workdir, cacm_data, "broken", "blockrank", "false")
    path.write_text(path.read_text().replace("  chunk: 24\n", f"  chunk: 24\n  model: {checkpoint}\n"))
    done = ragbench("run", path, "--no-store")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{checkpoint / 'ragbench-manifest.json'}: not a ragbench checkpoint manifest" in done.stderr


def test_llm_rewriter_on_ray_second_run_makes_no_lm_calls(workdir: Path, cacm_data: Path) -> None:
    path = workdir / "rewrite.yaml"
    head = CONFIG.partition("reranker:")[0]  # retrieval only, with an LLM rewriter in front
    path.write_text(
        head.format(name="rewrite", data=cacm_data, topics=workdir / "topics.tsv", index=workdir / "bm25")
        + f"rewriter: {{type: llm, cache: {workdir / 'rewrites.sqlite'}}}\nray: {{parallelism: 2, batch_size: 2}}\n"
    )  # fmt: skip
    first = run_pipeline(load_pipeline(path), use_ray=True, store=False)
    second = run_pipeline(load_pipeline(path), use_ray=True, store=False)
    calls = [first.stage_stats["rewrite llm"], second.stage_stats["rewrite llm"]]
    assert set(calls[0]) == set(calls[1]) == set(TOPICS)
    assert sum(row["lm_calls"] for row in calls[0].values()) == 3
    assert sum(row["lm_calls"] for row in calls[1].values()) == 0
    assert all(row["cache_hit"] == 1 for row in calls[1].values())
    assert second.run_bytes == first.run_bytes
