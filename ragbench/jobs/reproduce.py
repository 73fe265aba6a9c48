"""``ragbench reproduce SUITE.yaml``: every condition of a suite run on every benchmark, scored, checked.

1. :func:`prepare_benchmarks` reads each benchmark's files as they are (SMART originals are
   converted into a JSONL corpus, JSONL topics and TREC qrels under ``WORKDIR/data/SLUG``, written
   only when their bytes change, so indexes built from them stay valid) or exports it from
   ir_datasets' local cache, and records the provenance (source files and sha256, grade mapping,
   query numbering, ir_datasets id and version).
2. :func:`pipeline_configs` turns each (condition, benchmark) into a pipeline config, checked by the
   pipeline config reader before anything runs (errors name the suite file, line and key).
3. :func:`register` registers the benchmarks that are new, with their provenance, and the suite.
4. :func:`reproduce` runs the pipelines (Ray by default), stores each run under the condition's
   system name, scores it, and compares each score with the expected one: a
   :class:`~ragbench.jobs.matrix.Matrix` of green, red and unchecked cells.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragbench.errors import InputError
from ragbench.formats.lines import write_if_changed
from ragbench.jobs.config import PipelineConfig, pipeline_from_yaml
from ragbench.jobs.matrix import Matrix, MatrixCell
from ragbench.jobs.suite_config import BenchmarkSpec, FileSpec, SuiteSpec

Progress = Callable[[str, int, int], None]


@dataclass
class PreparedBenchmark:
    """A benchmark's files in the forms the pipelines read, and where they came from."""

    slug: str
    corpus: str | None
    topics: str
    qrels: str
    provenance: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _sha256(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _source(spec: FileSpec) -> dict[str, Any]:
    return {"path": spec.path, "sha256": _sha256(spec.path), "format": spec.format, **spec.options}


def _prepare_files(bench: BenchmarkSpec, folder: Path) -> PreparedBenchmark:
    from ragbench.formats.smart import (
        check_smart,
        qrels_to_trec,
        read_smart,
        read_smart_qrels,
        read_smart_topics,
        smart_corpus_jsonl,
        topics_to_jsonl,
    )
    from ragbench.formats.topics import read_topics
    from ragbench.formats.trec import read_qrels

    assert bench.topics is not None and bench.qrels is not None
    provenance: dict[str, Any] = {"format": "files"}
    warnings: list[str] = []
    corpus = None
    if bench.corpus is not None:
        provenance["corpus"] = _source(bench.corpus)
        if bench.corpus.format == "smart":
            fields = bench.corpus.options.get("fields", ["T", "W"])
            warnings += [p.render() for p in check_smart(bench.corpus.path) if p.severity == "warning"]
            data, skipped = smart_corpus_jsonl(read_smart(bench.corpus.path), fields)
            if skipped:
                note = (
                    f"{len(skipped)} document(s) without text in {', '.join(fields)} left out: "
                    + ", ".join(skipped)
                )
                provenance["corpus"]["left_out"] = skipped
                warnings.append(f"{bench.corpus.path}: {note}")
            corpus = write_if_changed(folder / "corpus.jsonl", data)
        else:
            corpus = bench.corpus.path
    provenance["topics"] = _source(bench.topics)
    if bench.topics.format == "smart":
        topics_list = read_smart_topics(
            bench.topics.path,
            query_ids=bench.topics.options.get("query_ids", "as-written"),
            fields=bench.topics.options.get("fields", ["W"]),
        )
        topics = write_if_changed(folder / "topics.jsonl", topics_to_jsonl(topics_list))
    else:
        read_topics(bench.topics.path, format=bench.topics.format)  # type: ignore[arg-type]
        topics = bench.topics.path
    provenance["qrels"] = _source(bench.qrels)
    if bench.qrels.format == "smart":
        judgments = read_smart_qrels(
            bench.qrels.path,
            grades=bench.qrels.options.get("grades"),
            query_ids=bench.qrels.options.get("query_ids", "as-written"),
        )
        qrels = write_if_changed(folder / "qrels.txt", qrels_to_trec(judgments))
        if bench.qrels.options.get("grades") is not None:
            from ragbench.formats.smart import grade_map

            mapping = grade_map(bench.qrels.options["grades"]) or {}
            provenance["qrels"]["grade_mapping"] = {str(k): v for k, v in sorted(mapping.items())}
    else:
        read_qrels(bench.qrels.path)
        qrels = bench.qrels.path
    return PreparedBenchmark(bench.slug, corpus, topics, qrels, provenance, warnings)


def prepare_benchmarks(spec: SuiteSpec, slugs: Sequence[str] | None = None) -> dict[str, PreparedBenchmark]:
    """Read (and where needed convert) the files of the suite's benchmarks that have files.

    Benchmarks given as ``{}`` (registered already) are left out; their files come from the store.

    Raises:
        FormatError: a file is malformed (every problem with file and line).
        InputError: an ir_datasets benchmark that is not in ir_datasets' local cache.
        MissingExtraError: ir_datasets is not installed.
    """
    prepared: dict[str, PreparedBenchmark] = {}
    for bench in spec.benchmarks:
        if slugs is not None and bench.slug not in slugs:
            continue
        folder = Path(spec.workdir) / "data" / bench.slug
        if bench.ir_datasets is not None:
            from ragbench.formats.irds import export_dataset

            corpus, topics, qrels, provenance = export_dataset(bench.ir_datasets, folder)
            prepared[bench.slug] = PreparedBenchmark(bench.slug, corpus, topics, qrels, provenance)
        elif bench.topics is not None:
            prepared[bench.slug] = _prepare_files(bench, folder)
    return prepared


def _with_benchmark(value: Any, slug: str) -> Any:
    """``value`` with ``{benchmark}`` replaced by ``slug`` in every string (stage options)."""
    if isinstance(value, str):
        return value.replace("{benchmark}", slug)
    if isinstance(value, list):
        return [_with_benchmark(v, slug) for v in value]
    if isinstance(value, dict):
        return {k: _with_benchmark(v, slug) for k, v in value.items()}
    return value


def pipeline_configs(
    spec: SuiteSpec,
    prepared: Mapping[str, PreparedBenchmark],
    conditions: Sequence[str],
    benchmarks: Sequence[str],
) -> dict[tuple[str, str], PipelineConfig]:
    """The pipeline config of every (condition, benchmark), checked by the pipeline config reader.

    Raises:
        InputError: naming the suite file (or the condition's config file), line and key: a stage
            whose ``index`` does not contain ``{benchmark}``, or anything the pipeline reader refuses.
    """
    workdir = Path(spec.workdir)
    configs: dict[tuple[str, str], PipelineConfig] = {}
    for condition in spec.conditions:
        if condition.name not in conditions:
            continue
        for kind in ("retrievers", "reranker", "rewriter"):
            stages = condition.pipeline.get(kind)
            for i, stage in enumerate(stages if isinstance(stages, list) else [stages]):
                key = f"{kind}[{i}]" if isinstance(stages, list) else kind
                if (
                    isinstance(stage, dict)
                    and isinstance(stage.get("index"), str)
                    and "{benchmark}" not in stage["index"]
                ):
                    raise condition.doc.fail(
                        f"{key}.index", "must contain {benchmark}: each benchmark needs an index of its own"
                    )
        for slug in benchmarks:
            files = prepared.get(slug)
            if files is None:
                raise InputError(
                    f"{spec.benchmark(slug).where}: reproducing needs the benchmark's files "
                    "(corpus, topics, qrels) or an ir_datasets id"
                )
            fixed: dict[str, Any] = {
                "name": condition.name,
                "benchmark": slug,
                "topics": files.topics,
                "qrels": files.qrels,
                "measures": list(spec.measures),
                "output": str(workdir / "runs" / condition.name / f"{slug}.run"),
            }
            if condition.description:
                fixed["description"] = condition.description
            if files.corpus is not None:
                fixed["corpus"] = files.corpus
            data = _with_benchmark(condition.pipeline, slug)
            configs[condition.name, slug] = pipeline_from_yaml(
                condition.doc, data, base=workdir, path=Path(spec.path), fixed=fixed
            )
    return configs


def select(spec: SuiteSpec, only: Sequence[str]) -> tuple[list[str], list[str]]:
    """The conditions and benchmarks ``--only`` keeps (names of either; none named: all of them).

    Raises:
        InputError: a name that is neither a condition nor a benchmark of the suite.
    """
    conditions = [c.name for c in spec.conditions]
    benchmarks = [b.slug for b in spec.benchmarks]
    unknown = [n for n in only if n not in conditions and n not in benchmarks]
    if unknown:
        raise InputError(
            f"--only {unknown[0]}: not a condition ({', '.join(conditions) or 'none'}) "
            f"nor a benchmark ({', '.join(benchmarks)}) of {spec.path}"
        )
    chosen_c = [c for c in conditions if c in only] or conditions
    chosen_b = [b for b in benchmarks if b in only] or benchmarks
    return chosen_c, chosen_b


def register(spec: SuiteSpec, prepared: Mapping[str, PreparedBenchmark]) -> list[str]:
    """Register the suite's new benchmarks (with their provenance) and the suite itself, as the
    local admin, in the database of the settings; returns what was done, one line each.

    Raises:
        InputError: a registered benchmark not scored on the suite's measures; a registered suite
            with other benchmarks; a benchmark given as ``{}`` that is not registered.
    """
    from ragbench.errors import NotFoundError
    from ragbench.settings import get_settings
    from ragbench.store import service
    from ragbench.store.db import database_errors, open_database

    done = []
    engine, factory = open_database()
    try:
        with database_errors(get_settings().database_url), factory() as s, s.begin():
            admin = service.local_admin(s)
            for bench in spec.benchmarks:
                try:
                    existing = service.get_benchmark(s, bench.slug, admin)
                except NotFoundError:
                    files = prepared.get(bench.slug)
                    if files is None:
                        raise InputError(
                            f"{bench.where}: benchmark {bench.slug!r} is not registered: give its files "
                            "(corpus, topics, qrels) or an ir_datasets id"
                        ) from None
                    service.create_benchmark(
                        s,
                        admin,
                        bench.slug,
                        title=bench.title or bench.slug,
                        description=bench.description,
                        topics_text=Path(files.topics).read_text(encoding="utf-8"),
                        qrels_text=Path(files.qrels).read_text(encoding="utf-8"),
                        corpus_ref=files.corpus,
                        hidden=bench.hidden,
                        measures=list(spec.measures),
                        provenance=files.provenance,
                    )
                    done.append(f"registered benchmark {bench.slug!r}")
                    continue
                lacking = [m for m in spec.measures if m not in existing.scored_measures]
                if lacking:
                    raise spec.doc.fail(
                        "measures",
                        f"benchmark {bench.slug!r} is registered with measures "
                        f"{', '.join(existing.scored_measures)}, not {', '.join(lacking)}: "
                        "conflicting measures",
                    )
            try:
                suite = service.get_suite(s, spec.slug)
            except NotFoundError:
                service.create_suite(
                    s,
                    admin,
                    spec.slug,
                    benchmarks=[b.slug for b in spec.benchmarks],
                    groups=spec.groups,
                    title=spec.title,
                    description=spec.description,
                    measures=list(spec.measures),
                    aggregation=spec.aggregation,
                )
                done.append(f"registered suite {spec.slug!r}")
            else:
                have = [m.benchmark.slug for m in suite.members]
                if have != [b.slug for b in spec.benchmarks]:
                    raise spec.doc.fail(
                        "benchmarks", f"suite {spec.slug!r} is registered with benchmarks {', '.join(have)}"
                    )
    finally:
        engine.dispose()
    return done


def reproduce(
    spec: SuiteSpec,
    *,
    only: Sequence[str] = (),
    use_ray: bool | None = None,
    store: bool = True,
    progress: Progress | None = None,
    expected: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
) -> Matrix:
    """Run, score and check the suite's conditions (see the module docstring).

    Args:
        spec: From :func:`~ragbench.jobs.suite_config.load_suite`.
        only: Condition or benchmark names to restrict to.
        use_ray: Run the stages on Ray (default: each condition's ``ray`` setting).
        store: Store the benchmarks, suite, runs and the matrix in the database of the settings.
        progress: ``(label, done, total)`` callback.
        expected: ``{condition: {benchmark: {measure: score}}}`` replacing the file's expected
            scores (each with the tolerance the file gives that cell, else its default).

    Raises:
        InputError: as :func:`select`, :func:`pipeline_configs` and :func:`register`.
        FormatError: a malformed benchmark file.
    """
    from ragbench.jobs.pipeline import run_pipeline

    conditions, benchmarks = select(spec, only)
    prepared = prepare_benchmarks(spec)
    if store:
        register(spec, prepared)
    configs = pipeline_configs(spec, prepared, conditions, benchmarks)
    cells: list[MatrixCell] = []
    for condition in spec.conditions:
        if condition.name not in conditions:
            continue
        for slug in benchmarks:
            config = configs[condition.name, slug]
            label = f"{condition.name} on {slug}"
            result = run_pipeline(config, use_ray=use_ray, store=store, progress=_prefixed(progress, label))
            run_id = result.run_id
            if store and run_id is None:
                run_id = _existing_run(slug, result.run_bytes)
            given = (expected or {}).get(condition.name, {}).get(slug, {})
            for measure in spec.measures:
                cell_spec = condition.expected.get(slug, {}).get(measure)
                tolerance = cell_spec.tolerance if cell_spec is not None else spec.tolerance
                value = given.get(measure, cell_spec.score if cell_spec is not None else None)
                cells.append(
                    MatrixCell.check(
                        condition.name, slug, measure, result.scores.get(measure), value, tolerance, run_id
                    )
                )
    matrix = Matrix(
        suite=spec.slug,
        title=spec.title,
        source=spec.path,
        conditions=tuple(conditions),
        benchmarks=tuple(benchmarks),
        measures=spec.measures,
        cells=tuple(cells),
        descriptions={c.name: c.description for c in spec.conditions if c.name in conditions},
    )
    if store:
        _store_matrix(spec, matrix)
    return matrix


def _prefixed(progress: Progress | None, label: str) -> Progress | None:
    if progress is None:
        return None
    report = progress
    return lambda text, done, total: report(f"{label}: {text}", done, total)


def _existing_run(benchmark: str, data: bytes) -> int | None:
    from ragbench.store import service
    from ragbench.store.db import open_database

    engine, factory = open_database()
    try:
        with factory() as s:
            return service.run_by_file(s, benchmark, hashlib.sha256(data).hexdigest())
    finally:
        engine.dispose()


def _store_matrix(spec: SuiteSpec, matrix: Matrix) -> None:
    from ragbench.store import service
    from ragbench.store.db import open_database

    engine, factory = open_database()
    try:
        with factory() as s, s.begin():
            service.add_reproduction(
                s,
                service.local_admin(s),
                spec.slug,
                cells=[c.to_dict() for c in matrix.cells],
                source=Path(spec.path).name,
                environment={"conditions": {c: matrix.descriptions.get(c, "") for c in matrix.conditions}},
            )
    finally:
        engine.dispose()


def expected_yaml(matrix: Matrix) -> str:
    """The observed scores as an expected-scores file (``{condition: {benchmark: {measure: score}}}``),
    every float written exactly (``repr``), so a rerun that reproduces them matches byte for byte."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for cell in matrix.cells:
        if cell.observed is not None:
            out.setdefault(cell.condition, {}).setdefault(cell.benchmark, {})[cell.measure] = cell.observed
    lines = []
    for condition, per in out.items():
        lines.append(f"{json.dumps(condition)}:")
        for bench, scores in per.items():
            lines.append(f"  {json.dumps(bench)}:")
            lines += [f"    {json.dumps(m)}: {v!r}" for m, v in scores.items()]
    return "\n".join(lines) + "\n"
