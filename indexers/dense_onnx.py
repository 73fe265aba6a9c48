"""The ONNX Runtime path of the dense encoder: export once, cache, check, run.

The whole sentence-transformers module stack (transformer, pooling, normalise) is traced with
``torch.onnx.export`` (the TorchScript exporter: it needs the ``onnx`` package, not onnxscript)
into ``<cache>/onnx/<key>.onnx``, where the key hashes the model directory's files, the torch
version and :data:`EXPORT_FORMAT`; ``<cache>`` is the settings' cache folder.
Several Ray workers may export at once: each writes a temporary file and renames it into place.

A fresh session is checked against torch on a probe batch before it is trusted: an export that
traced a shape as a constant, or an operator ONNX Runtime computes differently, shows up there and
sends the encoder back to torch instead of producing wrong vectors.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ragbench.errors import InputError, MissingExtraError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "st-stack-v1-opset17"
"""Changes whenever the exported graph would change, so old cache entries are not reused."""
PROBE = [
    "ONNX probe: a short text.",
    "A longer probe text, so that the batch is padded and the attention mask matters for pooling "
    "of the shorter one; compilers, operating systems and information retrieval.",
]
PROBE_TOLERANCE = 1e-4
"""Largest difference allowed between ONNX Runtime and torch on the probe (unit vectors)."""


def cache_dir() -> Path:
    """Where exported models are kept (the settings' cache folder: ``RAGBENCH_CACHE_DIR``, default
    ``$RAGBENCH_HOME/cache``)."""
    from ragbench.settings import get_settings

    root = get_settings().cache_dir
    return Path(root) / "onnx"


def model_key(model_path: Path) -> str:
    """A hash of every file of the model directory, the torch version and the export format."""
    import torch

    digest = hashlib.sha256(f"{EXPORT_FORMAT}\0{torch.__version__}\0".encode())
    for file in sorted(p for p in model_path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(model_path)).encode() + b"\0")
        with file.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()[:32]


def onnx_session(model: SentenceTransformer, model_path: Path, threads: int, *, required: bool) -> Any:
    """An ONNX Runtime session for ``model`` (exported or taken from the cache), or None.

    With ``required`` False any failure (no ``onnx`` package, an untraceable model, a probe
    mismatch) is logged and answered with None, so the caller runs torch instead.

    Raises:
        MissingExtraError, InputError: only when ``required``.
    """
    try:
        path = cache_dir() / f"{model_key(model_path)}.onnx"
        if not path.is_file():
            _export(model, path)
        session = _open(path, threads)
        _check(session, model)
        return session
    except (ImportError, MissingExtraError) as exc:
        if required:
            raise MissingExtraError(
                f"the onnx encoder backend needs onnx and onnxruntime: pip install onnx onnxruntime ({exc})"
            ) from exc
        logger.warning("dense encoder: ONNX path unavailable (%s); using torch", exc)
    except Exception as exc:  # an exporter or runtime failure of any kind means: use torch
        if required:
            raise InputError(f"{model_path}: the ONNX export of this model failed: {exc}") from exc
        logger.warning("dense encoder: ONNX export of %s failed (%s); using torch", model_path, exc)
    return None


def run_session(session: Any, features: dict[str, Any]) -> np.ndarray:
    """The sentence embeddings of one preprocessed batch (torch tensors in, numpy out)."""
    feeds = {i.name: features[i.name].cpu().numpy().astype(np.int64) for i in session.get_inputs()}
    embeddings: np.ndarray = session.run(None, feeds)[0].astype(np.float32, copy=False)
    return embeddings


def _input_names(model: SentenceTransformer) -> list[str]:
    import torch

    return [k for k, v in model.preprocess(PROBE).items() if isinstance(v, torch.Tensor)]


def _export(model: SentenceTransformer, path: Path) -> None:
    import onnx  # noqa: F401 - the TorchScript exporter needs it; fail here with a clear ImportError
    import torch

    names = _input_names(model)

    class Stack(torch.nn.Module):
        """The module stack with positional tensor inputs, as the exporter wants them."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            embedding: torch.Tensor = self.model(dict(zip(names, tensors, strict=True)))["sentence_embedding"]
            return embedding

    features = model.preprocess(PROBE)
    args = tuple(features[name] for name in names)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".onnx.tmp")
    os.close(fd)
    try:
        with torch.inference_mode(False), torch.no_grad():
            torch.onnx.export(
                Stack().eval(),
                args,
                tmp,
                input_names=names,
                output_names=["sentence_embedding"],
                dynamic_axes={
                    **{n: {0: "batch", 1: "tokens"} for n in names},
                    "sentence_embedding": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    logger.info("dense encoder: exported %s", path)


def _open(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _check(session: Any, model: SentenceTransformer) -> None:
    import torch

    features = model.preprocess(PROBE)
    got = run_session(session, features)
    with torch.inference_mode():
        want = model(dict(features))["sentence_embedding"].float().numpy()
    got /= np.linalg.norm(got, axis=1, keepdims=True)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    worst = float(np.abs(got - want).max())
    if not worst <= PROBE_TOLERANCE:
        raise RuntimeError(f"ONNX Runtime and torch differ by {worst:.2e} on the probe batch")
