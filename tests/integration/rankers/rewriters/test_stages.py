"""Query rewriter stages on CACM in real pipelines: real Lucene, the real SmolLM2, a real SQLite cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rankers.lm.loading
from indexers.bm25 import build_bm25_index, parse_weighted
from ragbench.errors import InputError
from ragbench.formats.topics import read_topics
from ragbench.jobs.config import load_pipeline
from ragbench.jobs.pipeline import run_pipeline
from rankers.rewriters.cache import cache_key
from rankers.rewriters.context import ContextRewriter
from rankers.rewriters.llm import LLMRewriter, lm_fingerprint
from rankers.rewriters.rm3 import RM3Rewriter

PIPELINE = """name: {name}
corpus: {data}/cacm.jsonl
topics: {topics}
qrels: {data}/qrels.cacm.txt
measures: [AP, nDCG@10]
retrievers:
  - type: bm25
    index: {index}
{retriever_extra}rewriter:
  type: {rewriter}
{rewriter_options}"""


@pytest.fixture(scope="module")
def cacm_index(cacm_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("rewriters") / "cacm-bm25"
    build_bm25_index(cacm_data / "cacm.jsonl", index)
    return index


@pytest.fixture(scope="module")
def few_topics(cacm_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two CACM topics (TSV), to keep the LM tests short on two CPU cores."""
    topics = {t.query_id: t.title for t in read_topics(cacm_data / "topics.cacm.txt")}
    path = tmp_path_factory.mktemp("topics") / "topics.tsv"
    path.write_text("".join(f"{q}\t{' '.join(topics[q].split())}\n" for q in ("3", "8")))
    return path


def write_config(
    tmp_path: Path, cacm_data: Path, index: Path, rewriter: str, options: dict[str, Any], *,
    name: str = "rw", topics: Path | None = None, retriever_extra: str = "",
) -> Path:  # fmt: skip
    if rewriter in ("rm3", "context"):
        options = {"index": str(index), **options}
    lines = "".join(f"  {key}: {value}\n" for key, value in options.items())
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        PIPELINE.format(
            name=name, data=cacm_data, topics=topics or cacm_data / "topics.cacm.txt", index=index,
            retriever_extra=retriever_extra, rewriter=rewriter, rewriter_options=lines,
        )
    )  # fmt: skip
    return path


class Recorder:
    """What the rewriter stages built in this process rewrote, and their per-query stats (kept
    whether or not the pipeline pops the stats itself)."""

    def __init__(self) -> None:
        self.rewrites: dict[str, str] = {}
        self.stats: dict[str, dict[str, float]] = {}
        self.stages: list[Any] = []

    def collect(self) -> dict[str, dict[str, float]]:
        for stage in self.stages:
            stage.pop_stats()
        return self.stats


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    record = Recorder()
    for cls in (RM3Rewriter, LLMRewriter):
        rewrite, pop_stats = cls.rewrite, cls.pop_stats

        def recording_rewrite(self: Any, queries: Any, _rewrite: Any = rewrite) -> dict[str, str]:
            if self not in record.stages:
                record.stages.append(self)
            out = _rewrite(self, queries)
            record.rewrites.update(out)
            return out

        def recording_pop(self: Any, _pop: Any = pop_stats) -> dict[str, dict[str, float]]:
            stats = _pop(self)
            record.stats.update(stats)
            return stats

        monkeypatch.setattr(cls, "rewrite", recording_rewrite)
        monkeypatch.setattr(cls, "pop_stats", recording_pop)
    yield record


def test_rm3_rewrite_then_bm25_ranks_as_bm25_with_rm3(
    tmp_path: Path, cacm_data: Path, cacm_index: Path, recorder: Recorder
) -> None:
    rewritten = run_pipeline(
        load_pipeline(write_config(tmp_path, cacm_data, cacm_index, "rm3", {"fb_terms": 10}, name="rw-rm3")),
        use_ray=False,
        store=False,
    )
    direct = run_pipeline(_bm25_rm3_config(tmp_path, cacm_data, cacm_index), use_ray=False, store=False)
    assert len(rewritten.ranking) == 64
    # the same documents, in the same order, with the same Lucene scores, for every topic
    assert rewritten.ranking == direct.ranking
    assert rewritten.scores["AP"] == direct.scores["AP"]
    assert rewritten.scores["AP"] == pytest.approx(0.3643, abs=0.015)  # Anserini's BM25+RM3 on CACM
    stats = recorder.collect()
    assert set(stats) == set(rewritten.ranking)
    assert all(set(s) == {"seconds", "expansion_terms"} and s["seconds"] > 0 for s in stats.values())
    assert sum(s["expansion_terms"] for s in stats.values()) > 64 * 5  # RM3 adds most of its 10 terms
    for text in recorder.rewrites.values():
        terms = parse_weighted(text)
        assert terms is not None and len(terms) >= 10
    assert "share" in dict(parse_weighted(recorder.rewrites["1"]) or [])


