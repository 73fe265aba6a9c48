"""LM configs from mappings (errors name the key), and the cache key and store."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragbench.errors import InputError
from rankers.lm.cache import LMCache, Stored, cache_key
from rankers.lm.config import LMConfig
from rankers.lm.records import OptionScores, Provenance, prompt_hash


def test_defaults_are_greedy_seeded_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ragbench.settings import get_settings

    config = LMConfig.from_mapping({})
    assert (config.backend, config.temperature, config.seed, config.cache) == ("local", 0.0, 0, True)
    monkeypatch.setenv("RAGBENCH_CACHE_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert config.cache_path() == tmp_path / "lm.sqlite"
    finally:
        get_settings.cache_clear()
    assert LMConfig.from_mapping({"cache": False}).cache_path() is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"backend": "vllm"}, "judge.backend: 'vllm': use one of local, openai"),
        ({"backend": "openai", "model": "m"}, "judge.base_url: the openai backend needs"),
        ({"backend": "openai", "base_url": "localhost:8000", "model": "m"}, "is not an http(s) URL"),
        ({"backend": "openai", "base_url": "http://h/v1"}, "judge.model: the openai backend needs"),
        ({"api_key_env": "sk-12345abc"}, "must be the NAME of an environment variable"),
        ({"temperature": 3}, "judge.temperature: expected a number in [0.0, 2.0]"),
        ({"concurrency": 0}, "judge.concurrency: expected a whole number >= 1"),
        ({"timeout": 0}, "judge.timeout: expected a number of seconds > 0"),
        ({"max_tokens": True}, "judge.max_tokens: expected a whole number"),
        ({"cache": 3}, "judge.cache: expected true, false or a file path"),
        ({"dtype": "int4"}, "use float32, bfloat16 or float16"),
        ({"temprature": 0}, "judge.temprature: unknown LM option"),
    ],
)
def test_bad_configs_name_the_key(values: dict, message: str) -> None:
    with pytest.raises(InputError) as caught:
        LMConfig.from_mapping(values, "judge")
    assert message in str(caught.value)


def test_cache_keys_depend_on_every_part_and_the_store_keeps_the_first_value(tmp_path: Path) -> None:
    base = ("fp", "m", "chat", [{"role": "user", "content": "x"}], {"temperature": 0.0, "seed": 0}, 0)
    changed = [
        ("fp2", *base[1:]),
        (base[0], "m2", *base[2:]),
        (*base[:2], "options", *base[3:]),
        (*base[:3], [{"role": "user", "content": "x "}], *base[4:]),
        (*base[:4], {"temperature": 0.0, "seed": 1}, 0),
        (*base[:5], 1),
    ]
    keys = {cache_key(*parts) for parts in changed}
    assert cache_key(*base) not in keys and len(keys) == len(changed)
    assert cache_key(*base) == cache_key(*base[:4], {"seed": 0, "temperature": 0.0}, 0)  # order-free
    cache = LMCache(tmp_path / "a" / "lm.sqlite")
    first = Stored({"text": "one"}, 3, 1, "2026-01-01T00:00:00+00:00")
    cache.put_many([("k", "chat", first)], "m", "fp")
    cache.put_many([("k", "chat", Stored({"text": "two"}, 1, 1, "x"))], "m", "fp")
    assert LMCache(tmp_path / "a" / "lm.sqlite").get_many(["k", "missing"]) == {"k": first}
    assert len(cache) == 1


def test_prompt_hash_and_best_option() -> None:
    conv = [{"role": "user", "content": "q"}]
    assert prompt_hash(conv) != prompt_hash(conv, ["0", "1"]) and len(prompt_hash(conv)) == 64
    prov = Provenance("m", "local", "fp", "h", {}, 0, "t", False)
    assert OptionScores(("0", "1", "2"), (-3.0, None, -1.0), True, prov).best == "2"
    assert OptionScores(("0", "1"), (-1.0, -1.0), True, prov).best == "0"  # the first of equals
    assert OptionScores(("0",), (None,), False, prov).best is None
