"""BM25 over a Lucene index built by Pyserini's Anserini, with RM3, sharded builds on Ray.

Layout of an index directory::

    INDEX/manifest.json   what was indexed and how (checked when a retriever opens it)
    INDEX/lucene/         the Lucene index (positions, document vectors and raw text stored)

A sharded build splits the corpus into contiguous slices, indexes each slice in its own Ray task
(a JVM per worker), then joins the shards segment by segment with Lucene's
``IndexWriter.addIndexes`` (no re-analysis, just a copy of the segment files). Searching the
joined index is searching one index: BM25 needs collection-wide document frequencies and the
average document length, and a search that scored each shard with its own statistics would not
give the single-index ranking. Searches fan out over query batches instead (see
:mod:`ragbench.jobs`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from indexers.jvm import anserini_version, jclass, pyserini_version
from ragbench.errors import InputError
from ragbench.formats.corpus import CorpusPath, corpus_hash, iter_corpus
from ragbench.jobs.ranking import Ranking, sort_hits

Stemmer = Literal["porter", "krovetz", "none"]
STEMMERS: tuple[str, ...] = ("porter", "krovetz", "none")
MANIFEST = "manifest.json"
LUCENE_DIR = "lucene"
Progress = Callable[[int, int], None]
CONTENTS_FIELD = "contents"
_WEIGHTED = re.compile(r"\A#weight\(\s*(.*?)\s*\)\Z", re.DOTALL)


def format_weighted(terms: Sequence[tuple[str, float]]) -> str:
    """A weighted term query as text: ``#weight( 0.25 comput 0.125 algorithm )``.

    The terms are index terms (already analysed: stemmed, lower-cased) and are searched as they
    are; each weight is written as the shortest decimal naming its float32 value, so the query
    Lucene runs from the text has exactly the boosts it was made from. Query rewriters (RM3) hand
    these to the ``bm25`` retriever.
    """
    weights = float32_decimals([weight for _, weight in terms])
    return "#weight( " + " ".join(f"{w!r} {t}" for (t, _), w in zip(terms, weights, strict=True)) + " )"


def parse_weighted(text: str) -> list[tuple[str, float]] | None:
    """The ``(term, weight)`` pairs of a :func:`format_weighted` query; None for any other text."""
    match = _WEIGHTED.match(text.strip())
    if match is None:
        return None
    parts = match.group(1).split()
    if len(parts) % 2:
        raise InputError(f"{text[:80]!r}: a #weight( ... ) query is weight-term pairs")
    pairs = []
    for weight, term in zip(parts[::2], parts[1::2], strict=True):
        try:
            value = float(weight)
        except ValueError:
            raise InputError(f"{text[:80]!r}: {weight!r} is not a weight") from None
        if not 0.0 <= value < float("inf"):
            raise InputError(f"{text[:80]!r}: weights must be finite and >= 0, got {weight}")
        pairs.append((term, value))
    return pairs


@dataclass(frozen=True)
class BM25Manifest:
    """What a BM25 index holds and how it was built; saved as ``manifest.json`` beside it."""

    kind: str
    corpus: str
    corpus_hash: str
    doc_count: int
    stemmer: str
    stopwords: bool
    shards: int
    unique_terms: int
    total_terms: int
    build_seconds: float
    created: str
    anserini: str
    pyserini: str

    def save(self, index_dir: Path) -> None:
        (index_dir / MANIFEST).write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, index_dir: str | os.PathLike[str]) -> BM25Manifest:
        path = Path(index_dir) / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(
                f"{path}: no BM25 index manifest here (build one with `ragbench index bm25`)"
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: unreadable index manifest: {exc}") from None
        if not isinstance(data, dict) or data.get("kind") != "bm25":
            raise InputError(f"{path}: not a BM25 index manifest")
        try:
            return cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except KeyError as exc:
            raise InputError(f"{path}: index manifest lacks {exc.args[0]!r}") from None

    def check_corpus(self, corpus: CorpusPath, index_dir: str | os.PathLike[str]) -> None:
        """Raise InputError when ``corpus`` is not the file this index was built from."""
        actual = corpus_hash(corpus)
        if actual != self.corpus_hash:
            raise InputError(
                f"{Path(index_dir) / MANIFEST}: built from a corpus with SHA-256 {self.corpus_hash[:12]}…, "
                f"but {corpus} has {actual[:12]}…: rebuild the index"
            )


@dataclass(frozen=True)
class RM3:
    """RM3 pseudo-relevance feedback (Anserini's defaults: 10 terms from the top 10 documents)."""

    fb_terms: int = 10
    fb_docs: int = 10
    original_weight: float = 0.5

    def __post_init__(self) -> None:
        if self.fb_terms < 1 or self.fb_docs < 1 or not 0.0 <= self.original_weight <= 1.0:
            raise InputError(
                f"RM3 needs fb_terms >= 1, fb_docs >= 1 and 0 <= original_weight <= 1, got {self}"
            )


def _analyzer_args(stemmer: str, stopwords: bool) -> list[str]:
    if stemmer not in STEMMERS:
        raise InputError(f"unknown stemmer {stemmer!r}: use one of {', '.join(STEMMERS)}")
    args = ["-stemmer", stemmer]
    if not stopwords:
        args.append("-keepStopwords")
    return args


def build_shard(input_dir: str, output_dir: str, stemmer: str, stopwords: bool, threads: int = 1) -> int:
    """Index every JSONL file of ``input_dir`` into a new Lucene index; returns the document count.

    Runs in whichever process calls it (a Ray task for sharded builds): the JVM is started here.
    """
    args = [
        "-collection", "JsonCollection",
        "-generator", "DefaultLuceneDocumentGenerator",
        "-input", input_dir,
        "-index", output_dir,
        "-threads", str(threads),
        "-storePositions", "-storeDocvectors", "-storeRaw",
        *_analyzer_args(stemmer, stopwords),
        "-quiet",
    ]  # fmt: skip
    jclass("io.anserini.index.IndexCollection").main(args)
    return _index_stats(output_dir)["documents"]


def _index_stats(lucene_dir: str) -> dict[str, int]:
    utils = jclass("io.anserini.index.IndexReaderUtils")
    reader = utils.getReader(lucene_dir)
    try:
        stats = utils.getIndexStats(reader)
        return {key: int(stats.get(key)) for key in ("documents", "unique_terms", "total_terms")}
    finally:
        reader.close()


def join_shards(shard_dirs: Sequence[str], output_dir: str) -> None:
    """Join Lucene indexes into one, in the order given, without re-analysing any document.

    The shards' segments are copied, then merged into one segment: the ranking would be the same
    without the merge (statistics are summed over segments at search time), but Lucene cannot
    count the distinct terms of a multi-segment index (the manifest's ``unique_terms``) without
    a full term scan, and one segment searches faster.
    """
    paths = jclass("java.nio.file.Paths")
    fs = jclass("org.apache.lucene.store.FSDirectory")
    config = jclass("org.apache.lucene.index.IndexWriterConfig")()
    writer = jclass("org.apache.lucene.index.IndexWriter")(fs.open(paths.get(output_dir)), config)
    try:
        writer.addIndexes(*[fs.open(paths.get(shard)) for shard in shard_dirs])
        writer.forceMerge(1)
        writer.commit()
    finally:
        writer.close()


def _split_corpus(
    corpus: CorpusPath, work: Path, shards: int, on_progress: Progress | None
) -> list[tuple[str, int]]:
    """Check the corpus (file and line in every error) and write ``shards`` contiguous JSONL slices.

    Documents go out as ``{"id", "contents"}``, the layout Anserini's JsonCollection reads, so BEIR
    corpora index the way :func:`ragbench.formats.corpus.iter_corpus` joins their titles and TREC
    SGML and TSV corpora index as Anserini's own readers would. The corpus is streamed (one
    document in memory at a time): one pass for one shard, two (count, then write) for more.
    """
    total = None
    if shards > 1:
        total = sum(1 for _ in iter_corpus(corpus))
        shards = max(1, min(shards, total))
    size = -(-total // shards) if total else 0
    dirs: list[tuple[str, int]] = []
    out = None
    try:
        for doc in iter_corpus(corpus):
            if out is None or (shards > 1 and dirs[-1][1] >= size):
                if out is not None:
                    out.close()
                shard_dir = work / f"input-{len(dirs):03d}"
                shard_dir.mkdir(parents=True)
                out = open(shard_dir / "docs.jsonl", "w", encoding="utf-8")  # noqa: SIM115 - closed below
                dirs.append((str(shard_dir), 0))
            out.write(json.dumps({"id": doc.doc_id, "contents": doc.contents}, ensure_ascii=False) + "\n")
            dirs[-1] = (dirs[-1][0], dirs[-1][1] + 1)
    finally:
        if out is not None:
            out.close()
    if not dirs:
        raise InputError(f"{corpus}: the corpus has no documents")
    if on_progress is not None:
        on_progress(0, sum(count for _, count in dirs))
    return dirs


def build_bm25_index(
    corpus: CorpusPath,
    index_dir: str | os.PathLike[str],
    *,
    stemmer: Stemmer = "porter",
    stopwords: bool = True,
    shards: int = 1,
    use_ray: bool = False,
    threads: int = 1,
    overwrite: bool = False,
    on_progress: Progress | None = None,
) -> BM25Manifest:
    """Build a Lucene index of a corpus for BM25 (and RM3) search.

    Args:
        corpus: the corpus: JSONL (``id``/``contents`` or BEIR), TREC SGML or ``id<TAB>text``,
            optionally gzipped (:mod:`ragbench.formats.corpus`; every error names the file and line).
        index_dir: where the index goes; must not exist unless ``overwrite``.
        stemmer: ``porter`` (Anserini's default), ``krovetz`` or ``none``.
        stopwords: drop Lucene's English stopwords (True, Anserini's default) or keep them.
        shards: how many slices to index separately (each a Ray task with ``use_ray``).
        use_ray: index the shards as Ray tasks (local Ray, or the cluster in ``RAY_ADDRESS``).
        threads: indexing threads per shard.
        on_progress: called as ``(documents indexed, total)``.
    """
    started = time.perf_counter()
    _analyzer_args(stemmer, stopwords)  # a bad option fails before any work
    target = Path(index_dir)
    if target.exists():
        if not overwrite:
            raise InputError(f"{target}: already exists (pass overwrite to replace it)")
        shutil.rmtree(target)
    digest = corpus_hash(corpus)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".bm25-build-", dir=target.parent))
    try:
        inputs = _split_corpus(corpus, work, shards, on_progress)
        outputs = [str(work / f"shard-{i:03d}") for i in range(len(inputs))]
        counts = _run_shards(inputs, outputs, stemmer, stopwords, threads, use_ray, on_progress)
        lucene = work / LUCENE_DIR
        if len(outputs) == 1:
            os.rename(outputs[0], lucene)
        else:
            join_shards(outputs, str(lucene))
        stats = _index_stats(str(lucene))
        if stats["documents"] != sum(counts):
            raise RuntimeError(f"joined index has {stats['documents']} documents, shards had {sum(counts)}")
        target.mkdir()
        os.rename(lucene, target / LUCENE_DIR)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    manifest = BM25Manifest(
        kind="bm25",
        corpus=str(corpus),
        corpus_hash=digest,
        doc_count=stats["documents"],
        stemmer=stemmer,
        stopwords=stopwords,
        shards=len(outputs),
        unique_terms=stats["unique_terms"],
        total_terms=stats["total_terms"],
        build_seconds=round(time.perf_counter() - started, 3),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        anserini=anserini_version(),
        pyserini=pyserini_version(),
    )
    manifest.save(target)
    return manifest


