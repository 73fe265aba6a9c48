"""BlockRank (spec ../shared/spec/blockrank.md): mask, positions, readout, and the three routes.

The acceptance checks: the linear-cost (KV cache) scores equal the explicit 4-D-mask scores within
1e-4 on SmolLM2 for 10 documents, and permuting the candidates changes no document's score by more
than 1e-4.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from rankers.blockrank.layout import additive, block_mask, flat_batch  # noqa: E402
from rankers.blockrank.prompt import Prompt, PromptBuilder  # noqa: E402
from rankers.blockrank.readout import base_model  # noqa: E402
from rankers.blockrank.reranker import BlockRankReranker, default_layer  # noqa: E402
from rankers.blockrank.scoring import score_full, score_linear, score_reference  # noqa: E402

LAYER = 18


def toy() -> Prompt:
    # 1 instruction (I1 I2), 3 docs of 2 tokens, query (Q1 Q2): the spec's §2 example
    return Prompt(inst=[1, 2], docs=[[3, 4], [5, 6], [7, 8]], query=[9, 10], doc_ids=["a", "b", "c"])


SPEC_MASK = """
x . . . . . . . . .
x x . . . . . . . .
x x x . . . . . . .
x x x x . . . . . .
x x . . x . . . . .
x x . . x x . . . .
x x . . . . x . . .
x x . . . . x x . .
x x x x x x x x x .
x x x x x x x x x x
"""


def test_block_mask_is_the_spec_table() -> None:
    batch = flat_batch([toy()], offset=8192)
    expected = torch.tensor([[c == "x" for c in line.split()] for line in SPEC_MASK.strip().splitlines()])
    assert torch.equal(block_mask(batch)[0, 0], expected)


def test_positions_restart_for_every_document() -> None:
    batch = flat_batch([toy()], offset=8192)
    assert batch.position_ids[0].tolist() == [0, 1, 2, 3, 2, 3, 2, 3, 8192, 8193]
    assert batch.doc_index[0].tolist() == [-1, -1, 0, 0, 1, 1, 2, 2, -1, -1]
    assert batch.signal_rows[0].tolist() == [8, 9]
    # default offset: right after the longest document (inside a small model's trained range)
    assert flat_batch([toy()]).position_ids[0, -2:].tolist() == [4, 5]
    sequential = flat_batch([toy()], positions="sequential")
    assert sequential.position_ids[0].tolist() == list(range(10))


def test_padded_rows_only_attend_to_themselves() -> None:
    short = Prompt(inst=[1], docs=[[3]], query=[9, 10], doc_ids=["a"])
    batch = flat_batch([toy(), short])
    mask = block_mask(batch)[1, 0]
    assert batch.valid[1].tolist() == [True] * 4 + [False] * 6
    for row in range(4, 10):  # pad rows: self only; real rows never see a pad column
        assert mask[row].nonzero().flatten().tolist() == [row]
    assert not mask[:4, 4:].any()


def cacm_docs(cacm_data: Path, count: int, seed: int = 0) -> list[tuple[str, str]]:
    lines = (cacm_data / "cacm.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in random.Random(seed).sample(lines, count)]
    return [(row["id"], row["contents"]) for row in rows]


@pytest.fixture(scope="module")
def builder(smollm2) -> PromptBuilder:
    return PromptBuilder(smollm2.tokenizer, chunk=48)


def test_linear_route_equals_the_4d_mask(smollm2, builder, cacm_data: Path) -> None:
    docs = cacm_docs(cacm_data, 17)
    prompts = [
        builder.build("parallel sorting algorithms for multiprocessors", docs[:10]),
        builder.build("garbage collection", docs[10:]),  # shorter query, 7 docs: padding everywhere
    ]
    reference = score_reference(smollm2.model, prompts, LAYER)
    linear = score_linear(smollm2.model, prompts, LAYER, doc_tokens_per_batch=200)  # several doc batches
    for ref, lin, prompt in zip(reference, linear, prompts, strict=True):
        assert len(ref) == len(prompt.docs)
        assert max(abs(a - b) for a, b in zip(ref, lin, strict=True)) < 1e-4
        assert sum(ref) == pytest.approx(1.0, abs=1e-5)
        assert len(set(ref)) == len(ref)  # the scores say something: no two equal
    alone = score_linear(smollm2.model, prompts[1:], LAYER)[0]  # batching changes nothing
    assert max(abs(a - b) for a, b in zip(alone, linear[1], strict=True)) < 1e-5


@pytest.mark.parametrize("route", [score_linear, score_reference])
def test_permuting_the_candidates_keeps_every_score(smollm2, builder, cacm_data: Path, route) -> None:
    docs = cacm_docs(cacm_data, 10, seed=1)
    shuffled = random.Random(7).sample(docs, len(docs))
    query = "operating system scheduling"
    first = dict(zip([d for d, _ in docs], route(smollm2.model, [builder.build(query, docs)], LAYER)[0]))
    again = route(smollm2.model, [builder.build(query, shuffled)], LAYER)[0]
    moved = dict(zip([d for d, _ in shuffled], again, strict=True))
    assert max(abs(first[d] - moved[d]) for d in first) < 1e-4


def test_slot_ids_make_the_order_show(smollm2, cacm_data: Path) -> None:
    # With ids 0..N-1 (the paper's), a document's block text depends on its slot: the property
    # above must then fail, which shows that the test can tell.
    slots = PromptBuilder(smollm2.tokenizer, chunk=48, ids="slot")
    docs = cacm_docs(cacm_data, 10, seed=1)
    first = dict(
        zip([d for d, _ in docs], score_linear(smollm2.model, [slots.build("sorting", docs)], LAYER)[0])
    )
    again = score_linear(smollm2.model, [slots.build("sorting", docs[::-1])], LAYER)[0]
    moved = dict(zip([d for d, _ in docs[::-1]], again, strict=True))
    assert max(abs(first[d] - moved[d]) for d in first) > 1e-3


def test_readout_equals_eager_attention_probabilities(smollm2, builder, cacm_data: Path) -> None:
    """The hook's scores against the attention matrix the eager kernel itself returns."""
    from transformers import AutoModelForCausalLM

    eager = AutoModelForCausalLM.from_pretrained(
        smollm2.model.name_or_path, dtype=torch.float32, attn_implementation="eager"
    ).eval()
    prompt = builder.build("data structures for text editing", cacm_docs(cacm_data, 5, seed=3))
    batch = flat_batch([prompt])
    with torch.inference_mode():
        out = eager.model(
            input_ids=batch.input_ids,
            attention_mask=additive(block_mask(batch), torch.float32),
            position_ids=batch.position_ids,
            output_attentions=True,
        )
    probs = out.attentions[LAYER][0][:, batch.signal_rows[0]]  # (heads, rows, S)
    docs = batch.doc_index[0]
    doc_probs = probs * (docs >= 0)
    doc_probs = doc_probs / doc_probs.sum(-1, keepdim=True)  # renormalised over document columns
    per_column = doc_probs.mean(dim=(0, 1))
    expected = [float(per_column[docs == k].sum()) for k in range(len(prompt.docs))]
    got = score_reference(smollm2.model, [prompt], LAYER)[0]
    assert max(abs(a - b) for a, b in zip(expected, got, strict=True)) < 1e-5


