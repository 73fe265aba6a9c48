"""The evaluation commands in process (Typer's CliRunner): what `validate` says about each file,
user text printed literally, the missing-topic policy of `compare`, and every measure the README
names either working or naming what to install."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support.paths import REPO
from typer.testing import CliRunner

from ragbench.cli import app

SGML = b"""<DOC>
<DOCNO> FT911-1 </DOCNO>
<HEADLINE>
Jubilee of a jet
</HEADLINE>
<TEXT>
<P>It did what it was designed to do.</P>
</TEXT>
</DOC>
<DOC>
<DOCNO> FT911-2 </DOCNO>
<TEXT>
Another document.
</TEXT>
</DOC>
"""
TOPICS = b"<top>\n<num> Number: 301\n<title> jet engines\n<desc> Description:\nJets.\n</top>\n"


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_validate_names_the_kind_format_and_contents_of_every_file(tmp_path: Path) -> None:
    import gzip

    files = [
        write(tmp_path, "collection.gz", gzip.compress(SGML)),
        write(tmp_path, "topics.txt", TOPICS),
        write(tmp_path, "qrels.txt", b"301 0 FT911-1 1\n301 0 FT911-2 0\n"),
        write(tmp_path, "beir.tsv", b"query-id\tcorpus-id\tscore\n301\tFT911-1\t1\n"),
        write(tmp_path, "passages.tsv", b"pid\tpassage\np1\tsome text\n"),
    ]
    code, out, err = invoke("validate", *files)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"{files[0]}: corpus (TREC SGML, gzip): 2 documents - OK",
        f"{files[1]}: topics (TREC topics): 1 topic - OK",
        f"{files[2]}: qrels (TREC qrels): 1 topic, 2 judgments - OK",
        f"{files[3]}: qrels (BEIR qrels TSV): 1 topic, 1 judgment - OK",
        f"{files[4]}: corpus (TSV with a header): 1 document - OK",
        "OK: 5 files, 0 errors, 0 warnings",
    ]


def test_validate_kind_lengths(tmp_path: Path) -> None:
    path = write(tmp_path, "l.txt", b"d1 120 3400\nd2 100 2000\n")
    code, out, _ = invoke("validate", "--kind", "lengths", path)
    assert code == 0
    assert f"{path}: lengths (doc_id snippet_chars doc_chars): 2 documents - OK" in out
    bad = write(tmp_path, "bad.txt", b"d1 120\n")
    code, out, err = invoke("validate", "--kind", "lengths", bad)
    assert code == 2
    assert f"{bad}:1: error: expected 3 fields (doc_id snippet_chars doc_chars), found 2" in err


def test_a_file_of_no_kind_says_what_it_looks_like(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.txt", b"some words here\n")
    code, out, err = invoke("validate", path)
    assert code == 2
    assert "has 3 whitespace-separated field(s); a run has 6" in err
    assert f"{path}: unknown kind - 1 error" in out


def test_validate_counts_every_problem_past_the_listed_ones(tmp_path: Path) -> None:
    # 150 bad qrels lines: the reader lists the first 50 and counts the other 100.
    path = write(tmp_path, "qrels.txt", b"".join(b"1 0 d%d x\n" % i for i in range(150)))
    code, out, err = invoke("validate", "--kind", "qrels", path)
    assert code == 2
    assert len([ln for ln in err.splitlines() if ": error: " in ln]) == 50
    assert "... and 100 more problems not listed" in err
    assert f"{path}: qrels (TREC qrels) - 150 errors" in out
    assert out.splitlines()[-1] == "FAILED: 1 file, 150 errors, 0 warnings"


def test_user_text_is_printed_literally(tmp_path: Path) -> None:
    # Line 100 must print as ":100:", not Rich's emoji for :100:; markup in a document id as written.
    rows = b"".join(b"1 0 d%d 1\n" % i for i in range(99)) + b"1 0 [bold]x[/bold] zz\n"
    path = write(tmp_path, "q:100:.txt", rows)
    code, _, err = invoke("validate", path)
    assert code == 2
    assert f"{path}:100:20: error: relevance 'zz' is not an integer" in err
    assert "\U0001f4af" not in err
    corpus = write(
        tmp_path,
        "c.jsonl",
        b'{"id": "[red]a[/red]", "contents": "x"}\n{"id": "[red]a[/red]", "contents": "y"}\n',
    )
    _, _, err = invoke("validate", corpus)
    assert "duplicate document id '[red]a[/red]'" in err


QRELS_3 = b"1 0 d1 1\n1 0 d2 0\n2 0 d3 1\n3 0 d5 1\n"
RUN_A = b"1 Q0 d1 1 2 a\n1 Q0 d2 2 1 a\n2 Q0 d3 1 2 a\n2 Q0 d4 2 1 a\n3 Q0 d5 1 2 a\n3 Q0 d6 2 1 a\n"
RUN_B = b"1 Q0 d2 1 2 b\n1 Q0 d1 2 1 b\n3 Q0 d6 1 2 b\n3 Q0 d5 2 1 b\n"  # lacks topic 2


@pytest.mark.parametrize(
    ("flags", "topics", "mean_b", "policy"),
    [
        # P@2 by hand: a scores 1/2 on each topic; b scores 1/2 on topics 1 and 3 and has no topic 2.
        ((), 2, 0.5, "topics: the 2 judged topics every compared run has results for"),
        (("-c",), 3, (0.5 + 0 + 0.5) / 3, "topics: all 3 judged topics; a topic a run lacks counts 0"),
    ],
)
def test_compare_honours_c(
    tmp_path: Path, flags: tuple[str, ...], topics: int, mean_b: float, policy: str
) -> None:
    qrels = write(tmp_path, "qrels.txt", QRELS_3)
    runs = write(tmp_path, "a.run", RUN_A), write(tmp_path, "b.run", RUN_B)
    code, out, _ = invoke("compare", qrels, *runs, "-m", "P@2", "-f", "json", "--trials", "100", *flags)
    assert code == 0
    report = json.loads(out)
    [row] = report["comparisons"]
    assert (row["n_topics"], row["mean_baseline"]) == (topics, 0.5)
    assert row["mean_run"] == pytest.approx(mean_b, abs=1e-12)
    assert report["topics"].startswith(policy)
    if not flags:
        assert report["topics"].endswith("left out: '2'")
    code, _, err = invoke("compare", qrels, *runs, "-m", "P@2", "--trials", "100", *flags)
    assert code == 0 and policy in err  # the table says it too
    code, _, err = invoke("eval", qrels, runs[1], "-m", "P@2", *flags)
    assert code == 0 and (policy.replace("every compared run has", "the run has") in err)


def readme_measures() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    paragraph = text[text.index("- **`eval`** scores runs") + 20 : text.index("- **`trec-eval`**")]
    return re.findall(r"`([A-Za-z_]+(?:\([^`]*\))?(?:@[\d.]+)?)`", paragraph)


def test_every_measure_the_readme_names_works_or_names_what_to_install(tmp_path: Path) -> None:
    measures = readme_measures()
    assert {"nDCG@10", "alpha_nDCG@10", "ERR@20", "Judged@10", "NumQ"} <= set(measures)
    qrels = write(tmp_path, "qrels.txt", QRELS_3)
    run = write(tmp_path, "a.run", RUN_A)
    for measure in measures:
        code, out, err = invoke("eval", qrels, run, "-m", measure)
        assert code in (0, 2), (measure, err)
        assert "Traceback" not in out + err
        if code == 2:
            assert re.search(r"pip install \S+\[\w+\]", err), (measure, err)
