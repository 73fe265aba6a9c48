"""A real two-node Ray cluster (ray.cluster_utils.Cluster): sharded BM25 and dense indexes built
through it, a hybrid pipeline run on it, and the run compared with the single-process path."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragbench.jobs.config import load_pipeline
from ragbench.jobs.pipeline import run_pipeline

HYBRID = """name: hybrid
corpus: {corpus}
topics: {data}/topics.cacm.txt
qrels: {data}/qrels.cacm.txt
depth: 100
retrievers:
  - type: bm25
    index: {root}/bm25
    rm3: true
    build: {{shards: {shards}}}
  - type: dense
    index: {root}/dense
    build: {{index_type: flat, shards: {shards}}}
fusion: {{method: rrf, k: 60}}
ray: {{parallelism: 2, batch_size: 16}}
"""


@pytest.fixture(scope="module")
def small_cacm(cacm_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 600 CACM documents (dense encoding of all 3,204 takes minutes on two cores)."""
    path = tmp_path_factory.mktemp("cacm") / "cacm-600.jsonl"
    lines = (cacm_data / "cacm.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:600]), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def two_node_cluster():
    import ray
    from ray.cluster_utils import Cluster

    ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def write(root: Path, corpus: Path, data: Path, shards: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "hybrid.yaml"
    path.write_text(HYBRID.format(corpus=corpus, data=data, root=root, shards=shards))
    return path


def test_sharded_indexes_and_pipeline_on_two_nodes_match_one_process(
    two_node_cluster, small_cacm: Path, cacm_data: Path, tmp_path: Path
) -> None:
    import ray

    assert len([node for node in ray.nodes() if node["Alive"]]) == 2
    on_cluster = run_pipeline(  # asked for: too small for Ray by default (ray_decision)
        load_pipeline(write(tmp_path / "cluster", small_cacm, cacm_data, 2)), use_ray=True, store=False
    )
    single = run_pipeline(
        load_pipeline(write(tmp_path / "single", small_cacm, cacm_data, 1)), use_ray=False, store=False
    )
    from indexers.bm25 import BM25Manifest
    from indexers.dense import DenseManifest

    assert BM25Manifest.load(tmp_path / "cluster" / "bm25").shards == 2
    assert DenseManifest.load(tmp_path / "cluster" / "dense").shards == 2
    assert list(on_cluster.ranking) == list(single.ranking)
    for query, hits in single.ranking.items():
        got = on_cluster.ranking[query]
        assert [doc for doc, _ in got] == [doc for doc, _ in hits], query
        assert [s for _, s in got] == pytest.approx([s for _, s in hits], abs=1e-9), query
    assert on_cluster.scores == pytest.approx(single.scores, abs=1e-12)
    cluster_nodes = {node["NodeID"] for node in ray.nodes() if node["Alive"]}
    for step in ("retrieve bm25", "retrieve dense"):
        assert on_cluster.nodes[step] == cluster_nodes, step  # its two actors ran on both nodes
    assert single.nodes == {}
