"""BlockRank training on the real packaged SmolLM2-135M (CPU): the loss terms against independent
computations, the auxiliary loss falling on a fixed batch, the checkpoint read back by the
reranker stage; and the training lists (BM25 replaced by a fixed ranking)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rankers.blockrank.layout import block_mask, flat_batch  # noqa: E402
from rankers.blockrank.lists import TrainingList, clean_query, lists_from_qrels  # noqa: E402
from rankers.blockrank.prompt import PromptBuilder  # noqa: E402
from rankers.blockrank.scoring import score_reference  # noqa: E402
from rankers.blockrank.train import (  # noqa: E402
    MANIFEST,
    TrainConfig,
    blockrank_loss,
    encode_lists,
    lr_factor,
    save_checkpoint,
    train,
)

LAYER = 18
DOCS = {
    "d1": "Time-sharing systems let many users share one computer through terminals at the same time.",
    "d2": "A compiler translates a program in a high-level language into machine code for a computer.",
    "d3": "Sorting algorithms such as quicksort and merge sort order a list of records by their keys.",
    "d4": "Paging and virtual memory let an operating system run programs larger than main memory.",
    "d5": "Parsing context-free grammars with LR tables is how compilers read their source programs.",
    "d6": "Numerical methods approximate the roots of polynomial equations by iteration.",
    "d7": "Hash tables store records so that a lookup by key takes constant expected time.",
}
LISTS = [
    TrainingList(
        "time sharing operating systems", [(d, DOCS[d]) for d in ("d3", "d1", "d6", "d4")], {"d1", "d4"}
    ),
    TrainingList("how compilers parse programs", [(d, DOCS[d]) for d in ("d5", "d7", "d2", "d6")], {"d5"}),
]


def _load() -> Any:
    from rankers.lm import load_lm

    try:
        return load_lm(device="cpu")
    except Exception as exc:  # the packaged model is an optional install
        pytest.skip(f"the default LM cannot be loaded here: {exc}")


@pytest.fixture(scope="module")
def lm() -> Any:
    """A model the tests in this module do not train (training tests load their own)."""
    return _load()


def _prompts(lm: Any, chunk: int = 32) -> tuple[list[Any], list[set[str]]]:
    encoded = encode_lists(PromptBuilder(lm.tokenizer, chunk=chunk), LISTS)
    return [p for p, _ in encoded], [pos for _, pos in encoded]


def test_aux_loss_is_infonce_over_the_reference_scores(lm: Any) -> None:
    prompts, positives = _prompts(lm)
    tau = 0.05
    with torch.no_grad():
        _, _, aux = blockrank_loss(lm.model, prompts, LAYER, 0.1, tau, positives=positives, pad_id=0)
    scores = score_reference(lm.model, prompts, LAYER)
    by_hand = []
    for prompt, pos, row in zip(prompts, positives, scores, strict=True):
        weights = [math.exp(s / tau) for s in row]
        top = sum(w for doc, w in zip(prompt.doc_ids, weights, strict=True) if doc in pos)
        by_hand.append(-math.log(top / sum(weights)))
    assert float(aux) == pytest.approx(sum(by_hand) / len(by_hand), abs=1e-5)


def test_ntp_covers_only_the_answer_tokens_and_equals_the_models_own_loss(lm: Any) -> None:
    prompts, positives = _prompts(lm)
    batch = flat_batch(prompts, positions="block")
    counts = (batch.labels != -100).sum(dim=1).tolist()
    assert counts == [len(p.answer) for p in prompts]
    answer = lm.tokenizer.decode(prompts[0].answer)
    assert answer.startswith("d1, d4]")  # positives in list order, then "]" and EOS
    with torch.no_grad():
        loss, ntp, aux = blockrank_loss(lm.model, prompts, LAYER, 0.1, 0.05, positives=positives)
        reference = lm.model(
            input_ids=batch.input_ids,
            attention_mask=block_mask(batch),
            position_ids=batch.position_ids,
            labels=batch.labels,
        ).loss
    assert float(ntp) == pytest.approx(float(reference), abs=1e-5)
    assert float(loss) == pytest.approx(float(ntp) + 0.1 * float(aux), abs=1e-6)
    assert math.isfinite(float(ntp)) and float(aux) > 0


def test_aux_loss_falls_on_a_fixed_batch() -> None:
    lm = _load()
    prompts, positives = _prompts(lm)
    with torch.no_grad():
        _, ntp_before, aux_before = blockrank_loss(lm.model, prompts, LAYER, positives=positives)
    config = TrainConfig(layer=LAYER, lr=1e-4, steps=5, batch_size=2, micro_batch=2, warmup=0, chunk=32)
    result = train(lm, LISTS, config)
    assert len(result.losses) == 5 and all(math.isfinite(n) and math.isfinite(a) for n, a in result.losses)
    with torch.no_grad():
        _, ntp_after, aux_after = blockrank_loss(lm.model, prompts, LAYER, positives=positives)
    assert float(aux_after) < 0.8 * float(aux_before), (float(aux_before), float(aux_after))
    assert math.isfinite(float(ntp_after)) and float(ntp_after) < float(ntp_before)


def test_checkpoint_loads_as_the_blockrank_reranker_with_its_layer(tmp_path: Path) -> None:
    from ragbench.jobs import registry
    from ragbench.jobs.config import StageSpec

    lm = _load()
    config = TrainConfig(layer=12, lr=1e-5, steps=1, batch_size=1, chunk=32, ids="slot", seed=3)
    result = train(lm, LISTS[:1], config)
    out = save_checkpoint(lm, tmp_path / "ckpt", config, result, source="qrels", n_lists=1, candidates=4)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["format"] == 1
    assert manifest["base_model"] == lm.name and manifest["base_fingerprint"] == lm.fingerprint
    assert manifest["reranker"] == {"layer": 12, "chunk": 32, "ids": "slot", "signal": 2, "offset": None}
    training = manifest["training"]
    for key in ("lambda", "tau", "lr", "steps", "batch_size", "candidates", "source", "lists", "seed",
                "losses", "seconds", "device"):  # fmt: skip
        assert key in training, key
    assert training["steps"] == 1 and len(training["losses"]) == 1 and training["source"] == "qrels"
    assert "created" in manifest

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": d, "contents": t}) + "\n" for d, t in DOCS.items()))
    spec = StageSpec("reranker", "blockrank", "br", {"model": str(out), "candidates": 4}, str(corpus),
                     str(tmp_path), "test.yaml:1: reranker")  # fmt: skip
    reranker = registry.build(spec)  # through the entry point, as a pipeline builds it
    assert reranker.layer == 12 and reranker.builder.chunk == 32 and reranker.builder.ids == "slot"
    assert reranker.lm.fingerprint.startswith("dir:")
    ranking = {"q": [(d, 1.0 - i / 10) for i, d in enumerate(("d3", "d1", "d6", "d4"))]}
    ranked = reranker.rerank({"q": "time sharing operating systems"}, ranking, 4)["q"]
    assert sorted(d for d, _ in ranked) == ["d1", "d3", "d4", "d6"]
    # the saved weights are the trained ones
    trained = dict(lm.model.named_parameters())["model.layers.0.self_attn.q_proj.weight"]
    loaded = dict(reranker.lm.model.named_parameters())["model.layers.0.self_attn.q_proj.weight"]
    assert torch.equal(trained.detach().cpu(), loaded.detach().cpu())


def test_lr_schedule_warms_up_then_decays() -> None:
    factors = [lr_factor(s, 10, 2) for s in range(10)]
    assert factors[:3] == [0.5, 1.0, 1.0]
    assert all(a >= b for a, b in itertools.pairwise(factors[1:])) and factors[-1] < 0.05


class FixedBM25:
    """A stand-in for BM25Retriever: the same ranking for every query."""

    def __init__(self, order: list[str]) -> None:
        self.order = order
        self.asked: dict[str, str] = {}

    def search(self, queries: dict[str, str], k: int) -> dict[str, list[tuple[str, float]]]:
        self.asked.update(queries)
        return {q: [(d, 10.0 - i) for i, d in enumerate(self.order[:k])] for q in queries}


def test_lists_from_qrels_take_positives_and_unjudged_hard_negatives() -> None:
    topics = {"1": "time sharing", "2": "compilers", "3": "nothing relevant"}
    qrels = {"1": {"d1": 1, "d4": 2, "d3": 0}, "2": {"d5": 1, "d9": 1}, "3": {"d2": 0}}
    bm25 = FixedBM25(["d1", "d3", "d2", "d4", "d6", "d7", "d5"])
    lists = lists_from_qrels(
        topics, qrels, "unused", DOCS, candidates=4, seed=1, max_positives=2, retriever=bm25
    )
    assert [item.query_id for item in lists] == ["1", "2"]  # topic 3 has no positive
    first, second = lists
    assert first.positives == {"d1", "d4"} and len(first.candidates) == 4
    # hard negatives: BM25's order without the relevant documents (d3 is judged non-relevant: allowed)
    assert {d for d, _ in first.candidates} == {"d1", "d4", "d3", "d2"}
    assert second.positives == {"d5"}  # d9 is not in the corpus
    assert {d for d, _ in second.candidates} == {"d5", "d1", "d3", "d2"}
    assert all(text == DOCS[d] for item in lists for d, text in item.candidates)
    again = lists_from_qrels(
        topics, qrels, "unused", DOCS, candidates=4, seed=1, max_positives=2, retriever=bm25
    )
    assert [i.candidates for i in again] == [i.candidates for i in lists]  # seeded shuffle
    other = lists_from_qrels(
        topics, qrels, "unused", DOCS, candidates=4, seed=2, max_positives=2, retriever=bm25
    )
    assert {tuple(d for d, _ in i.candidates) for i in other} != {
        tuple(d for d, _ in i.candidates) for i in lists
    }


def test_lists_from_qrels_cap_positives_to_keep_negatives() -> None:
    qrels = {"1": {d: 1 for d in DOCS}}
    lists = lists_from_qrels(
        {"1": "q"}, qrels, "-", DOCS, candidates=6, seed=0, retriever=FixedBM25(list(DOCS))
    )
    assert len(lists[0].positives) == 2  # a third of 6
    assert lists[0].positive_ids() == [d for d, _ in lists[0].candidates if d in lists[0].positives]


@pytest.mark.parametrize(
    ("reply", "query"),
    [
        ('"time sharing systems"\nThis query finds...', "time sharing systems"),
        ("Search query: paging in virtual memory", "paging in virtual memory"),
        ("\n\nQuery: 'LR parsing tables'", "LR parsing tables"),
        ("1. hash table lookup", "hash table lookup"),
        ("The document is:\n\nAND/OR graphs and grammars", "AND/OR graphs and grammars"),
        ("Document: Dynamic storage allocation", "Dynamic storage allocation"),
        ("274 5 274 274 5 274\n", ""),
        ("  ", ""),
    ],
)
def test_clean_query(reply: str, query: str) -> None:
    assert clean_query(reply) == query


def test_cached_replies_are_cleaned_again_on_read(tmp_path: Path) -> None:
    from rankers.blockrank.lists import _read_cache

    cache = tmp_path / "synthetic-queries.jsonl"
    rows = [
        {"key": "k", "doc_id": "d1", "query": "The document is:", "raw": "The document is:\nhash tables"},
        {"key": "k", "doc_id": "d2", "query": "kept as written"},  # no raw reply: taken as it is
        {"key": "other", "doc_id": "d3", "query": "another model's", "raw": "another model's"},
    ]
    cache.write_text("".join(json.dumps(row) + "\n" for row in rows) + '{"key": "k", "doc_')
    assert _read_cache(cache, "k") == {"d1": "hash tables", "d2": "kept as written"}
