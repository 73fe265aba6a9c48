"""Suite files: a suite's benchmarks, measures and aggregation, and its reproduction conditions.

One YAML file per suite (paths relative to the file; ``workdir`` is where prepared files, indexes
and runs go, default ``RAGBENCH_HOME/suites/SLUG``)::

    suite: classic                        # the slug
    title: Classic test collections
    measures: [nDCG@10, R@100]            # the default
    aggregation: {reference: bm25, missing: exclude, posthoc: nemenyi, alpha: 0.05}
    tolerance: 0.0001                     # default tolerance of every expected score
    benchmarks:
      cacm:                               # files as they are (JSONL corpus, SGML topics, TREC qrels)
        corpus: ../shared/data/cacm/cacm.jsonl
        topics: ../shared/data/cacm/topics.cacm.txt
        qrels: ../shared/data/cacm/qrels.cacm.txt
      cranfield:                          # the SMART originals
        corpus: {path: ../shared/data/cranfield/cran.all.1400, format: smart}
        topics: {path: ../shared/data/cranfield/cran.qry, format: smart, query_ids: sequential}
        qrels: {path: ../shared/data/cranfield/cranqrel, format: smart, grades: cranfield}
      vaswani: {ir_datasets: vaswani}     # from ir_datasets' local cache
      robust04: {}                        # registered already
      cqa-android: {group: cqadupstack}   # a group is averaged first
    conditions:
      bm25:                               # the system name runs are stored under
        description: Lucene BM25
        pipeline:                         # a pipeline config, less what the suite sets (name, corpus ...)
          depth: 100
          retrievers: [{type: bm25, index: "indexes/{benchmark}-bm25"}]
        # or: config: bm25.yaml (a pipeline config file; the suite sets those keys)
        expected:
          cacm: {nDCG@10: 0.4519, R@100: {score: 0.7012, tolerance: 0.001}}

Every error names the file, the line and the key (``suite.yaml:23: conditions.bm25.expected.trec:
unknown benchmark``), through :class:`~ragbench.formats.located_yaml.LocatedYaml`, the reader the
pipeline configs use; a condition's pipeline is checked by the pipeline config reader itself.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragbench.errors import InputError, MeasureError
from ragbench.formats.located_yaml import LocatedYaml

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")
TOP_KEYS = frozenset(
    {
        "suite",
        "title",
        "description",
        "measures",
        "aggregation",
        "tolerance",
        "workdir",
        "benchmarks",
        "conditions",
    }
)
BENCHMARK_KEYS = frozenset(
    {"title", "description", "corpus", "topics", "qrels", "ir_datasets", "group", "hidden"}
)
CONDITION_KEYS = frozenset({"description", "pipeline", "config", "expected", "tolerance"})
SUITE_OWNED = frozenset({"name", "benchmark", "corpus", "topics", "qrels", "measures", "output"})
"""Pipeline keys a suite sets for each (condition, benchmark): a condition may not."""
FILE_FORMATS: dict[str, dict[str, frozenset[str]]] = {
    "corpus": {"jsonl": frozenset(), "smart": frozenset({"fields"})},
    "topics": {
        "auto": frozenset(),
        "trec": frozenset(),
        "sgml": frozenset(),
        "tsv": frozenset(),
        "jsonl": frozenset(),
        "smart": frozenset({"query_ids", "fields"}),
    },
    "qrels": {"trec": frozenset(), "smart": frozenset({"grades", "query_ids"})},
}
"""Each file of a benchmark: format -> its options (besides ``path`` and ``format``)."""
DEFAULT_TOLERANCE = 1e-4


@dataclass(frozen=True)
class FileSpec:
    """One file of a benchmark: its path (absolute), format and reader options."""

    path: str
    format: str
    options: dict[str, Any] = field(default_factory=dict)
    where: str = ""


@dataclass(frozen=True)
class BenchmarkSpec:
    """A benchmark of the suite: its files (None: registered already), or an ir_datasets id."""

    slug: str
    title: str = ""
    description: str = ""
    corpus: FileSpec | None = None
    topics: FileSpec | None = None
    qrels: FileSpec | None = None
    ir_datasets: str | None = None
    group: str | None = None
    hidden: bool = False
    where: str = ""


@dataclass(frozen=True)
class Expected:
    """An expected score and its tolerance (absolute)."""

    score: float
    tolerance: float
    where: str = ""


@dataclass(frozen=True)
class ConditionSpec:
    """A condition: a pipeline (raw mapping and where it is) and its expected scores."""

    name: str
    description: str
    pipeline: dict[str, Any]
    doc: LocatedYaml
    expected: dict[str, dict[str, Expected]]
    where: str = ""


@dataclass(frozen=True)
class SuiteSpec:
    """A checked suite file."""

    path: str
    slug: str
    title: str
    description: str
    measures: tuple[str, ...]
    aggregation: dict[str, Any]
    tolerance: float
    workdir: str
    benchmarks: tuple[BenchmarkSpec, ...]
    conditions: tuple[ConditionSpec, ...]
    doc: LocatedYaml

    @property
    def groups(self) -> dict[str, list[str]]:
        """``{group: [benchmark, ...]}``."""
        groups: dict[str, list[str]] = {}
        for b in self.benchmarks:
            if b.group is not None:
                groups.setdefault(b.group, []).append(b.slug)
        return groups

    def benchmark(self, slug: str) -> BenchmarkSpec:
        """The benchmark called ``slug``."""
        return next(b for b in self.benchmarks if b.slug == slug)


def load_suite(path: str | os.PathLike[str], *, workdir: str | os.PathLike[str] | None = None) -> SuiteSpec:
    """Read and check a suite file (see the module docstring).

    Args:
        path: The YAML file.
        workdir: Overrides the file's ``workdir`` (default ``RAGBENCH_HOME/suites/SLUG``).

    Raises:
        InputError: naming the file, line and key of the first problem: an unknown key, a bad slug
            or name, a missing file, an unknown format or option, a measure named twice (or under
            two spellings), an expected score for an unknown benchmark or for a measure the suite
            does not have, a condition that sets what the suite sets, bad aggregation settings.
    """
    from ragbench.settings import get_settings
    from ragbench.stats import aggregation_problem

    source = Path(path)
    doc = LocatedYaml(source, "suite file")
    data = doc.data
    if not isinstance(data, dict):
        raise doc.fail("", "a suite file is a YAML mapping (suite:, benchmarks:, conditions:, ...)")
    for key in data:
        if key not in TOP_KEYS:
            raise doc.fail(str(key), f"unknown key; known keys: {', '.join(sorted(TOP_KEYS))}")
    base = source.resolve().parent
    slug = data.get("suite")
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise doc.fail("suite", f"{slug!r}: the suite's slug, 1-100 characters a-z 0-9 . _ -")
    measures = _measures(doc, data.get("measures"))
    aggregation = data.get("aggregation") or {}
    if not isinstance(aggregation, dict):
        raise doc.fail("aggregation", "expected a mapping {reference: ..., missing: ..., posthoc: ...}")
    problem = aggregation_problem(aggregation)
    if problem is not None:
        raise doc.fail(f"aggregation.{problem[0]}", problem[1])
    tolerance = _tolerance(doc, "tolerance", data.get("tolerance", DEFAULT_TOLERANCE))
    raw_benchmarks = data.get("benchmarks")
    if not isinstance(raw_benchmarks, dict) or not raw_benchmarks:
        raise doc.fail(
            "benchmarks", "give a mapping of one or more benchmarks (slug: {corpus:, topics:, qrels:})"
        )
    benchmarks = tuple(_benchmark(doc, str(k), v, base) for k, v in raw_benchmarks.items())
    slugs = {b.slug for b in benchmarks}
    for b in benchmarks:
        if b.group is not None and b.group in slugs:
            raise doc.fail(f"benchmarks.{b.slug}.group", f"{b.group!r} is also a benchmark's slug")
    raw_conditions = data.get("conditions") or {}
    if not isinstance(raw_conditions, dict):
        raise doc.fail(
            "conditions", "expected a mapping of conditions (name: {pipeline: ..., expected: ...})"
        )
    conditions = tuple(
        _condition(doc, str(k), v, base, slugs, measures, tolerance) for k, v in raw_conditions.items()
    )
    if workdir is not None:
        folder = Path(workdir).expanduser().resolve()
    elif data.get("workdir") is not None:
        if not isinstance(data["workdir"], str) or not data["workdir"].strip():
            raise doc.fail("workdir", "expected a folder")
        folder = (base / os.path.expanduser(data["workdir"])).resolve()
    else:
        folder = get_settings().home / "suites" / slug
    return SuiteSpec(
        path=str(source.resolve()),
        slug=slug,
        title=_text(doc, data, "title"),
        description=_text(doc, data, "description"),
        measures=measures,
        aggregation=dict(aggregation),
        tolerance=tolerance,
        workdir=str(folder),
        benchmarks=benchmarks,
        conditions=conditions,
        doc=doc,
    )


def _text(doc: LocatedYaml, data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise doc.fail(key, f"expected text, got {value!r}")
    return value


def _measures(doc: LocatedYaml, value: Any) -> tuple[str, ...]:
    from ragbench.evaluation.registry import canonical, canonical_measures

    if value is None:
        value = ["nDCG@10", "R@100"]
    if not isinstance(value, list) or not value or not all(isinstance(m, str) and m for m in value):
        raise doc.fail("measures", "expected a list of measure names (nDCG@10, R@100, ...)")
    seen: dict[str, int] = {}
    for i, name in enumerate(value):
        try:
            key = canonical(name, "adhoc")
        except MeasureError as exc:
            raise doc.fail(f"measures[{i}]", str(exc)) from None
        if key in seen:
            raise doc.fail(
                f"measures[{i}]",
                f"{name!r} is the same measure as {value[seen[key]]!r} ({key}): conflicting measures",
            )
        seen[key] = i
    try:
        return tuple(canonical_measures(value, "adhoc"))
    except MeasureError as exc:
        raise doc.fail("measures", str(exc)) from None


def _tolerance(doc: LocatedYaml, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise doc.fail(key, f"expected a number >= 0, got {value!r}")
    return float(value)


def _file(doc: LocatedYaml, key: str, value: Any, base: Path, kind: str) -> FileSpec:
    formats = FILE_FORMATS[kind]
    default = next(iter(formats))
    if isinstance(value, str):
        value = {"path": value}
    if not isinstance(value, dict) or not isinstance(value.get("path"), str) or not value["path"]:
        raise doc.fail(key, f"expected a path, or a mapping {{path: ..., format: {'|'.join(formats)}}}")
    fmt = value.get("format", default)
    if fmt not in formats:
        raise doc.fail(f"{key}.format", f"{fmt!r}: a {kind} file is one of {', '.join(formats)}")
    options = {k: v for k, v in value.items() if k not in ("path", "format")}
    for option in options:
        if option not in formats[fmt]:
            allowed = ", ".join(sorted(formats[fmt])) or "none"
            raise doc.fail(f"{key}.{option}", f"unknown option for a {fmt} {kind} file (options: {allowed})")
    # absolute and without "..", but through symlinks as written: the path the user gave is the one shown
    resolved = Path(os.path.normpath(base / os.path.expanduser(value["path"])))
    if not resolved.is_file():
        raise doc.fail(f"{key}.path" if key + ".path" in doc.lines else key, f"no such file: {resolved}")
    _check_options(doc, key, options)
    return FileSpec(str(resolved), str(fmt), options, doc.where(key))


def _check_options(doc: LocatedYaml, key: str, options: dict[str, Any]) -> None:
    from ragbench.formats.smart import QUERY_IDS, grade_map

    if "query_ids" in options and options["query_ids"] not in QUERY_IDS:
        raise doc.fail(f"{key}.query_ids", f"{options['query_ids']!r}: use {', '.join(QUERY_IDS)}")
    if "grades" in options:
        grades = options["grades"]
        if isinstance(grades, dict):
            if not all(isinstance(k, int) and isinstance(v, int) for k, v in grades.items()):
                raise doc.fail(f"{key}.grades", "a mapping of whole numbers, e.g. {1: 4, 2: 3, -1: 0}")
        elif not isinstance(grades, str):
            raise doc.fail(f"{key}.grades", "a name (cranfield), a mapping {1: 4, ...} or '1:4,2:3'")
        else:
            try:
                grade_map(grades)
            except InputError as exc:
                raise doc.fail(f"{key}.grades", str(exc)) from None
    fields = options.get("fields")
    if fields is not None and (not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)):
        raise doc.fail(f"{key}.fields", "a list of field letters, e.g. [T, W]")


def _benchmark(doc: LocatedYaml, slug: str, value: Any, base: Path) -> BenchmarkSpec:
    key = f"benchmarks.{slug}"
    if not SLUG.match(slug):
        raise doc.fail(key, f"{slug!r}: a benchmark slug is 1-100 characters a-z 0-9 . _ -")
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise doc.fail(key, "expected a mapping ({} for a benchmark registered already)")
    for k in value:
        if k not in BENCHMARK_KEYS:
            raise doc.fail(f"{key}.{k}", f"unknown key; use {', '.join(sorted(BENCHMARK_KEYS))}")
    files = {kind: value.get(kind) for kind in ("corpus", "topics", "qrels")}
    irds = value.get("ir_datasets")
    if irds is not None:
        if not isinstance(irds, str) or not irds.strip():
            raise doc.fail(f"{key}.ir_datasets", "an ir_datasets id, e.g. cranfield or vaswani")
        given = [k for k, v in files.items() if v is not None]
        if given:
            raise doc.fail(f"{key}.{given[0]}", "give files or an ir_datasets id, not both")
    elif any(v is not None for v in files.values()) and (files["topics"] is None or files["qrels"] is None):
        missing = "topics" if files["topics"] is None else "qrels"
        raise doc.fail(key, f"a benchmark registered from files needs {missing}:")
    group = value.get("group")
    if group is not None and (not isinstance(group, str) or not NAME.match(group)):
        raise doc.fail(f"{key}.group", f"{group!r}: a group name is 1-100 characters A-Z a-z 0-9 . _ + -")
    hidden = value.get("hidden", False)
    if not isinstance(hidden, bool):
        raise doc.fail(f"{key}.hidden", f"expected true or false, got {hidden!r}")
    parsed = {
        kind: None if v is None else _file(doc, f"{key}.{kind}", v, base, kind) for kind, v in files.items()
    }
    return BenchmarkSpec(
        slug=slug,
        title=_text(doc, value, "title") if "title" in value else "",
        description=_text(doc, value, "description") if "description" in value else "",
        corpus=parsed["corpus"],
        topics=parsed["topics"],
        qrels=parsed["qrels"],
        ir_datasets=irds,
        group=group,
        hidden=hidden,
        where=doc.where(key),
    )


def _condition(
    doc: LocatedYaml,
    name: str,
    value: Any,
    base: Path,
    benchmarks: set[str],
    measures: tuple[str, ...],
    tolerance: float,
) -> ConditionSpec:
    from ragbench.evaluation.registry import canonical

    key = f"conditions.{name}"
    if not NAME.match(name):
        raise doc.fail(key, f"{name!r}: a condition is a system name, 1-100 characters A-Z a-z 0-9 . _ + -")
    if not isinstance(value, dict):
        raise doc.fail(key, "expected a mapping {pipeline: ..., expected: ...}")
    for k in value:
        if k not in CONDITION_KEYS:
            raise doc.fail(f"{key}.{k}", f"unknown key; use {', '.join(sorted(CONDITION_KEYS))}")
    if ("pipeline" in value) == ("config" in value):
        raise doc.fail(
            key, "give the pipeline inline (pipeline: {...}) or as a file (config: FILE), one of them"
        )
    if "config" in value:
        config = value["config"]
        if not isinstance(config, str) or not config:
            raise doc.fail(f"{key}.config", "expected the path of a pipeline config")
        resolved = (base / os.path.expanduser(config)).resolve()
        if not resolved.is_file():
            raise doc.fail(f"{key}.config", f"no such file: {resolved}")
        pipeline_doc = LocatedYaml(resolved, "pipeline config")
        pipeline = pipeline_doc.data
    else:
        pipeline_doc = doc.scope(f"{key}.pipeline")
        pipeline = value["pipeline"]
    if not isinstance(pipeline, dict):
        raise pipeline_doc.fail("", "a pipeline config is a YAML mapping (retrievers:, fusion:, ...)")
    for k in pipeline:
        if k in SUITE_OWNED:
            raise pipeline_doc.fail(
                str(k), "the suite sets this for each benchmark; leave it out of the condition"
            )
    pipeline_doc.data = pipeline
    own = _tolerance(doc, f"{key}.tolerance", value.get("tolerance", tolerance))
    expected: dict[str, dict[str, Expected]] = {}
    raw = value.get("expected") or {}
    if not isinstance(raw, dict):
        raise doc.fail(f"{key}.expected", "expected a mapping {benchmark: {measure: score}}")
    for bench, scores in raw.items():
        bkey = f"{key}.expected.{bench}"
        if bench not in benchmarks:
            raise doc.fail(
                bkey, f"unknown benchmark {bench!r}; the suite has {', '.join(sorted(benchmarks))}"
            )
        if not isinstance(scores, dict):
            raise doc.fail(bkey, "expected a mapping {measure: score}")
        for measure, item in scores.items():
            mkey = f"{bkey}.{measure}"
            try:
                canon = canonical(str(measure), "adhoc")
            except MeasureError as exc:
                raise doc.fail(mkey, str(exc)) from None
            if canon not in measures:
                raise doc.fail(
                    mkey,
                    f"{measure} is not a measure of the suite ({', '.join(measures)}): conflicting measures",
                )
            if canon in expected.get(str(bench), {}):
                raise doc.fail(mkey, f"a second expected score for {canon}")
            expected.setdefault(str(bench), {})[canon] = _expected(doc, mkey, item, own)
    return ConditionSpec(
        name=name,
        description=_text(doc, value, "description"),
        pipeline=pipeline,
        doc=pipeline_doc,
        expected=expected,
        where=doc.where(key),
    )


def _expected(doc: LocatedYaml, key: str, item: Any, tolerance: float) -> Expected:
    if isinstance(item, dict):
        unknown = set(item) - {"score", "tolerance"}
        if unknown:
            raise doc.fail(f"{key}.{sorted(unknown)[0]}", "unknown key; use score, tolerance")
        score = item.get("score")
        tolerance = _tolerance(doc, f"{key}.tolerance", item.get("tolerance", tolerance))
    else:
        score = item
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise doc.fail(key, f"expected a score (a number), got {score!r}")
    return Expected(float(score), tolerance, doc.where(key))
