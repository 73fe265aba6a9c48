"""BM25 on real Lucene indexes: the CACM regression against Anserini, analyzers, shards, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexers.bm25 import RM3, BM25Manifest, BM25Retriever, build_bm25_index
from ragbench.errors import FormatError, InputError
from ragbench.evaluation.engine import evaluate
from ragbench.formats.topics import read_topics
from ragbench.jobs.runfile import format_run


@pytest.fixture(scope="module")
def cacm_index(cacm_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("bm25") / "cacm"
    build_bm25_index(cacm_data / "cacm.jsonl", index)
    return index


@pytest.fixture(scope="module")
def cacm_topics(cacm_data: Path) -> dict[str, str]:
    return {t.query_id: t.title for t in read_topics(cacm_data / "topics.cacm.txt")}


def score(cacm_data: Path, ranking: dict, measures: list[str]) -> dict[str, float]:
    run = format_run(ranking, "test")
    return evaluate(cacm_data / "qrels.cacm.txt", run, measures, complete=True).aggregate


def test_cacm_bm25_matches_anserini(cacm_data: Path, cacm_index: Path, cacm_topics: dict) -> None:
    # Anserini's regression (SOURCE.txt): BM25 k1=0.9 b=0.4, Porter, English stopwords, all topics.
    ranking = BM25Retriever(str(cacm_index), k1=0.9, b=0.4).search(cacm_topics, 1000)
    assert len(ranking) == 64
    scores = score(cacm_data, ranking, ["AP", "P@30"])
    assert scores["AP"] == pytest.approx(0.3123, abs=0.01)
    assert scores["P@30"] == pytest.approx(0.1942, abs=0.01)


def test_cacm_bm25_rm3_matches_anserini(cacm_data: Path, cacm_index: Path, cacm_topics: dict) -> None:
    retriever = BM25Retriever(str(cacm_index), rm3=RM3(fb_terms=10, fb_docs=10, original_weight=0.5))
    scores = score(cacm_data, retriever.search(cacm_topics, 1000), ["AP"])
    assert scores["AP"] == pytest.approx(0.3643, abs=0.015)


def test_manifest_records_the_build(cacm_data: Path, cacm_index: Path) -> None:
    manifest = BM25Manifest.load(cacm_index)
    assert manifest.doc_count == 3204  # SOURCE.txt
    assert (manifest.stemmer, manifest.stopwords, manifest.shards) == ("porter", True, 1)
    assert manifest.anserini == "1.7.1"
    # Anserini indexes the HTML files (14,363 terms, 320,968 tokens); the JSONL text is close.
    assert manifest.unique_terms == pytest.approx(14363, rel=0.01)
    assert manifest.total_terms == pytest.approx(320968, rel=0.01)


def test_hits_are_sorted_and_scored_like_lucene(cacm_index: Path, cacm_topics: dict) -> None:
    ranking = BM25Retriever(str(cacm_index)).search({"1": cacm_topics["1"], "x": "the of and"}, 50)
    hits = ranking["1"]
    assert len(hits) == 50
    assert hits == sorted(hits, key=lambda h: (-h[1], h[0]))
    assert ranking["x"] == []  # every term is a stopword


def test_sharded_build_gives_the_same_ranking(
    cacm_data: Path, cacm_index: Path, tmp_path: Path, cacm_topics: dict
) -> None:
    sharded = tmp_path / "sharded"
    manifest = build_bm25_index(cacm_data / "cacm.jsonl", sharded, shards=3, use_ray=False)
    assert manifest.shards == 3
    assert manifest.doc_count == 3204
    single_manifest = BM25Manifest.load(cacm_index)
    assert (manifest.unique_terms, manifest.total_terms) == (
        single_manifest.unique_terms,
        single_manifest.total_terms,
    )
    single = BM25Retriever(str(cacm_index), rm3=RM3()).search(cacm_topics, 1000)
    joined = BM25Retriever(str(sharded), rm3=RM3()).search(cacm_topics, 1000)
    assert joined == single


def corpus(tmp_path: Path, lines: list[str], name: str = "c.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


DOCS = [
    json.dumps({"id": "d1", "contents": "The running dogs were running fast"}),
    json.dumps({"id": "d2", "contents": "A dog runs"}),
    json.dumps({"id": "d3", "contents": "Cats sleep all day"}),
    json.dumps({"id": "d4", "contents": "The universe is vast"}),
    json.dumps({"id": "d5", "contents": "University libraries"}),
]


@pytest.mark.parametrize(
    ("stemmer", "stopwords", "query", "expected"),
    [
        ("porter", True, "runs", {"d1", "d2"}),  # run <- running, runs
        ("none", True, "runs", {"d2"}),
        ("krovetz", True, "library", {"d5"}),  # libraries -> library
        ("none", True, "library", set()),
        ("porter", True, "university", {"d4", "d5"}),  # both -> univers
        ("krovetz", True, "university", {"d5"}),  # a dictionary stemmer keeps them apart
        ("porter", True, "the", set()),  # a stopword: nothing matches
        ("porter", False, "the", {"d1", "d4"}),  # kept
    ],
)
def test_analyzer_options(tmp_path: Path, stemmer: str, stopwords: bool, query: str, expected: set) -> None:
    index = tmp_path / "idx"
    build_bm25_index(corpus(tmp_path, DOCS), index, stemmer=stemmer, stopwords=stopwords)  # type: ignore[arg-type]
    hits = BM25Retriever(str(index)).search({"q": query}, 10)["q"]
    assert {doc for doc, _ in hits} == expected


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([DOCS[0], DOCS[0]], r"c\.jsonl:2:.*duplicate"),
        ([DOCS[0], json.dumps({"id": "d9", "contents": "  "})], r"c\.jsonl:2:.*empty"),
        ([DOCS[0], '{"id": "d2", "contents": "broken'], r"c\.jsonl:2:"),
    ],
)
def test_bad_corpus_names_file_and_line(tmp_path: Path, lines: list[str], message: str) -> None:
    with pytest.raises(FormatError, match=message) as caught:
        build_bm25_index(corpus(tmp_path, lines), tmp_path / "idx")
    assert "c.jsonl" in str(caught.value)
    assert not (tmp_path / "idx").exists()  # nothing half-built left behind


def test_non_utf8_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(DOCS[0].encode() + b"\n" + b'{"id": "d2", "contents": "caf\xe9"}\n')
    with pytest.raises(FormatError, match=r"c\.jsonl:2:.*UTF-8"):
        build_bm25_index(path, tmp_path / "idx")


def test_missing_corpus(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"absent\.jsonl"):
        build_bm25_index(tmp_path / "absent.jsonl", tmp_path / "idx")


def test_manifest_must_match_the_corpus(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    build_bm25_index(corpus(tmp_path, DOCS), index)
    other = corpus(tmp_path, DOCS[:2], "other.jsonl")
    with pytest.raises(InputError, match=r"idx/manifest\.json: built from a corpus .*/other\.jsonl has"):
        BM25Retriever(str(index), corpus=str(other))
    BM25Retriever(str(index), corpus=str(tmp_path / "c.jsonl"))  # the right one opens


def test_existing_index_is_not_replaced_silently(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    build_bm25_index(corpus(tmp_path, DOCS), index)
    with pytest.raises(InputError, match="already exists"):
        build_bm25_index(corpus(tmp_path, DOCS), index)
    assert build_bm25_index(corpus(tmp_path, DOCS[:2]), index, overwrite=True).doc_count == 2


def test_not_an_index(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"manifest\.json: no BM25 index manifest"):
        BM25Retriever(str(tmp_path))
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(InputError, match="unreadable index manifest"):
        BM25Retriever(str(tmp_path))


def test_bad_parameters(cacm_index: Path) -> None:
    with pytest.raises(InputError, match=r"b=1\.5"):
        BM25Retriever(str(cacm_index), b=1.5)
    with pytest.raises(InputError, match="fb_terms"):
        RM3(fb_terms=0)
    with pytest.raises(InputError, match="unknown stemmer"):
        build_bm25_index(cacm_index / "x", cacm_index / "y", stemmer="snowball")  # type: ignore[arg-type]


# -- TREC SGML: ragbench's streaming reader against Anserini's own TrecCollection ----------------

WORDS = [
    "retrieval",
    "evaluation",
    "index",
    "query",
    "document",
    "ranking",
    "lucene",
    "corpus",
    "topic",
    "judgment",
    "relevance",
    "precision",
    "recall",
    "computer",
    "algorithm",
    "system",
    "memory",
    "network",
    "language",
    "parser",
    "compiler",
    "storage",
]


def sgml_corpus(path: Path, documents: int = 150, seed: int = 7) -> None:
    """A TREC SGML corpus exercising what Anserini's TrecCollection does with each construct:
    kept fields (TEXT, HEADLINE, HEAD, DATE, LP, TITLE), dropped ones (DOCID, BYLINE, text after a
    closing tag on the same line, a <TEXT> with attributes), multi-line <DOCNO>, one-line and
    multi-line blocks, block and inline tags, known and unknown entities, comments, non-ASCII."""
    import random

    rng = random.Random(seed)

    def words(k: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(k))

    out = ["text before the first document is ignored"]
    for i in range(documents):
        out.append("<DOC>")
        out.append(f"<DOCNO>\n FT{i:04d}\n</DOCNO>" if i % 7 == 3 else f"<DOCNO> FT{i:04d} </DOCNO>")
        out.append(f"<DOCID>{rng.randint(1, 99999)}</DOCID>")
        if i % 3 == 0:
            out.append(f"<HEADLINE>\n{words(6)} &amp; {words(2)}\n</HEADLINE>")
        out.append(f"<BYLINE>By {words(2)}</BYLINE>")
        if i % 5 == 1:
            out.append("<DATE>910514</DATE>")
        if i % 9 == 4:
            out.append(f"<HEAD>{words(2)} &lt;b&gt; a&#233;b <!-- hidden {words(1)} --> {words(1)}</HEAD>")
        if i % 10 == 8:
            out.append(f"<LP>\n  {words(3)}<BR>{words(2)}\n</LP> trailing {words(1)}")
        if i % 11 == 6:
            out.append(f"<TEXT TYPE=x>{words(3)}</TEXT>")
        if i % 4 == 2:
            out.append(f"<TEXT>{words(8)} &hyph; caf\u00e9 {words(3)}</TEXT>")
        else:
            out.append("<TEXT>")
            for _ in range(rng.randint(1, 4)):
                out.append(f"<P>\n{words(rng.randint(3, 15))}\n</P>")
            out.append(f"{words(4)}<F P=102>x{words(1)}</F>{words(2)}")
            out.append("</TEXT>")
        if i % 6 == 5:
            out.append(f"<TITLE>{words(3)}</TITLE>")
        out.append("</DOC>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def test_trec_sgml_indexes_as_anserini_reads_it(tmp_path: Path) -> None:
    from indexers.bm25 import LUCENE_DIR
    from indexers.jvm import jclass
    from ragbench.formats.corpus import iter_corpus

    source = tmp_path / "sgml"
    source.mkdir()
    corpus_file = source / "corpus.trec"
    sgml_corpus(corpus_file)

    # 1. The documents: ragbench's streaming reader gives Anserini's ids and contents, in order.
    paths = jclass("java.nio.file.Paths")
    segment = jclass("io.anserini.collection.TrecCollection")(paths.get(str(source))).createFileSegment(
        paths.get(str(corpus_file))
    )
    theirs = []
    documents = segment.iterator()
    while documents.hasNext():
        doc = documents.next()
        theirs.append((doc.id(), doc.contents()))
    segment.close()
    assert len(theirs) == 150
    assert [(d.doc_id, d.contents) for d in iter_corpus(corpus_file)] == theirs

    # 2. The index: ragbench's (streamed, via its JSONL conversion) and Anserini's own build from
    # the SGML file with TrecCollection and the same analyzer hold the same statistics.
    mine = build_bm25_index(corpus_file, tmp_path / "ragbench")
    anserini = tmp_path / "anserini"
    anserini.mkdir()
    jclass("io.anserini.index.IndexCollection").main([
        "-collection", "TrecCollection", "-generator", "DefaultLuceneDocumentGenerator",
        "-input", str(source), "-index", str(anserini / LUCENE_DIR), "-threads", "1",
        "-storePositions", "-storeDocvectors", "-storeRaw", "-stemmer", "porter", "-quiet",
    ])  # fmt: skip
    utils = jclass("io.anserini.index.IndexReaderUtils")
    reader = utils.getReader(str(anserini / LUCENE_DIR))
    stats = utils.getIndexStats(reader)
    reader.close()
    assert [int(stats.get(k)) for k in ("documents", "unique_terms", "total_terms")] == [
        150, mine.unique_terms, mine.total_terms,
    ]  # fmt: skip
    assert mine.doc_count == 150

    # 3. The BM25 run over each index is the same file, byte for byte.
    (anserini / "manifest.json").write_text((tmp_path / "ragbench" / "manifest.json").read_text())
    queries = {str(q): " ".join(WORDS[q : q + 3]) for q in range(0, 20, 2)}
    runs = [
        format_run(BM25Retriever(str(index)).search(queries, 100), "bm25")
        for index in (tmp_path / "ragbench", anserini)
    ]
    assert runs[0] == runs[1]
    assert runs[0].count(b"\n") > 500