def _bm25_rm3_config(tmp_path: Path, cacm_data: Path, index: Path) -> Any:
    path = tmp_path / "bm25-rm3.yaml"
    path.write_text(
        f"name: bm25-rm3\ncorpus: {cacm_data}/cacm.jsonl\ntopics: {cacm_data}/topics.cacm.txt\n"
        f"qrels: {cacm_data}/qrels.cacm.txt\nmeasures: [AP, nDCG@10]\n"
        f"retrievers:\n  - type: bm25\n    index: {index}\n    rm3: true\n"
    )
    return load_pipeline(path)


def test_weighted_queries_and_retriever_rm3_do_not_mix(
    tmp_path: Path, cacm_data: Path, cacm_index: Path
) -> None:
    path = write_config(tmp_path, cacm_data, cacm_index, "rm3", {}, retriever_extra="    rm3: true\n")
    with pytest.raises(InputError, match="cannot be expanded again"):
        run_pipeline(load_pipeline(path), use_ray=False, store=False)


def test_llm_rewriter_runs_and_a_second_run_makes_no_lm_calls(
    tmp_path: Path,
    cacm_data: Path,
    cacm_index: Path,
    few_topics: Path,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = tmp_path / "cache" / "rewrites.sqlite"
    path = write_config(
        tmp_path, cacm_data, cacm_index, "llm", {"cache": str(cache), "max_new_tokens": 16}, topics=few_topics
    )
    loads: list[Any] = []
    real_load = rankers.lm.loading.load_lm

    def counting_load(*args: Any, **kwargs: Any) -> Any:
        loaded = real_load(*args, **kwargs)
        loads.append(loaded)
        return loaded

    monkeypatch.setattr(rankers.lm.loading, "load_lm", counting_load)
    first = run_pipeline(load_pipeline(path), use_ray=False, store=False)
    stats = recorder.collect()
    assert len(loads) == 1
    assert lm_fingerprint(None) == loads[0].fingerprint  # the cache key's model part, without loading
    assert set(stats) == {"3", "8"}
    assert [s["lm_calls"] for s in stats.values()] == [1, 1]
    assert [s["cache_hit"] for s in stats.values()] == [0, 0]
    assert all(
        s["prompt_tokens"] > 40 and 0 < s["new_tokens"] <= 16 and s["seconds"] > 0 for s in stats.values()
    )
    originals = {q: text for q, text in (line.split("\t") for line in few_topics.read_text().splitlines())}
    for query_id, text in recorder.rewrites.items():  # mode expand: the topic, then the rewrite
        assert text.startswith(originals[query_id])
    assert any(len(text) > len(originals[q]) for q, text in recorder.rewrites.items())
    first_rewrites = dict(recorder.rewrites)

    # Again: every rewrite comes from the cache, and the model is never loaded.
    def no_load(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the LM was loaded on a fully cached run")

    monkeypatch.setattr(rankers.lm.loading, "load_lm", no_load)
    recorder.stats.clear()
    recorder.stages.clear()
    second = run_pipeline(load_pipeline(path), use_ray=False, store=False)
    stats = recorder.collect()
    assert sum(s["lm_calls"] for s in stats.values()) == 0
    assert [s["cache_hit"] for s in stats.values()] == [1, 1]
    assert not any(stage.lm_loaded for stage in recorder.stages)
    assert recorder.rewrites == first_rewrites
    assert second.run_bytes == first.run_bytes

    # replace mode reuses the same cached rewrites (the cache stores the rewrite, not the query)
    recorder.stats.clear()
    replace = write_config(
        tmp_path, cacm_data, cacm_index, "llm", {"cache": str(cache), "max_new_tokens": 16, "mode": "replace"},
        name="rw-replace", topics=few_topics,
    )  # fmt: skip
    run_pipeline(load_pipeline(replace), use_ray=False, store=False)
    assert sum(s["cache_hit"] for s in recorder.collect().values()) == 2
    for query_id, text in recorder.rewrites.items():
        assert not text.startswith(originals[query_id]) or text == originals[query_id]


def test_context_rewriter_uses_the_top_documents_and_caches_by_them(
    tmp_path: Path,
    cacm_data: Path,
    cacm_index: Path,
    few_topics: Path,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = tmp_path / "rewrites.sqlite"
    options = {"k": 2, "doc_tokens": 40, "cache": str(cache), "max_new_tokens": 16}
    path = write_config(tmp_path, cacm_data, cacm_index, "context", options, topics=few_topics)
    prompts: list[str] = []
    render = ContextRewriter.render

    def recording_render(self: Any, query: str, context: str | None) -> str:
        prompts.append(render(self, query, context))
        return prompts[-1]

    monkeypatch.setattr(ContextRewriter, "render", recording_render)
    first = run_pipeline(load_pipeline(path), use_ray=False, store=False)
    stats = recorder.collect()
    assert [s["lm_calls"] for s in stats.values()] == [1, 1]
    assert all(s["prompt_tokens"] > 100 for s in stats.values())  # two documents of 40 words each
    stage = recorder.stages[0]
    topic = dict(line.split("\t") for line in few_topics.read_text().splitlines())["3"]
    context = stage.contexts({"3": topic})["3"]
    top = [doc for doc, _ in stage._bm25().search({"3": topic}, 2)["3"]]
    assert (
        context is not None and context.startswith("[1] ") and "\n\n[2] " in context and "[3]" not in context
    )
    assert [block.split()[1] for block in context.split("\n\n")] == [
        stage._text(stage._bm25()._open(), doc).split()[0] for doc in top
    ]
    assert all(len(block.split()) <= 41 for block in context.split("\n\n"))
    assert len(prompts) == 2 and all(p.count("\n\n[") == 2 and "Query: " in p for p in prompts)

    # fully cached second run: no model
    monkeypatch.setattr(rankers.lm.loading, "load_lm", lambda *a, **k: pytest.fail("the LM was loaded"))
    recorder.stats.clear()
    recorder.stages.clear()
    second = run_pipeline(load_pipeline(path), use_ray=False, store=False)
    assert [s["cache_hit"] for s in recorder.collect().values()] == [1, 1]
    assert second.run_bytes == first.run_bytes

    # the context is part of the key: other documents (k: 1) miss the cache
    fewer = ContextRewriter(
        cache=stage.cache, index_dir=str(cacm_index), k=1, doc_tokens=40, max_new_tokens=16, name="context"
    )
    keys = [
        cache_key(s.model_key, s.prompt, topic, s.contexts({"3": topic})["3"], 16) for s in (stage, fewer)
    ]
    assert stage.cache.get(keys[0]) is not None
    assert keys[1] != keys[0] and stage.cache.get(keys[1]) is None


@pytest.mark.parametrize(
    ("rewriter", "options", "line", "key", "message"),
    [
        ("rm3", {"fb_terms": 0}, 9, "fb_terms", "expected a whole number >= 1"),
        ("rm3", {"original_weight": 1.5}, 9, "original_weight", "outside"),
        ("rm3", {"fb_docs": 10, "depth": 3}, 9, "depth", "unknown option"),
        ("llm", {"mode": "sideways"}, 9, "mode", "use one of expand, replace"),
        ("llm", {"prompt": "'Rewrite this'"}, 9, "prompt", "must contain {query}"),
        ("llm", {"cache": 3}, 9, "cache", "expected a file path or false"),
        ("llm", {"model": "no/such/model"}, 9, "model", "no such model directory"),
        ("llm", {"device": "gpu7"}, 9, "device", "use auto, cpu, cuda"),
        ("llm", {"max_new_tokens": 0}, 9, "max_new_tokens", "expected a whole number >= 1"),
        ("context", {"prompt": "'{query} only'"}, 9, "prompt", "must contain {context}"),
        ("context", {"k": "three"}, 9, "k", "expected a whole number"),
    ],
)
def test_bad_options_name_file_line_and_key(
    tmp_path: Path,
    cacm_data: Path,
    cacm_index: Path,
    rewriter: str,
    options: dict,
    line: int,
    key: str,
    message: str,
) -> None:
    path = write_config(tmp_path, cacm_data, cacm_index, rewriter, options)
    with pytest.raises(InputError) as caught:
        run_pipeline(load_pipeline(path), use_ray=False, store=False)
    assert str(caught.value).startswith(f"{path}:{line}: rewriter.{key}: ")
    assert message in str(caught.value)