def test_layers_above_the_readout_never_run(smollm2, builder, cacm_data: Path) -> None:
    calls = {"at": 0, "above": 0}
    layers = base_model(smollm2.model).layers
    hooks = [
        layers[LAYER - 1].register_forward_hook(lambda *a: calls.__setitem__("at", calls["at"] + 1)),
        layers[LAYER + 1].register_forward_hook(lambda *a: calls.__setitem__("above", calls["above"] + 1)),
    ]
    try:
        prompt = builder.build("compilers", cacm_docs(cacm_data, 3))
        for route in (score_linear, score_reference, score_full):
            route(smollm2.model, [prompt], LAYER)
    finally:
        for hook in hooks:
            hook.remove()
    assert calls["above"] == 0
    assert calls["at"] >= 3  # layer l*-1 did run (3 passes in the linear route, 1 per other route)
    assert smollm2.model.config.num_hidden_layers == 30  # restored after the linear route


def test_full_attention_route_is_the_plain_causal_forward(smollm2, builder, cacm_data: Path) -> None:
    docs = cacm_docs(cacm_data, 6, seed=4)
    prompts = [builder.build("numerical integration", docs), builder.build("parsing", docs[:3])]
    batched = score_full(smollm2.model, prompts, LAYER)  # padded: explicit causal mask
    for prompt, scores in zip(prompts, batched, strict=True):
        alone = score_full(smollm2.model, [prompt], LAYER)[0]  # unpadded: the model's own causal path
        assert max(abs(a - b) for a, b in zip(alone, scores, strict=True)) < 1e-5
    block = score_reference(smollm2.model, prompts[:1], LAYER)[0]
    assert max(abs(a - b) for a, b in zip(block, batched[0], strict=True)) > 1e-3  # a different model


