"""The pure parts of the dense indexer: batch plans, shard slices, IVF-PQ defaults, light import."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexers.dense_faiss import ivfpq_params, shard_bounds
from indexers.dense_model import plan_batches
from ragbench.errors import InputError


@given(st.lists(st.integers(1, 300), max_size=200), st.integers(1, 5000), st.integers(1, 64))
def test_plan_covers_every_text_once_within_budget(
    lengths: list[int], max_tokens: int, max_batch: int
) -> None:
    batches = plan_batches(lengths, max_tokens, max_batch)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        padded = max(lengths[i] for i in batch) * len(batch)
        assert len(batch) == 1 or padded <= max_tokens
        assert len(batch) <= max_batch
        assert [lengths[i] for i in batch] == sorted((lengths[i] for i in batch), reverse=True)


def test_plan_is_longest_first_and_ties_by_position() -> None:
    assert plan_batches([3, 5, 5, 1], max_tokens=10, max_batch=8) == [[1, 2], [0, 3]]
    assert plan_batches([4, 4, 4], max_tokens=8, max_batch=8) == [[0, 1], [2]]
    assert plan_batches([100, 2], max_tokens=10, max_batch=8) == [[0], [1]]  # longer than the budget: alone


@given(st.integers(1, 10_000), st.integers(1, 50))
def test_shards_are_contiguous_and_balanced(n: int, shards: int) -> None:
    bounds = shard_bounds(n, shards)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    sizes = [b - a for a, b in bounds]
    assert max(sizes) - min(sizes) <= 1


def test_ivfpq_defaults_fit_the_data() -> None:
    assert ivfpq_params(3204, 384, None, None) == {"nlist": 82, "pq_m": 48, "nbits": 8, "nprobe": 16}
    assert ivfpq_params(100, 384, None, None) == {"nlist": 2, "pq_m": 48, "nbits": 6, "nprobe": 2}
    with pytest.raises(InputError, match="at least 16 documents"):
        ivfpq_params(10, 384, None, None)
    with pytest.raises(InputError, match="must divide the embedding dimension 384, not 7"):
        ivfpq_params(1000, 384, None, 7)


def test_importing_the_dense_indexer_is_light() -> None:
    probe = (
        "import sys, indexers.dense; "
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'torch', 'faiss', 'ray', 'sentence_transformers', 'onnxruntime', 'transformers'})))"
    )
    leaked = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert leaked.strip() == ""


def test_same_length_batches_hold_one_length() -> None:
    assert plan_batches([3, 5, 3, 5, 2], max_tokens=100, max_batch=8, same_length=True) == [
        [1, 3],
        [0, 2],
        [4],
    ]
