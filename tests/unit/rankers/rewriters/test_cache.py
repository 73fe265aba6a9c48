"""The rewrite cache (SQLite, shared by processes), the LM output cleaner, and the weighted-query text."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from support.workers import cache_writer

from indexers.bm25 import format_weighted, parse_weighted
from ragbench.errors import InputError
from rankers.rewriters.cache import CachedRewrite, RewriteCache, cache_key, default_cache_path
from rankers.rewriters.llm import clean_rewrite

BASE = ("gguf:abc|float32", "Rewrite: {query}", "fast sorting", None, 32)


def test_miss_then_hit(tmp_path: Path) -> None:
    cache = RewriteCache(tmp_path / "sub" / "rewrites.sqlite")
    key = cache_key(*BASE)
    assert cache.get(key) is None
    assert len(cache) == 0
    cache.put(key, CachedRewrite("sorting algorithms quicksort", 41, 5), "m")
    assert cache.get(key) == CachedRewrite("sorting algorithms quicksort", 41, 5)
    # a second writer of the same key does not replace the first value
    cache.put(key, CachedRewrite("something else", 1, 1), "m")
    assert cache.get(key) == CachedRewrite("sorting algorithms quicksort", 41, 5)
    assert len(cache) == 1
    # another connection (another process, later) sees it
    assert RewriteCache(tmp_path / "sub" / "rewrites.sqlite").get_many([key, "missing"]) == {
        key: CachedRewrite("sorting algorithms quicksort", 41, 5)
    }


def test_the_key_depends_on_every_part() -> None:
    base = cache_key(*BASE)
    assert len(base) == 64 and base == cache_key(*BASE)
    changed = [
        ("gguf:abd|float32", *BASE[1:]),
        ("gguf:abc|bfloat16", *BASE[1:]),
        (BASE[0], "Rewrite:  {query}", *BASE[2:]),
        (*BASE[:2], "fast sorting ", *BASE[3:]),
        (*BASE[:3], "", BASE[4]),
        (*BASE[:3], "[1] a document", BASE[4]),
        (*BASE[:4], 33),
    ]
    keys = {cache_key(*parts) for parts in changed}
    assert base not in keys and len(keys) == len(changed)
    # parts cannot run into each other
    assert cache_key("a", "b c", "d", None, 1) != cache_key("a b", "c", "d", None, 1)


def test_default_path_follows_ragbench_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ragbench.settings import get_settings

    monkeypatch.delenv("RAGBENCH_CACHE_DIR", raising=False)
    monkeypatch.setenv("RAGBENCH_HOME", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert default_cache_path() == tmp_path / "cache" / "rewrites.sqlite"
        monkeypatch.delenv("RAGBENCH_HOME")
        get_settings.cache_clear()
        assert default_cache_path() == Path("~/.ragbench/cache/rewrites.sqlite").expanduser()
    finally:
        get_settings.cache_clear()


def test_unusable_path_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="cannot open the rewrite cache"):
        RewriteCache(tmp_path / "file" / "rewrites.sqlite").get("k")


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "rewrites.sqlite")
    context = multiprocessing.get_context("spawn")
    # overlapping key ranges: 0-299 and 200-499, so both insert keys 200-299
    workers = [context.Process(target=cache_writer, args=(path, w, w * 200, 300)) for w in (0, 1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    cache = RewriteCache(path)
    assert len(cache) == 500
    found = cache.get_many(f"key-{j}" for j in range(500))
    assert set(found) == {f"key-{j}" for j in range(500)}
    for j in range(200, 300):  # one of the two writers won, whole
        value = found[f"key-{j}"]
        assert value.rewrite == f"rewrite {j} by {value.new_tokens}" and value.prompt_tokens == j
    assert cache._connect().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sorting algorithms quicksort", "sorting algorithms quicksort"),
        ('"Query: fast sorting"', "fast sorting"),
        ("Keywords: motion planning, robotics", "motion planning, robotics"),
        ("The search query is: Interested in robotics.", "Interested in robotics."),
        ("Rewritten query: 'time sharing systems'\nExplanation: ...", "time sharing systems"),
        (
            "The key concepts and their synonyms:\n\n- Intermediate languages:\n- TCOLL\n- Multi-targeted compilers",
            "Intermediate languages, TCOLL, Multi-targeted compilers",
        ),
        ("\n\n  parallel   sorting \nsecond line", "parallel sorting"),
        ("The key concepts and their synonyms in the document are:", ""),
        ("", ""),
        ("  \n ", ""),
    ],
)
def test_clean_rewrite(text: str, expected: str) -> None:
    assert clean_rewrite(text) == expected


def test_weighted_query_text_round_trips_float32() -> None:
    import numpy as np

    terms = [("share", 0.1459411084651947), ("system", 0.07692307978868484), ("tss", 1 / 26)]
    text = format_weighted(terms)
    assert text.startswith("#weight( 0.14594111 share 0.07692308 system ")
    parsed = parse_weighted(text)
    assert parsed is not None
    assert [t for t, _ in parsed] == ["share", "system", "tss"]
    assert [np.float32(w) for _, w in parsed] == [np.float32(w) for _, w in terms]
    assert parse_weighted("time sharing systems") is None
    assert parse_weighted("#weight( )") == []
    with pytest.raises(InputError, match="weight-term pairs"):
        parse_weighted("#weight( 0.5 )")
    with pytest.raises(InputError, match="not a weight"):
        parse_weighted("#weight( share 0.5 )")
    with pytest.raises(InputError, match=">= 0"):
        parse_weighted("#weight( -1 share )")