def test_reranker_reorders_the_head_and_keeps_the_tail(smollm2, cacm_data: Path) -> None:
    docs = cacm_docs(cacm_data, 8, seed=5)
    ranking = {"q1": [(d, 10.0 - i) for i, (d, _) in enumerate(docs)], "q2": []}
    reranker = BlockRankReranker(smollm2, dict(docs), candidates=5, chunk=32, queries_per_batch=2)
    assert reranker.layer == default_layer(30) == 18
    out = reranker.rerank({"q1": "matrix inversion", "q2": "nothing retrieved"}, ranking, depth=7)
    assert out["q2"] == []
    head, tail = out["q1"][:5], out["q1"][5:]
    assert sorted(d for d, _ in head) == sorted(d for d, _ in docs[:5])
    assert [d for d, _ in tail] == [d for d, _ in docs[5:7]]  # depth 7 cuts the last one
    assert all(s >= 0 for _, s in head) and all(s < 0 for _, s in tail)
    assert sum(s for _, s in head) == pytest.approx(1.0, abs=1e-5)
    stats = reranker.pop_stats()
    assert set(stats) == {"q1"} and stats["q1"]["documents"] == 5 and stats["q1"]["prompt_tokens"] > 5 * 10
    assert reranker.pop_stats() == {}


def test_decode_route_is_the_answer_id_log_probability(smollm2, builder, cacm_data: Path) -> None:
    from rankers.blockrank.scoring import score_decode

    prompt = builder.build("sorting", cacm_docs(cacm_data, 4, seed=6))
    scores = score_decode(smollm2.model, [prompt])[0]
    prefix = prompt.inst + [t for block in prompt.docs for t in block] + prompt.query
    for k in (0, 3):  # independently: one plain forward over prompt + that document's ID
        label = prompt.labels[k]
        with torch.inference_mode():
            logits = smollm2.model(input_ids=torch.tensor([prefix + label])).logits[0].float()
        logp = torch.log_softmax(logits, dim=-1)
        expected = sum(float(logp[len(prefix) - 1 + i, token]) for i, token in enumerate(label))
        assert scores[k] == pytest.approx(expected, abs=1e-4)
    assert all(s < 0 for s in scores)


def test_several_layers_from_one_pass_equal_one_layer_each(smollm2, builder, cacm_data: Path) -> None:
    from rankers.blockrank.scoring import score_linear_layers

    prompt = builder.build("memory management", cacm_docs(cacm_data, 5, seed=8))
    swept = score_linear_layers(smollm2.model, [prompt], [4, 12, 18])
    for layer in (4, 12, 18):
        single = score_reference(smollm2.model, [prompt], layer)[0]
        assert max(abs(a - b) for a, b in zip(single, swept[layer][0], strict=True)) < 1e-4
    assert max(abs(a - b) for a, b in zip(swept[4][0], swept[18][0], strict=True)) > 1e-3


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_bfloat16_routes_agree_with_cpu_float32(smollm2, builder, cacm_data: Path) -> None:
    from rankers.lm import load_lm

    docs = cacm_docs(cacm_data, 10, seed=2)
    prompts = [builder.build("numerical integration", docs), builder.build("compilers", docs[:6])]
    gpu = load_lm(device="cuda")  # bfloat16 on CUDA by default
    assert gpu.model.dtype == torch.bfloat16
    cpu_scores = score_reference(smollm2.model, prompts, LAYER)
    linear = score_linear(gpu.model, prompts, LAYER)
    reference = score_reference(gpu.model, prompts, LAYER)
    for cpu, lin, ref in zip(cpu_scores, linear, reference, strict=True):
        # bf16 keeps 8 bits of mantissa: shares of 1 agree to about 1e-2, not 1e-4
        assert max(abs(a - b) for a, b in zip(lin, ref, strict=True)) < 1e-2
        assert max(abs(a - b) for a, b in zip(cpu, lin, strict=True)) < 2e-2
        assert sum(lin) == pytest.approx(1.0, abs=1e-2)
