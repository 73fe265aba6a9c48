"""Pipelines end to end on CACM: real Lucene, real Ray, real databases, the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli_runner import ragbench

from ragbench.errors import InputError
from ragbench.evaluation.engine import evaluate
from ragbench.jobs import registry
from ragbench.jobs.config import load_pipeline
from ragbench.jobs.pipeline import run_pipeline
from ragbench.store import service
from ragbench.store.db import make_engine, session_factory, upgrade

BM25 = """name: {name}
benchmark: cacm
corpus: {data}/cacm.jsonl
topics: {data}/topics.cacm.txt
qrels: {data}/qrels.cacm.txt
measures: [AP, P@30, nDCG@10]
retrievers:
  - type: bm25
    index: {index}
    k1: 0.9
    b: 0.4
{extra}"""


@pytest.fixture(scope="module")
def bm25_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pipeline-index") / "cacm-bm25"  # built by the first pipeline run


def config(tmp_path: Path, cacm_data: Path, index: Path, name: str = "bm25", extra: str = "") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(BM25.format(name=name, data=cacm_data, index=index, extra=extra))
    return path


def test_same_config_twice_writes_the_same_bytes(tmp_path: Path, cacm_data: Path, bm25_index: Path) -> None:
    path = config(tmp_path, cacm_data, bm25_index, "bm25-rm3", "    rm3: true\n")
    first = run_pipeline(load_pipeline(path), use_ray=False, store=False)
    first_bytes = Path(first.run_path).read_bytes()
    second = run_pipeline(load_pipeline(path), use_ray=False, store=False)
    assert Path(second.run_path).read_bytes() == first_bytes == second.run_bytes
    assert first_bytes.startswith(b"# ir_metadata.start\n# tag: bm25-rm3\n")
    assert b"#   - name: bm25\n" in first_bytes or b"# - name: bm25\n" in first_bytes
    assert first.scores["AP"] == pytest.approx(0.3643, abs=0.015)  # Anserini's BM25+RM3 on CACM
    # the reported scores are the run file's scores, computed independently of the pipeline
    again = evaluate(
        cacm_data / "qrels.cacm.txt", Path(first.run_path), ["AP", "P@30", "nDCG@10"], complete=True
    )
    assert first.scores == pytest.approx(again.aggregate, abs=1e-12)
    lines = [line for line in first_bytes.decode().splitlines() if not line.startswith("#")]
    per_query: dict[str, list[int]] = {}
    for line in lines:
        query, _, _, rank, _, _ = line.split()
        per_query.setdefault(query, []).append(int(rank))
    assert len(per_query) == 64
    assert all(ranks == list(range(1, len(ranks) + 1)) and len(ranks) <= 1000 for ranks in per_query.values())


@pytest.fixture(scope="module")
def local_ray():
    import ray

    ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_and_in_process_runs_are_identical(
    tmp_path: Path, cacm_data: Path, bm25_index: Path, local_ray
) -> None:
    path = config(tmp_path, cacm_data, bm25_index, extra="ray: {parallelism: 2, batch_size: 7}\n")
    labels: list[tuple[str, int, int]] = []
    on_ray = run_pipeline(load_pipeline(path), store=False, progress=lambda *a: labels.append(a))
    local = run_pipeline(load_pipeline(path), use_ray=False, store=False)
    assert on_ray.run_bytes == local.run_bytes
    assert on_ray.scores["AP"] == pytest.approx(0.3123, abs=0.01)
    assert on_ray.scores["P@30"] == pytest.approx(0.1942, abs=0.01)
    assert labels[-1] == ("retrieve bm25", 64, 64)
    assert {done for label, done, _ in labels if label == "retrieve bm25"} >= {0, 7, 14, 64}


def test_a_stage_error_on_a_ray_actor_reaches_the_caller(tmp_path: Path, cacm_data: Path, local_ray) -> None:
    (tmp_path / "not-an-index").mkdir()
    (tmp_path / "not-an-index" / "manifest.json").write_text('{"kind": "dense"}')
    path = config(tmp_path, cacm_data, tmp_path / "not-an-index")
    pipeline = load_pipeline(path)
    with pytest.raises(InputError, match="not a BM25 index manifest"):
        run_pipeline(pipeline, store=False)


def test_ragbench_run_stores_and_scores(
    tmp_path: Path, cacm_data: Path, bm25_index: Path, database_url: str
) -> None:
    upgrade(database_url)
    env = {"RAGBENCH_DATABASE_URL": database_url}
    path = config(tmp_path, cacm_data, bm25_index)
    done = ragbench("run", path, "--no-ray", env=env)
    assert done.returncode == 0, done.stderr
    assert "registered benchmark 'cacm' (owner admin, public): 64 topics from topics.cacm.txt" in done.stderr
    assert "stored as run 1 (scored) of system 'bm25' on 'cacm'" in done.stderr
    run_file = tmp_path / "runs" / "bm25.run"
    expected = evaluate(cacm_data / "qrels.cacm.txt", run_file, ["AP", "P@30", "nDCG@10"], complete=True)
    assert f"{expected.aggregate['AP']:.4f}" in done.stdout

    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as s:
            scores = service.run_scores(s, 1, service.local_admin(s))
            benchmark = service.get_benchmark(s, "cacm")
            assert list(benchmark.scored_measures)[:3] == ["AP", "P@30", "nDCG@10"]
            for measure in ("AP", "P@30", "nDCG@10"):
                assert scores[measure]["all"] == pytest.approx(expected.aggregate[measure], abs=1e-12)
            run = service.get_run(s, 1)
            assert run.system.name == "bm25"
    finally:
        engine.dispose()

    again = ragbench("run", path, "--no-ray", env=env)
    assert again.returncode == 0, again.stderr
    assert "not stored again: this run file was already submitted" in again.stderr
    assert run_file.read_bytes() == (tmp_path / "runs" / "bm25.run").read_bytes()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    k1: fast\n", r"bm25\.yaml:8: retrievers\[0\]\.k1: expected a number, got 'fast'"),
        ("    rm3: {fb_terms: 0}\n", r"bm25\.yaml:8: retrievers\[0\]\.rm3: RM3 needs fb_terms >= 1"),
        ("    stemming: porter\n", r"bm25\.yaml:8: retrievers\[0\]\.stemming: unknown option"),
    ],
)
def test_bad_stage_options_name_the_line(
    tmp_path: Path, cacm_data: Path, bm25_index: Path, extra: str, message: str
) -> None:
    pipeline = load_pipeline(config(tmp_path, cacm_data, bm25_index, extra=extra))
    with pytest.raises(InputError, match=message):
        registry.build(pipeline.retrievers[0])


def test_cli_reports_bad_configs_with_status_2(tmp_path: Path, cacm_data: Path) -> None:
    path = config(tmp_path, cacm_data, tmp_path / "idx")
    path.write_text(path.read_text().replace("type: bm25", "type: splade"))
    done = ragbench("run", path, "--no-store", env={})
    assert done.returncode == 2
    assert "bm25.yaml:8: retrievers[0]: unknown retriever type 'splade' (known: bm25, dense)" in done.stderr
    assert "Traceback" not in done.stderr
    missing = ragbench("run", tmp_path / "absent.yaml", env={})
    assert missing.returncode == 2
    assert "absent.yaml: no such pipeline config" in missing.stderr


class KeepOnly:
    """A test reranker: keeps the documents whose id ends in an even digit, order unchanged."""

    def rerank(self, queries: dict, ranking: dict, depth: int) -> dict:
        return {q: [h for h in hits if int(h[0][-1]) % 2 == 0][:depth] for q, hits in ranking.items()}


class FirstWord:
    """A test rewriter: keeps each query's first word."""

    def rewrite(self, queries: dict) -> dict:
        return {q: text.split()[0] for q, text in queries.items()}


