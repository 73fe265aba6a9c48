"""A stage type from another distribution plugs in through its own entry point, with no change to
ragbench: the test builds a tiny wheel, installs it into a folder of its own, names the stage in
a pipeline config and runs ``ragbench run`` as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli_runner import ragbench

from ragbench.formats.trec import read_run

STAGES = '''
"""A toy retriever: documents ranked by how many distinct query words they contain."""

from ragbench.formats.corpus import iter_corpus
from ragbench.jobs.options import Options
from ragbench.jobs.registry import StageType


class Overlap:
    def __init__(self, corpus, boost):
        self.docs = {d.doc_id: set(d.contents.lower().split()) for d in iter_corpus(corpus)}
        self.boost = boost

    def search(self, queries, k):
        out = {}
        for qid, text in queries.items():
            words = set(text.lower().split())
            hits = [(doc, self.boost * len(words & terms)) for doc, terms in self.docs.items()]
            out[qid] = [h for h in hits if h[1] > 0][:k]  # unsorted on purpose: the pipeline sorts
        return out


def build(spec):
    opts = Options(spec, {"boost"})
    return Overlap(spec.corpus, opts.number("boost", 1.0, low=0.0))


OVERLAP = StageType("retriever", "overlap", build, corpus=True, doc="query-word overlap (a test plug-in)")
'''

PYPROJECT = """
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "ragbench-toy-stage"
version = "0.0.1"

[project.entry-points."ragbench.stages"]
"retriever.overlap" = "ragbench_toy.stages:OVERLAP"

[tool.setuptools]
packages = ["ragbench_toy"]
"""

CORPUS = [
    ("d1", "time sharing systems"),
    ("d2", "sharing of files between systems"),
    ("d3", "compilers for algol"),
    ("d4", "systems programming"),
    ("d5", "operating systems and time sharing"),
]
TOPICS = "1\ttime sharing systems\n2\talgol compilers\n"
QRELS = "1 0 d1 1\n1 0 d5 1\n2 0 d3 1\n"
CONFIG = """name: toy
corpus: corpus.jsonl
topics: topics.tsv
qrels: qrels.txt
measures: [P@2, RR]
retrievers:
  - type: overlap
    boost: 2
"""


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy distribution, built as a wheel and installed into a folder of its own."""
    root = tmp_path_factory.mktemp("toy")
    source = root / "src"
    (source / "ragbench_toy").mkdir(parents=True)
    (source / "ragbench_toy" / "__init__.py").write_text("")
    (source / "ragbench_toy" / "stages.py").write_text(STAGES)
    (source / "pyproject.toml").write_text(PYPROJECT)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(root / "dist"), str(source)],
        check=True,
    )
    site = root / "site"
    wheel = next((root / "dist").glob("*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    assert list(site.glob("ragbench_toy_stage-*.dist-info"))
    return site


def _workdir(tmp_path: Path) -> Path:
    corpus = "".join(f'{{"id": "{doc}", "contents": "{text}"}}\n' for doc, text in CORPUS)
    (tmp_path / "corpus.jsonl").write_text(corpus)
    (tmp_path / "topics.tsv").write_text(TOPICS)
    (tmp_path / "qrels.txt").write_text(QRELS)
    (tmp_path / "toy.yaml").write_text(CONFIG)
    return tmp_path / "toy.yaml"


def test_a_stage_from_another_distribution_runs_in_a_pipeline(tmp_path: Path, plugin_site: Path) -> None:
    config = _workdir(tmp_path)
    env = {"PYTHONPATH": os.pathsep.join([str(plugin_site), os.environ.get("PYTHONPATH", "")])}
    done = ragbench("run", config, "--no-store", "--no-ray", env=env)
    assert done.returncode == 0, done.stderr

    run = read_run(tmp_path / "runs" / "toy.run")
    got: dict[str, list[tuple[str, float]]] = {}
    for i in range(len(run)):
        got.setdefault(run.strings[run.query[i]], []).append((run.strings[run.doc[i]], float(run.score[i])))
    # By hand: boost 2 x the distinct query words each document holds; the tie d1 = d5 (3 words
    # each) goes to the larger id, trec_eval's rule; documents with no query word are left out.
    assert got == {"1": [("d5", 6.0), ("d1", 6.0), ("d2", 4.0), ("d4", 2.0)], "2": [("d3", 4.0)]}
    # The scores printed are the run file's: P@2 is 1 on topic 1 (d5, d1) and 1/2 on topic 2 (d3
    # alone): mean 0.75; RR is 1 on both.
    assert "0.7500" in done.stdout and "1.0000" in done.stdout


def test_without_the_distribution_the_type_is_unknown(tmp_path: Path) -> None:
    done = ragbench("run", _workdir(tmp_path), "--no-store", "--no-ray")
    assert done.returncode == 2
    assert "unknown retriever type 'overlap'" in done.stderr
    assert "Traceback" not in done.stderr