def _run_shards(
    inputs: list[tuple[str, int]],
    outputs: list[str],
    stemmer: str,
    stopwords: bool,
    threads: int,
    use_ray: bool,
    on_progress: Progress | None,
) -> list[int]:
    total, done = sum(size for _, size in inputs), 0
    if not use_ray:
        counts: list[int] = []
        for (source, size), dest in zip(inputs, outputs, strict=True):
            counts.append(build_shard(source, dest, stemmer, stopwords, threads))
            done += size
            if on_progress is not None:
                on_progress(done, total)
        return counts
    from ragbench.jobs.cluster import ensure_ray

    ray = ensure_ray()
    task = ray.remote(num_cpus=threads, max_retries=3)(build_shard)
    pending = {
        task.remote(source, dest, stemmer, stopwords, threads): size
        for (source, size), dest in zip(inputs, outputs, strict=True)
    }
    order = list(pending)
    while len(pending) > 0:
        ready, _ = ray.wait(list(pending), num_returns=1)
        done += pending.pop(ready[0])
        if on_progress is not None:
            on_progress(done, total)
    counts = ray.get(order)
    return counts


def float32_decimals(values: Sequence[float]) -> list[float]:
    """Lucene's float32 scores as the shortest decimals that name them (12.3456, not
    12.345600128173828): the same order, ties where Lucene has ties, readable run files."""
    import numpy as np

    return [float(text) for text in np.asarray(values, dtype=np.float32).astype(str)]


