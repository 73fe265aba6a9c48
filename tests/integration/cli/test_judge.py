"""``ragbench judge``, ``judge-agreement`` and ``judge simulate-holes`` as a user runs them: real
processes, the packaged SmolLM2 in process and served by a real ``transformers serve``, a few
short pairs (two CPU cores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score
from support.cli_runner import ragbench
from support.lm_server import completion, scripted_server
from support.webserver import free_port

from ragbench.formats.judgments import read_sidecar

DOCS = {
    "D1": "Time sharing lets many users share one computer at once through terminals.",
    "D2": "A recipe for apple pie with cinnamon and butter.",
    "D3": "Quicksort sorts an array by partitioning it around a pivot element.",
    "D4": "The history of the Roman empire and its emperors.",
    "D5": "Merge sort is a stable sorting algorithm that divides and merges.",
}
QRELS = "1 0 D1 1\n1 0 D2 0\n2 0 D3 1\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("judge")
    paths = {name: root / name for name in ("corpus.jsonl", "topics.tsv", "qrels.txt", "a.run", "b.run")}
    paths["corpus.jsonl"].write_text(
        "".join(json.dumps({"id": d, "contents": t}) + "\n" for d, t in DOCS.items())
    )
    paths["topics.tsv"].write_text("1\ttime sharing systems\n2\tsorting algorithms\n")
    paths["qrels.txt"].write_text(QRELS)
    paths["a.run"].write_text("1 Q0 D1 1 3.0 a\n1 Q0 D4 2 2.0 a\n2 Q0 D3 1 3.0 a\n2 Q0 D5 2 2.0 a\n")
    paths["b.run"].write_text("1 Q0 D2 1 3.0 b\n1 Q0 D1 2 2.0 b\n2 Q0 D5 1 3.0 b\n2 Q0 D4 2 1.0 b\n")
    paths["cache"] = root / "lm.sqlite"
    return paths


def judge_args(files: dict[str, Path], out: Path, *extra: str) -> list[str | Path]:
    return [
        "judge", files["qrels.txt"], files["a.run"], files["b.run"], "--corpus", files["corpus.jsonl"],
        "--topics", files["topics.tsv"], "--depth", "2", "--doc-words", "12", "--prompt", "basic",
        "--out", out, *extra,
    ]  # fmt: skip


def test_local_and_served_judges_agree_and_every_label_has_provenance(
    files: dict[str, Path], served_smollm2: tuple[str, str], tmp_path: Path
) -> None:
    url, model = served_smollm2
    local = tmp_path / "local.qrels"
    proc = ragbench(*judge_args(files, local, "--max-tokens", "6", "--cache", str(files["cache"])))
    assert proc.returncode == 0, proc.stderr
    served = tmp_path / "served.qrels"
    proc = ragbench(*judge_args(files, served, "--max-tokens", "6", "--backend", "openai", "--base-url", url,
                                "--model", model, "--cache", "off", "--concurrency", "1", "--timeout", "600"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    a, b = read_sidecar(local), read_sidecar(served)
    # the holes of the runs' top 2: D4 (topic 1), D5 and D4 (topic 2); the human labels are kept
    assert {k for k, r in a.records.items() if r.source == "llm"} == {("1", "D4"), ("2", "D5"), ("2", "D4")}
    assert {k: r.relevance for k, r in a.records.items() if r.source == "human"} == {
        ("1", "D1"): 1, ("1", "D2"): 0, ("2", "D3"): 1,
    }  # fmt: skip
    # temperature 0, the same weights and template: the same labels and failures, reply for reply
    assert {k: (r.relevance, r.failure) for k, r in a.records.items()} == {
        k: (r.relevance, r.failure) for k, r in b.records.items()
    }
    for record in a.records.values():
        if record.source == "llm":
            prov = record.provenance or {}
            assert (prov["backend"], prov["prompt"], prov["samples"]) == ("local", "basic", 1)
            assert len(prov["prompt_hash"]) == 64 and prov["fingerprint"].endswith("|float32")
            assert record.relevance is not None or record.failure  # a failure is never a label
    assert (b.records[("1", "D4")].provenance or {})["backend"] == "openai"
    lines = local.read_text().splitlines()
    assert len(lines) == 3 + sum(
        1 for r in a.records.values() if r.source == "llm" and r.relevance is not None
    )
    # a rerun reads everything from the cache
    again = tmp_path / "again.qrels"
    proc = ragbench(*judge_args(files, again, "--max-tokens", "6", "--cache", str(files["cache"])))
    assert proc.returncode == 0 and "LM: 0 calls" in proc.stdout, proc.stdout
    assert again.read_text() == local.read_text()


def test_logprob_judging_labels_the_whole_pool_and_agreement_matches_sklearn(
    files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "all.qrels"
    proc = ragbench(*judge_args(files, out, "--all", "--method", "logprobs", "--cache", str(files["cache"])))
    assert proc.returncode == 0, proc.stderr
    sidecar = read_sidecar(out)
    assert len(sidecar.records) == 6 and all(
        r.source == "llm" and r.relevance in (0, 1, 2, 3) for r in sidecar.records.values()
    )
    assert all(len((r.provenance or {})["logprobs"]) == 4 for r in sidecar.records.values())
    report = tmp_path / "agreement.json"
    proc = ragbench("judge-agreement", files["qrels.txt"], out, files["a.run"], files["b.run"], "-m", "P@2",
                    "--trials", "50", "--json", report)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    found = json.loads(report.read_text())
    human = {("1", "D1"): 1, ("1", "D2"): 0, ("2", "D3"): 1}
    llm = {k: r.relevance for k, r in sidecar.records.items()}
    pairs = sorted(human)
    expected = cohen_kappa_score([human[k] for k in pairs], [min(llm[k], 3) for k in pairs])
    assert found["labels"]["pairs"] == 3
    assert found["labels"]["kappa"] == pytest.approx(expected, nan_ok=True)
    assert found["rankings"][0]["measure"] == "P@2" and found["rankings"][0]["runs"] == 2
    assert "Cohen's kappa" in proc.stdout and "Kendall tau" in proc.stdout


def test_simulate_holes_prints_the_three_rankings(files: dict[str, Path], tmp_path: Path) -> None:
    report = tmp_path / "sim.json"
    proc = ragbench("judge", "simulate-holes", files["qrels.txt"], files["a.run"], files["b.run"],
                    "--corpus", files["corpus.jsonl"], "--topics", files["topics.tsv"], "--fraction", "0.34",
                    "--depth", "2", "--doc-words", "20", "--method", "logprobs", "--prompt", "basic",
                    "--trials", "20", "-m", "P@2", "--cache", str(files["cache"]), "--json", report)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    found = json.loads(report.read_text())
    assert found["removed"] == 1 and found["labels"] == 3  # round(0.34 x 2) of topic 1, round(0.34 x 1) of 2
    assert "holes non-relevant" in proc.stdout and "LLM-filled" in proc.stdout
    assert "P@2 rankings (full / holes non-relevant / LLM-filled)" in proc.stdout


def test_bad_inputs_are_clear_errors_or_counted_failures(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "x.qrels"
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Is this relevant? {query}")
    proc = ragbench(*judge_args(files, out)[:-4], "--prompt", str(prompt), "--out", out)
    assert proc.returncode == 2 and "the prompt must contain the placeholders" in proc.stderr
    assert "{passage} missing" in proc.stderr and "Traceback" not in proc.stderr

    other = tmp_path / "other.run"
    other.write_text("77 Q0 D1 1 1.0 x\n")
    proc = ragbench("judge", files["qrels.txt"], other, "--corpus", files["corpus.jsonl"], "--topics",
                    files["topics.tsv"], "--out", out)  # fmt: skip
    assert proc.returncode == 2 and "have no topic in common" in proc.stderr and "other.run" in proc.stderr

    down = f"http://127.0.0.1:{free_port()}/v1"
    proc = ragbench(*judge_args(files, out, "--backend", "openai", "--base-url", down, "--model", "m",
                                "--cache", "off"))  # fmt: skip
    assert proc.returncode == 2 and f"{down}/chat/completions: cannot connect" in proc.stderr
    assert not out.exists() and not Path(f"{out}.provenance.jsonl").exists()  # nothing half-written

    # an endpoint that answers in prose: retried once, then counted failures, never labels
    with scripted_server(lambda body: (200, completion("It seems somewhat relevant to me."), 0.0)) as (
        url,
        got,
    ):
        proc = ragbench(*judge_args(files, out, "--backend", "openai", "--base-url", url, "--model", "m",
                                    "--cache", "off"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "0 LLM labels (3 pairs judged, 3 failures)" in proc.stdout
    assert proc.stderr.count("failure: topic") == 3 and len(got) == 6  # three pairs, one retry each
    assert out.read_text() == "".join(sorted(QRELS.splitlines(keepends=True)))
    assert all(r.failure for r in read_sidecar(out).failures())
