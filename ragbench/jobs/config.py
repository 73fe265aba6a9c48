"""Pipeline configuration: a YAML file read into typed, checked settings.

A pipeline is retriever(s) → optional fusion → optional reranker, with an optional query
rewriter in front of the retrievers::

    name: bm25-rm3                  # the system name the run is stored under
    benchmark: cacm                 # store and score under this benchmark (optional)
    corpus: data/cacm.jsonl         # paths are relative to this file
    topics: data/topics.cacm.txt
    qrels: data/qrels.cacm.txt      # optional: registers the benchmark if new, scores the run
    measures: [AP, P@30, nDCG@10]   # reported, and the benchmark's measures when registered here
    depth: 1000
    retrievers:
      - type: bm25
        index: indexes/cacm-bm25    # built from the corpus when missing
        k1: 0.9
        b: 0.4
        rm3: {fb_terms: 10, fb_docs: 10, original_weight: 0.5}
    fusion: {method: rrf, k: 60}    # required with two or more retrievers
    reranker: {type: ..., depth: 50}
    rewriter: {type: ...}
    generator: {type: llm, backend: local, k: 5, max_words: 400}   # answers, TREC RAG JSONL
    answers: runs/NAME.answers.jsonl                               # where the answers go

Every error names the file, the line and the key (``pipeline.yaml:7: retrievers[0].k1: ...``).
Stage options other than the common keys are handed to the stage's factory, which checks them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragbench.errors import InputError
from ragbench.formats.located_yaml import LocatedYaml

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")
TOP_KEYS = frozenset(
    {"name", "description", "benchmark", "measures", "corpus", "topics", "qrels", "topic_field", "output",
     "depth", "retrievers", "fusion", "reranker", "rewriter", "generator", "answers", "ray"}
)  # fmt: skip
RAY_KEYS = frozenset({"enabled", "parallelism", "batch_size"})


@dataclass(frozen=True)
class StageSpec:
    """One stage as configured: its kind (``retriever``/``reranker``/``rewriter``), type, name and
    options, plus what every stage may need to know (corpus path, the config's folder)."""

    kind: str
    type: str
    name: str
    options: dict[str, Any]
    corpus: str | None
    base: str
    where: str  # "file:line: key" for the stage's own error messages

    def path(self, value: str) -> str:
        """A path option resolved against the config file's folder."""
        return str(Path(self.base, os.path.expanduser(value)))


@dataclass(frozen=True)
class RaySettings:
    """``enabled``: True (always Ray), False (never), None (auto: Ray only when it pays, see
    :func:`ragbench.jobs.pipeline.ray_decision`)."""

    enabled: bool | None = None
    parallelism: int | None = None
    batch_size: int = 16


@dataclass(frozen=True)
class PipelineConfig:
    """A checked pipeline: paths absolute, stages in order."""

    path: str
    name: str
    description: str
    benchmark: str | None
    corpus: str | None
    topics: str
    qrels: str | None
    topic_field: str
    output: str
    depth: int
    retrievers: tuple[StageSpec, ...]
    fusion: dict[str, Any] | None
    reranker: StageSpec | None
    rewriter: StageSpec | None
    ray: RaySettings = field(default_factory=RaySettings)
    measures: tuple[str, ...] | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    generator: StageSpec | None = None
    """Writes an answer per topic from the final ranking (a RAG pipeline); None: no answers."""
    answers: str | None = None
    """Where the answers go (TREC RAG 2024 JSONL; default beside the run, ``.answers.jsonl``)."""


def load_pipeline(path: str | os.PathLike[str]) -> PipelineConfig:
    """Read and check a pipeline YAML file (see the module docstring for the layout).

    Raises:
        InputError: naming the file, line and key of the first problem.
    """
    source = Path(path)
    doc = LocatedYaml(source, "pipeline config")
    return pipeline_from_yaml(doc, doc.data, base=source.resolve().parent, path=source.resolve())


def pipeline_from_yaml(
    doc: LocatedYaml, data: Any, *, base: Path, path: Path, fixed: dict[str, Any] | None = None
) -> PipelineConfig:
    """Check a pipeline config given as the mapping ``data`` at ``doc`` (a whole file, or a
    :meth:`~ragbench.formats.located_yaml.LocatedYaml.scope` of a section of another file, such as
    a suite's condition).

    Args:
        doc: Where ``data`` is, for messages (file, line, key path).
        data: The mapping.
        base: The folder relative paths are resolved against.
        path: The file recorded as the config's ``path``.
        fixed: Keys the caller sets (a suite sets ``name``, ``benchmark``, ``corpus`` ...); they
            replace those of ``data``.

    Raises:
        InputError: naming the file, line and key of the first problem.
    """
    if not isinstance(data, dict):
        raise doc.fail("", "a pipeline config is a YAML mapping (name:, topics:, retrievers:, ...)")
    for key in data:
        if key not in TOP_KEYS:
            raise doc.fail(str(key), f"unknown key; known keys: {', '.join(sorted(TOP_KEYS))}")
    data = {**data, **(fixed or {})}

    def text(key: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = data.get(key, default)
        if value is None or (value == "" and not required):
            if required:
                raise doc.fail(key, "is required") if key not in data else doc.fail(key, "must not be empty")
            return default if value == "" else None
        if not isinstance(value, str | int | float) or isinstance(value, bool) or str(value).strip() == "":
            raise doc.fail(key, f"expected text, got {value!r}")
        return str(value)

    def file(key: str, *, required: bool = False) -> str | None:
        value = text(key, required=required)
        if value is None:
            return None
        resolved = base / os.path.expanduser(value)
        if not resolved.is_file():
            raise doc.fail(key, f"no such file: {resolved}")
        return str(resolved)

    name = text("name", required=True)
    assert name is not None
    if not NAME.match(name):
        raise doc.fail("name", f"{name!r}: use 1-100 characters A-Z a-z 0-9 . _ + - (a run tag)")
    benchmark = text("benchmark")
    if benchmark is not None and not SLUG.match(benchmark):
        raise doc.fail("benchmark", f"{benchmark!r}: use 1-100 characters a-z 0-9 . _ -")
    depth = _positive_int(doc, data, "depth", 1000)
    topic_field = text("topic_field", default="title") or "title"
    from ragbench.formats.topics import check_topic_field

    try:
        check_topic_field(topic_field)
    except InputError as exc:
        raise doc.fail("topic_field", str(exc)) from None
    corpus = file("corpus")
    output = text("output") or f"runs/{name}.run"

    retrievers_raw = data.get("retrievers")
    if not isinstance(retrievers_raw, list) or not retrievers_raw:
        raise doc.fail("retrievers", "give a list of one or more retrievers (- type: bm25 ...)")
    retrievers = tuple(
        _stage(doc, f"retrievers[{i}]", item, "retriever", corpus, base)
        for i, item in enumerate(retrievers_raw)
    )
    names = [stage.name for stage in retrievers]
    for i, stage_name in enumerate(names):
        if stage_name in names[:i]:
            raise doc.fail(
                f"retrievers[{i}].name", f"{stage_name!r} is used twice: give each retriever a name"
            )

    fusion = data.get("fusion")
    if fusion is not None and not isinstance(fusion, dict):
        raise doc.fail("fusion", "expected a mapping such as {method: rrf, k: 60}")
    if len(retrievers) > 1 and fusion is None:
        raise doc.fail("retrievers", f"{len(retrievers)} retrievers need a fusion: stage (rrf or combsum)")
    if fusion is not None:
        fusion = _check_fusion(doc, fusion, len(retrievers))

    reranker = data.get("reranker")
    rewriter = data.get("rewriter")
    generator = data.get("generator")
    answers = text("answers")
    return PipelineConfig(
        path=str(path),
        name=name,
        description=text("description", default="") or "",
        benchmark=benchmark,
        corpus=corpus,
        topics=file("topics", required=True) or "",
        qrels=file("qrels"),
        topic_field=topic_field or "title",
        output=str(base / os.path.expanduser(output)),
        depth=depth,
        retrievers=retrievers,
        fusion=fusion,
        reranker=None if reranker is None else _stage(doc, "reranker", reranker, "reranker", corpus, base),
        rewriter=None if rewriter is None else _stage(doc, "rewriter", rewriter, "rewriter", corpus, base),
        ray=_ray(doc, data.get("ray")),
        measures=_measures(doc, data.get("measures")),
        raw=data,
        generator=None
        if generator is None
        else _stage(doc, "generator", generator, "generator", corpus, base),
        answers=None
        if generator is None
        else str(base / os.path.expanduser(answers or f"runs/{name}.answers.jsonl")),
    )


def _measures(doc: LocatedYaml, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(m, str) and m for m in value):
        raise doc.fail("measures", "expected a list of measure names (ir-measures syntax: AP, P@30, nDCG@10)")
    from ragbench.errors import MeasureError
    from ragbench.evaluation.registry import canonical_measures

    try:
        canonical_measures(value, "adhoc")  # parses, and checks that an installed provider computes each
    except MeasureError as exc:
        raise doc.fail("measures", str(exc)) from None
    return tuple(value)


def _positive_int(doc: LocatedYaml, data: dict[str, Any], key: str, default: int, prefix: str = "") -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise doc.fail(prefix + key, f"expected a positive whole number, got {value!r}")
    return value


def _stage(doc: LocatedYaml, key: str, item: Any, kind: str, corpus: str | None, base: Path) -> StageSpec:
    if not isinstance(item, dict):
        raise doc.fail(key, f"expected a mapping with a type: key, got {item!r}")
    stage_type = item.get("type")
    if not isinstance(stage_type, str) or not stage_type:
        raise doc.fail(
            f"{key}.type" if "type" in item else key, f"every {kind} needs a type: (e.g. bm25, dense)"
        )
    name = item.get("name", stage_type)
    if not isinstance(name, str) or not NAME.match(name):
        raise doc.fail(f"{key}.name", f"{name!r}: use 1-100 characters A-Z a-z 0-9 . _ + -")
    options = {k: v for k, v in item.items() if k not in ("type", "name")}
    return StageSpec(kind, stage_type, name, options, corpus, str(base), doc.where(key))


def _check_fusion(doc: LocatedYaml, fusion: dict[str, Any], count: int) -> dict[str, Any]:
    allowed = {"method", "k", "normalization", "weights"}
    for key in fusion:
        if key not in allowed:
            raise doc.fail(f"fusion.{key}", f"unknown key; use {', '.join(sorted(allowed))}")
    method = fusion.get("method", "rrf")
    if method not in ("rrf", "combsum"):
        raise doc.fail("fusion.method", f"{method!r}: use rrf or combsum")
    k = fusion.get("k", 60)
    if isinstance(k, bool) or not isinstance(k, int | float) or k < 0:
        raise doc.fail("fusion.k", f"expected a number >= 0, got {k!r}")
    normalization = fusion.get("normalization", "minmax")
    if normalization not in ("minmax", "zscore", "none"):
        raise doc.fail("fusion.normalization", f"{normalization!r}: use minmax, zscore or none")
    weights = fusion.get("weights")
    if weights is not None and (
        not isinstance(weights, list)
        or len(weights) != count
        or any(isinstance(w, bool) or not isinstance(w, int | float) or w < 0 for w in weights)
    ):
        raise doc.fail("fusion.weights", f"expected {count} non-negative numbers, one per retriever")
    return {
        "method": method,
        "k": float(k),
        "normalization": normalization,
        "weights": None if weights is None else tuple(float(w) for w in weights),
    }


def _ray(doc: LocatedYaml, value: Any) -> RaySettings:
    if value is None:
        return RaySettings()
    if isinstance(value, bool):
        return RaySettings(enabled=value)
    if value == "auto":
        return RaySettings()
    if not isinstance(value, dict):
        raise doc.fail("ray", "expected true, false or a mapping {parallelism: N, batch_size: N}")
    for key in value:
        if key not in RAY_KEYS:
            raise doc.fail(f"ray.{key}", f"unknown key; use {', '.join(sorted(RAY_KEYS))}")
    enabled = value.get("enabled")
    if enabled == "auto":
        enabled = None
    if enabled is not None and not isinstance(enabled, bool):
        raise doc.fail("ray.enabled", f"expected true, false or auto, got {enabled!r}")
    parallelism = (
        None if value.get("parallelism") is None else _positive_int(doc, value, "parallelism", 1, "ray.")
    )
    return RaySettings(enabled, parallelism, _positive_int(doc, value, "batch_size", 16, "ray."))


PATH_KEYS = frozenset({"corpus", "topics", "qrels", "output", "index", "model", "checkpoint", "cache"})


def public_config(raw: Any) -> Any:
    """The config as stored with the run: every path-valued option by its file name only, so no
    local path reaches a page or the API."""
    if isinstance(raw, dict):
        return {k: _public_value(k, v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [public_config(v) for v in raw]
    return raw


def _public_value(key: str, value: Any) -> Any:
    if key in PATH_KEYS and isinstance(value, str) and ("/" in value or "\\" in value):
        return Path(value.replace("\\", "/")).name
    return public_config(value)