def test_rewriter_and_reranker_stages_plug_in(tmp_path: Path, cacm_data: Path, bm25_index: Path) -> None:
    registry.register(registry.StageType("reranker", "keep-even", lambda spec: KeepOnly()))
    registry.register(registry.StageType("rewriter", "first-word", lambda spec: FirstWord()))
    extra = "reranker: {type: keep-even}\nrewriter: {type: first-word}\n"
    piped = run_pipeline(
        load_pipeline(config(tmp_path, cacm_data, bm25_index, "piped", extra)), use_ray=False, store=False
    )
    plain = run_pipeline(load_pipeline(config(tmp_path, cacm_data, bm25_index)), use_ray=False, store=False)
    from indexers.bm25 import BM25Retriever
    from ragbench.formats.topics import read_topics

    first_words = {t.query_id: t.title.split()[0] for t in read_topics(cacm_data / "topics.cacm.txt")}
    expected = BM25Retriever(str(bm25_index)).search(first_words, 1000)
    assert piped.ranking == {q: [h for h in hits if int(h[0][-1]) % 2 == 0] for q, hits in expected.items()}
    assert piped.ranking != plain.ranking
    header = piped.run_bytes.split(b"# ir_metadata.end")[0].decode()
    assert "query rewriting:" in header and "reranking:" in header and "method: keep-even" in header


def test_an_unmigrated_database_fails_before_any_work(tmp_path: Path, cacm_data: Path) -> None:
    path = config(tmp_path, cacm_data, tmp_path / "idx")
    done = ragbench(
        "run", path, "--no-ray", env={"RAGBENCH_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}
    )
    assert done.returncode == 2
    assert "database is not migrated: run `ragbench db upgrade`" in done.stderr
    assert not (tmp_path / "idx").exists()
    assert not (tmp_path / "runs").exists()
