"""The ``openai`` backend against a real ``transformers serve`` of SmolLM2, and against loopback
servers that fail on purpose: down, slow, wrong format, overloaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.lm_server import completion, scripted_server
from support.webserver import free_port

from ragbench.errors import InputError
from rankers.lm import EndpointError, UnsupportedError, open_client, prompt_hash

PROMPTS = ["Name one planet of the solar system.", "What is the capital of France? One word."]


def endpoint(url: str, model: str, tmp_path: Path, **extra: object) -> dict[str, object]:
    return {
        "backend": "openai",
        "base_url": url,
        "model": model,
        "cache": str(tmp_path / "lm.sqlite"),
        **extra,
    }


def test_served_replies_equal_the_local_backend_at_temperature_0(
    served_smollm2: tuple[str, str], tmp_path: Path
) -> None:
    url, model = served_smollm2
    served = open_client(endpoint(url, model, tmp_path, concurrency=2))
    local = open_client({"backend": "local", "device": "cpu", "cache": False})
    remote = served.generate(PROMPTS, max_tokens=12)
    here = local.generate(PROMPTS, max_tokens=12)
    # the same weights, chat template and greedy decoding: the same text, token for token
    assert [r.text for r in remote] == [r.text for r in here]
    assert all(r.text for r in remote)
    # transformers serve counts the end-of-sequence token of a reply that stopped; we do not
    assert [r.completion_tokens - (r.finish_reason == "stop") for r in remote] == [
        r.completion_tokens for r in here
    ]
    assert [r.prompt_tokens for r in remote] == [r.prompt_tokens for r in here]
    first = remote[0].provenance
    assert (first.backend, first.model, first.cached, first.sample) == ("openai", model, False, 0)
    assert first.fingerprint == f"openai:{url}|{model}"
    assert first.params == {"temperature": 0.0, "seed": 0, "max_tokens": 12}
    assert first.prompt_hash == prompt_hash([{"role": "user", "content": PROMPTS[0]}])
    usage = served.pop_usage()
    assert (usage.calls, usage.cached, usage.failures) == (2, 0, 0)
    assert usage.prompt_tokens == sum(r.prompt_tokens for r in remote) > 0

    # a rerun makes no call: everything from the cache, with the provenance of the first call
    again = open_client(endpoint(url, model, tmp_path, concurrency=2))
    rerun = again.generate(PROMPTS, max_tokens=12)
    assert [r.text for r in rerun] == [r.text for r in remote]
    assert all(r.provenance.cached for r in rerun)
    assert rerun[0].provenance.created == first.created
    usage = again.pop_usage()
    assert (usage.calls, usage.cached) == (0, 2)
    # other parameters are other keys
    again.generate(PROMPTS[:1], max_tokens=5)
    assert again.pop_usage().calls == 1


def test_served_endpoint_without_logprobs_says_so(served_smollm2: tuple[str, str], tmp_path: Path) -> None:
    url, model = served_smollm2
    client = open_client(endpoint(url, model, tmp_path))
    with pytest.raises(UnsupportedError, match=r"log-probabilities") as caught:
        client.score_options([[{"role": "user", "content": "Is 2+2=4? yes or no"}]], ["yes", "no"])
    assert url in str(caught.value)
    assert client.pop_usage().failures == 1


def test_a_down_endpoint_is_a_clear_error_naming_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    client = open_client(endpoint(url, "m", tmp_path, retries=1, backoff=0.01))
    with pytest.raises(EndpointError) as caught:
        client.generate(["hi"])
    message = str(caught.value)
    assert message.startswith(f"{url}/chat/completions: cannot connect")
    assert "after 2 attempts" in message
    usage = client.pop_usage()
    assert (usage.failures, usage.retries, usage.calls) == (1, 1, 0)


def test_a_timeout_is_retried_then_an_error(tmp_path: Path) -> None:
    with scripted_server(lambda body: (200, completion("late"), 1.5)) as (url, received):
        client = open_client(endpoint(url, "m", tmp_path, timeout=0.3, retries=1, backoff=0.01))
        with pytest.raises(EndpointError, match=r"no answer within 0.3 s \(after 2 attempts\)"):
            client.generate(["hi"])
        assert len(received) == 2


def test_overload_is_retried_with_backoff_then_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([(503, b'{"error": {"message": "busy"}}', 0.0), (429, b"{}", 0.0)])

    def handler(body: dict) -> tuple[int, bytes, float]:
        return next(answers, (200, completion("fine", 7, 1), 0.0))

    with scripted_server(handler) as (url, received):
        config = endpoint(url, "m", tmp_path, retries=3, backoff=0.01, api_key_env="RB_TEST_KEY")
        with pytest.raises(InputError, match="RB_TEST_KEY is not set"):
            open_client(config)  # the key variable is named but unset
        monkeypatch.setenv("RB_TEST_KEY", "sekrit")
        client = open_client(config)
        (reply,) = client.generate(["hi"], seed=5, sample=2)
    assert reply.text == "fine" and (reply.prompt_tokens, reply.completion_tokens) == (7, 1)
    assert [b["seed"] for b in received] == [7, 7, 7]  # seed + sample, on every attempt
    usage = client.pop_usage()
    assert (usage.calls, usage.retries, usage.failures) == (1, 2, 0)
    # the key is sent, but never recorded
    assert {b["__authorization"] for b in received} == {"Bearer sekrit"}
    assert "sekrit" not in json.dumps(reply.provenance.to_dict()) and "sekrit" not in client.fingerprint


def test_a_reply_in_the_wrong_format_is_an_error_naming_the_url(tmp_path: Path) -> None:
    bodies = iter([b"<html>oops</html>", b'{"choices": []}'])
    with scripted_server(lambda body: (200, next(bodies), 0.0)) as (url, _):
        client = open_client(endpoint(url, "m", tmp_path, retries=0))
        with pytest.raises(EndpointError, match=r"chat/completions: the answer is not JSON"):
            client.generate(["hi"])
        with pytest.raises(EndpointError, match=r"not a chat completion"):
            client.generate(["hello"])


def test_a_refused_request_is_not_retried(tmp_path: Path) -> None:
    with scripted_server(lambda body: (400, b'{"error": {"message": "prompt too long"}}', 0.0)) as (url, got):
        client = open_client(endpoint(url, "m", tmp_path, retries=3, backoff=0.01))
        with pytest.raises(EndpointError, match=r"HTTP 400: prompt too long"):
            client.generate(["hi"])
        assert len(got) == 1


def test_top_logprobs_score_options_when_the_endpoint_gives_them(tmp_path: Path) -> None:
    answer = {
        "choices": [
            {
                "message": {"role": "assistant", "content": "2"},
                "finish_reason": "length",
                "logprobs": {
                    "content": [
                        {
                            "token": "2",
                            "logprob": -0.1,
                            "top_logprobs": [
                                {"token": "2", "logprob": -0.1},
                                {"token": " 3", "logprob": -2.5},
                                {"token": "1", "logprob": -4.0},
                            ],
                        }
                    ]
                },
            }
        ],
        "usage": {"prompt_tokens": 30, "completion_tokens": 1},
    }
    with scripted_server(lambda body: (200, json.dumps(answer).encode(), 0.0)) as (url, got):
        client = open_client(endpoint(url, "m", tmp_path))
        (scores,) = client.score_options([[{"role": "user", "content": "grade?"}]], ["0", "1", "2", "3"])
    assert got[0]["logprobs"] is True and got[0]["top_logprobs"] == 20 and got[0]["max_tokens"] == 1
    assert scores.logprobs == (None, -4.0, -0.1, -2.5)
    assert scores.best == "2" and scores.exact is False


def test_the_llm_rewriter_through_the_endpoint_rewrites_as_locally(
    served_smollm2: tuple[str, str], tmp_path: Path
) -> None:
    from rankers.rewriters.cache import RewriteCache
    from rankers.rewriters.llm import LLMRewriter

    url, model = served_smollm2
    queries = {"3": "parallel languages for multiprocessors"}
    served = LLMRewriter(
        max_new_tokens=12,
        cache=RewriteCache(tmp_path / "rw.sqlite"),
        lm={"backend": "openai", "base_url": url, "model": model},
    )
    local = LLMRewriter(max_new_tokens=12, cache=None, device="cpu")
    assert served.rewrite(queries) == local.rewrite(queries)
    assert served.model_key == f"openai:{url}|{model}" and not served.lm_loaded
    assert served.describe()["backend"] == "openai"
    stats = served.pop_stats()["3"]
    assert stats["lm_calls"] == 1 and stats["prompt_tokens"] > 20