@dataclass
class BM25Retriever:
    """BM25 (optionally with RM3) over an index built by :func:`build_bm25_index`.

    The query analyzer is the one the index was built with (read from the manifest). Scores are
    Lucene's float32 BM25 scores; ties are ordered by doc id (Anserini does the same).
    """

    index_dir: str
    k1: float = 0.9
    b: float = 0.4
    rm3: RM3 | None = None
    corpus: str | None = None
    threads: int = 1
    name: str = "bm25"
    manifest: BM25Manifest = field(init=False)
    _searcher: Any = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        if self.k1 < 0 or not 0.0 <= self.b <= 1.0:
            raise InputError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={self.k1}, b={self.b}")
        self.manifest = BM25Manifest.load(self.index_dir)
        if self.corpus is not None:
            self.manifest.check_corpus(self.corpus, self.index_dir)

    def _open(self) -> Any:
        if self._searcher is None:
            analyzer = jclass("io.anserini.analysis.DefaultEnglishAnalyzer").fromArguments(
                self.manifest.stemmer, not self.manifest.stopwords, None
            )
            searcher = jclass("io.anserini.search.SimpleSearcher")(
                str(Path(self.index_dir) / LUCENE_DIR), analyzer
            )
            searcher.set_bm25(float(self.k1), float(self.b))
            if self.rm3 is not None:
                searcher.set_rm3(self.rm3.fb_terms, self.rm3.fb_docs, float(self.rm3.original_weight))
            self._searcher = searcher
        return self._searcher

    def search(self, queries: Mapping[str, str], k: int) -> Ranking:
        """Top ``k`` per query; a query whose every term is a stopword gets an empty list."""
        if not queries:
            return {}
        searcher = self._open()
        weighted = {q: terms for q, text in queries.items() if (terms := parse_weighted(text)) is not None}
        if weighted and self.rm3 is not None:
            raise InputError(
                f"{self.name}: weighted #weight( ... ) queries (from a query rewriter) cannot be expanded "
                "again by this retriever's rm3 option: drop one of the two"
            )
        array_list = jclass("java.util.ArrayList")
        texts, ids = array_list(), array_list()
        for query_id, text in queries.items():
            if query_id not in weighted:
                ids.add(query_id)
                texts.add(text)
        results = searcher.batch_search(texts, ids, int(k), int(self.threads)) if ids.size() else {}
        ranking: Ranking = {}
        for query_id in queries:
            if query_id in weighted:
                hits = list(searcher.search(self._weighted_query(weighted[query_id]), int(k)) or ())
            else:
                hits = list(results.get(query_id) or ())
            scores = float32_decimals([hit.score for hit in hits])
            ranking[query_id] = sort_hits(zip([hit.docid for hit in hits], scores, strict=True), k)
        return ranking

    @staticmethod
    def _weighted_query(terms: Sequence[tuple[str, float]]) -> Any:
        """The Lucene query RM3 itself runs: a disjunction of index terms, each boosted by its weight."""
        builder = jclass("org.apache.lucene.search.BooleanQuery$Builder")()
        boost = jclass("org.apache.lucene.search.BoostQuery")
        term_query = jclass("org.apache.lucene.search.TermQuery")
        term = jclass("org.apache.lucene.index.Term")
        should = jclass("org.apache.lucene.search.BooleanClause$Occur").SHOULD
        for text, weight in terms:
            builder.add(boost(term_query(term(CONTENTS_FIELD, text)), float(weight)), should)
        return builder.build()

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_searcher"] = None  # a JVM object cannot cross processes; reopened on first search
        return state
