"""The ``local`` backend on the packaged SmolLM2: option log-probabilities checked against a direct
computation with transformers, sampling reproducible per sample, batches equal to single prompts."""

from __future__ import annotations

from pathlib import Path

import pytest

from rankers.lm import LMConfig
from rankers.lm.local import LocalClient

CONV = [{"role": "user", "content": "Is Paris the capital of France? Answer yes or no."}]


@pytest.fixture(scope="module")
def client(smollm2, tmp_path_factory: pytest.TempPathFactory) -> LocalClient:
    cache = tmp_path_factory.mktemp("lm") / "lm.sqlite"
    return LocalClient.from_loaded(smollm2, LMConfig(cache=str(cache), batch_size=4))


def direct_logprob(lm, conv: list[dict], option: str) -> float:
    """log P(option tokens | chat prompt), computed here with plain transformers calls."""
    import torch

    prompt = lm.tokenizer.apply_chat_template(conv, add_generation_prompt=True, tokenize=True)
    if not isinstance(prompt, list):
        prompt = list(prompt["input_ids"])
    option_ids = lm.tokenizer(option, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt + option_ids])
    with torch.inference_mode():
        logits = lm.model(input_ids=ids).logits[0].float()
    total = 0.0
    for offset, token in enumerate(option_ids):
        total += float(torch.log_softmax(logits[len(prompt) - 1 + offset], -1)[token])
    return total


def test_option_logprobs_are_exact(client: LocalClient, smollm2) -> None:
    (single,) = client.score_options([CONV], ["yes", "no"])  # one token each: one forward pass
    (multi,) = client.score_options([CONV], ["yes", "no", "maybe not"])  # a sequence per option
    assert single.exact and multi.exact
    for option, value in zip(("yes", "no"), single.logprobs, strict=True):
        assert value == pytest.approx(direct_logprob(smollm2, CONV, option), abs=1e-4)
    assert multi.logprobs[:2] == pytest.approx(single.logprobs, abs=1e-4)
    assert multi.logprobs[2] == pytest.approx(direct_logprob(smollm2, CONV, "maybe not"), abs=1e-4)
    assert single.best == ("yes" if single.logprobs[0] >= single.logprobs[1] else "no")
    # a batch of prompts of different lengths (left-padded) gives each prompt's own values
    other = [{"role": "user", "content": "Is ice hot? yes or no"}]
    batch = client.score_options([other, CONV], ["yes", "no"])
    assert batch[1].logprobs == pytest.approx(single.logprobs, abs=1e-3)
    assert batch[0].logprobs[0] == pytest.approx(direct_logprob(smollm2, other, "yes"), abs=1e-3)


def test_samples_are_reproducible_one_by_one(client: LocalClient) -> None:
    prompts = ["Write a two-word name for a cat.", "Write a two-word name for a dog."]
    first = client.generate(prompts, temperature=1.0, sample=1, max_tokens=8)
    client.cache = None  # recompute rather than read back
    alone = client.generate(prompts[1:], temperature=1.0, sample=1, max_tokens=8)
    assert alone[0].text == first[1].text  # independent of the batch it was in
    others = [
        client.generate(prompts[:1], temperature=1.0, sample=s, max_tokens=8)[0].text for s in range(2, 4)
    ]
    assert len({first[0].text, *others}) > 1  # sampling does sample
    assert first[0].provenance.params["temperature"] == 1.0 and first[0].provenance.sample == 1


def test_greedy_batches_equal_single_prompts_and_stop_strings_cut(
    client: LocalClient, tmp_path: Path
) -> None:
    client.cache = None
    prompts = ["Count from one to five in words.", "Say the word hello."]
    together = client.generate(prompts, max_tokens=10)
    alone = [client.generate([p], max_tokens=10)[0] for p in prompts]
    assert [r.text for r in together] == [r.text for r in alone]
    stop = together[0].text.split()[1]
    (cut,) = client.generate(prompts[:1], max_tokens=10, stop=[stop])
    assert cut.text == together[0].text[: together[0].text.index(stop)]
    assert cut.finish_reason == "stop"
